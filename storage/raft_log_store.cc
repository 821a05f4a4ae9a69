#include "storage/raft_log_store.h"

#include <limits>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "storage/keys.h"
#include "storage/log_codec.h"
#include "storage/rocks_status.h"
#include "storage/sm_meta.h"
#include "storage/slice.h"

namespace rkv::storage {

RaftLogStore::RaftLogStore(Engine* engine, uint64_t partition_id, const LogLimits& limits)
    : engine_(engine), partition_id_(partition_id), limits_(limits),
      state_(limits.term_cache_runs) {}

absl::StatusOr<std::unique_ptr<RaftLogStore>> RaftLogStore::Open(Engine* engine,
                                                                 uint64_t partition_id,
                                                                 const LogLimits& limits) {
  if (absl::Status valid = limits.Validate(); !valid.ok()) return valid;
  if (!engine->HasPartition(partition_id)) {
    return absl::NotFoundError(absl::StrCat("partition ", partition_id, " does not exist"));
  }
  std::unique_ptr<RaftLogStore> store(new RaftLogStore(engine, partition_id, limits));
  if (absl::Status s = store->Load(); !s.ok()) return s;
  return store;
}

absl::Status RaftLogStore::Load() {
  rocksdb::DB* db = engine_->db();
  rocksdb::PinnableSlice value;
  auto hard_state_key = keys::HardStateKey(partition_id_);
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), engine_->raft_cf(), ToSlice(hard_state_key.view()), &value);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s, absl::StrCat("reading the hard state of partition ", partition_id_));
  }
  if (s.ok()) {
    absl::StatusOr<raft::HardState> hard_state =
        DecodeHardStateRecord(partition_id_, ToView(value));
    if (!hard_state.ok()) return hard_state.status();
    state_.hard_state = *std::move(hard_state);
  }

  value.Reset();
  auto snapshot_key = keys::SnapshotMetadataKey(partition_id_);
  s = db->Get(rocksdb::ReadOptions(), engine_->raft_cf(), ToSlice(snapshot_key.view()), &value);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s,
                     absl::StrCat("reading the snapshot metadata of partition ", partition_id_));
  }
  if (s.ok()) {
    absl::StatusOr<raft::SnapshotMetadata> snapshot =
        DecodeSnapshotMetadataRecord(partition_id_, ToView(value));
    if (!snapshot.ok()) return snapshot.status();
    state_.snapshot = *std::move(snapshot);
  }

  // The first and last stored entries; everything in between is checked as
  // it is read.
  auto begin = keys::LogEntryKey(partition_id_, 0);
  auto end = keys::HardStateKey(partition_id_);
  rocksdb::Slice upper = ToSlice(end.view());
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, engine_->raft_cf()));
  it->Seek(ToSlice(begin.view()));
  state_.last_index = state_.snapshot.index();
  if (it->Valid()) {
    std::optional<uint64_t> first = keys::ParseLogEntryKey(ToView(it->key()), partition_id_);
    RKV_CHECK(first.has_value());
    if (*first != state_.first_index()) {
      return absl::DataLossError(absl::StrCat(
          "partition ", partition_id_, " log is corrupt: its first entry is ", *first,
          " but its snapshot index is ", state_.snapshot.index(), " (expected entry ",
          state_.first_index(), ")"));
    }
    it->SeekToLast();
    RKV_CHECK(it->Valid());
    std::optional<uint64_t> last = keys::ParseLogEntryKey(ToView(it->key()), partition_id_);
    RKV_CHECK(last.has_value());
    absl::StatusOr<raft::Entry> entry =
        DecodeEntryRecord(partition_id_, *last, ToView(it->value()));
    if (!entry.ok()) return entry.status();
    state_.last_index = *last;
    state_.terms.Append(*last, entry->term());
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), absl::StrCat("scanning the log of partition ", partition_id_));
  }
  if (state_.hard_state.commit() > state_.last_index) {
    return absl::DataLossError(absl::StrCat("partition ", partition_id_,
                                            " log is corrupt: the hard state commits index ",
                                            state_.hard_state.commit(), " but the last index is ",
                                            state_.last_index));
  }
  return absl::OkStatus();
}

absl::StatusOr<raft::InitialState> RaftLogStore::LoadInitialState() const {
  absl::StatusOr<std::shared_ptr<const PartitionCf>> cf = engine_->NewestCf(partition_id_);
  if (!cf.ok()) return cf.status();
  absl::StatusOr<StateMachineMeta> meta =
      LoadStateMachineMeta(engine_->db(), (*cf)->handle, nullptr, partition_id_);
  if (!meta.ok()) return meta.status();
  return raft::InitialState{.hard_state = state_.hard_state,
                            .conf_state = std::move(meta->conf_state)};
}

absl::StatusOr<std::vector<raft::Entry>> RaftLogStore::Entries(uint64_t lo, uint64_t hi,
                                                               uint64_t max_bytes) const {
  if (lo > hi) {
    return absl::InvalidArgumentError(absl::StrCat("partition ", partition_id_,
                                                   ": entries asked in [", lo, ", ", hi,
                                                   "), an empty range the wrong way round"));
  }
  if (lo < FirstIndex()) return raft::CompactedError(lo, FirstIndex());
  if (hi > LastIndex() + 1) return raft::UnavailableIndexError(hi - 1, LastIndex());
  std::vector<raft::Entry> entries;
  if (lo == hi) return entries;

  auto begin = keys::LogEntryKey(partition_id_, lo);
  auto end = keys::LogEntryKey(partition_id_, hi);
  rocksdb::Slice upper = ToSlice(end.view());
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(engine_->db()->NewIterator(read, engine_->raft_cf()));
  uint64_t bytes = 0;
  uint64_t expected = lo;
  for (it->Seek(ToSlice(begin.view())); it->Valid() && expected < hi; it->Next(), ++expected) {
    std::optional<uint64_t> index = keys::ParseLogEntryKey(ToView(it->key()), partition_id_);
    RKV_CHECK(index.has_value());
    if (*index != expected) break;
    absl::StatusOr<raft::Entry> entry =
        DecodeEntryRecord(partition_id_, expected, ToView(it->value()));
    if (!entry.ok()) return entry.status();
    uint64_t size = entry->ByteSizeLong();
    if (!entries.empty() && bytes + size > max_bytes) return entries;
    bytes += size;
    entries.push_back(*std::move(entry));
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), absl::StrCat("reading log entries [", lo, ", ", hi,
                                                ") of partition ", partition_id_));
  }
  if (expected < hi) {
    return absl::DataLossError(absl::StrCat("partition ", partition_id_, " log entry ", expected,
                                            " is missing (the log spans [", FirstIndex(), ", ",
                                            LastIndex(), "])"));
  }
  return entries;
}

absl::StatusOr<raft::Entry> RaftLogStore::ReadEntry(uint64_t index) const {
  auto key = keys::LogEntryKey(partition_id_, index);
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      engine_->db()->Get(rocksdb::ReadOptions(), engine_->raft_cf(), ToSlice(key.view()), &value);
  if (s.IsNotFound()) {
    return absl::DataLossError(absl::StrCat("partition ", partition_id_, " log entry ", index,
                                            " is missing (the log spans [", FirstIndex(), ", ",
                                            LastIndex(), "])"));
  }
  if (!s.ok()) {
    return FromRocks(s, absl::StrCat("reading partition ", partition_id_, " log entry ", index));
  }
  return DecodeEntryRecord(partition_id_, index, ToView(value));
}

absl::StatusOr<uint64_t> RaftLogStore::TermIn(const LogState& state, uint64_t index) const {
  RKV_CHECK_GE(index, state.snapshot.index());
  RKV_CHECK_LE(index, state.last_index);
  if (index == state.snapshot.index()) return state.snapshot.term();
  if (std::optional<uint64_t> term = state.terms.Lookup(index)) return *term;
  ++term_reads_;
  absl::StatusOr<raft::Entry> entry = ReadEntry(index);
  if (!entry.ok()) return entry.status();
  return entry->term();
}

absl::StatusOr<uint64_t> RaftLogStore::Term(uint64_t index) const {
  if (index < state_.snapshot.index()) return raft::CompactedError(index, FirstIndex());
  if (index > LastIndex()) return raft::UnavailableIndexError(index, LastIndex());
  return TermIn(state_, index);
}

absl::StatusOr<raft::Snapshot> RaftLogStore::GetSnapshot() const {
  raft::Snapshot snapshot;
  *snapshot.mutable_metadata() = state_.snapshot;
  return snapshot;
}

absl::Status RaftLogStore::Compact(uint64_t index, const raft::ConfState& conf_state) {
  if (index == FirstIndex()) return absl::OkStatus();
  if (index < FirstIndex()) return raft::CompactedError(index, FirstIndex());
  if (index > LastIndex() + 1) return raft::UnavailableIndexError(index - 1, LastIndex());
  if (index - 1 > state_.hard_state.commit()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", partition_id_, ": cannot compact the log below index ", index,
        " because only entries up to ", state_.hard_state.commit(), " are committed"));
  }
  absl::StatusOr<uint64_t> term = TermIn(state_, index - 1);
  if (!term.ok()) return term.status();

  raft::SnapshotMetadata snapshot;
  snapshot.set_index(index - 1);
  snapshot.set_term(*term);
  *snapshot.mutable_conf_state() = conf_state;

  rocksdb::WriteBatch batch;
  const std::string begin = keys::LogRangeStart(partition_id_, FirstIndex());
  auto end = keys::LogEntryKey(partition_id_, index);
  auto snapshot_key = keys::SnapshotMetadataKey(partition_id_);
  RKV_CHECK_OK(
      FromRocks(batch.DeleteRange(engine_->raft_cf(), begin, ToSlice(end.view())), "batching"));
  RKV_CHECK_OK(FromRocks(batch.Put(engine_->raft_cf(), ToSlice(snapshot_key.view()),
                                   EncodeSnapshotMetadataRecord(partition_id_, snapshot)),
                         "batching"));
  if (absl::Status s = engine_->Write(
          &batch, /*sync=*/false,
          absl::StrCat("compacting partition ", partition_id_, " log below index ", index));
      !s.ok()) {
    return s;
  }
  state_.snapshot = std::move(snapshot);
  state_.terms.DropBelow(index);
  ++version_;
  return absl::OkStatus();
}

void RaftLogStore::CommitState(LogState state) {
  state_ = std::move(state);
  ++version_;
}

}  // namespace rkv::storage
