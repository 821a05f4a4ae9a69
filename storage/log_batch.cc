#include "storage/log_batch.h"

#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "storage/checked_record.h"
#include "storage/keys.h"
#include "storage/log_codec.h"
#include "storage/rocks_status.h"
#include "storage/snapshot.h"
#include "storage/slice.h"

namespace rkv::storage {
namespace {

// Key plus checksum plus RocksDB's per-record overhead, roughly.
constexpr uint64_t kRecordOverheadBytes = keys::kLogEntryKeyBytes + kChecksumBytes + 8;

// The shape of appended entries on their own: consecutive indexes, positive
// and non-decreasing terms, known types, data within the limit.
absl::Status ValidateEntries(uint64_t partition_id, absl::Span<const raft::Entry> entries,
                             const LogLimits& limits, uint64_t* record_bytes) {
  const uint64_t first = entries.front().index();
  *record_bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const raft::Entry& entry = entries[i];
    if (entry.index() != first + i) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition ", partition_id, ": appended entries are not consecutive: index ",
          entry.index(), " follows ", first + i - 1));
    }
    if (entry.term() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition ", partition_id, ": entry ", entry.index(), " has term 0"));
    }
    if (i > 0 && entry.term() < entries[i - 1].term()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition ", partition_id, ": entry ", entry.index(), " has term ", entry.term(),
          ", below the term ", entries[i - 1].term(), " of the entry before it"));
    }
    if (!rkv::internal::EntryType_IsValid(entry.type())) {
      return absl::InvalidArgumentError(absl::StrCat("partition ", partition_id, ": entry ",
                                                     entry.index(), " has unknown type ",
                                                     static_cast<int>(entry.type())));
    }
    if (entry.data().size() > limits.max_entry_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition ", partition_id, ": entry ", entry.index(), " carries ", entry.data().size(),
          " bytes; the limit is ", limits.max_entry_bytes));
    }
    *record_bytes += entry.ByteSizeLong() + kRecordOverheadBytes;
  }
  return absl::OkStatus();
}

}  // namespace

LogBatch::LogBatch(Engine* engine, const LogLimits& limits)
    : engine_(engine), limits_(limits), batch_(std::make_unique<rocksdb::WriteBatch>()) {
  RKV_CHECK_OK(limits.Validate());
}

LogBatch::~LogBatch() = default;

LogBatch::Touched& LogBatch::Touch(RaftLogStore* store) {
  RKV_CHECK(store != nullptr);
  auto found = by_store_.find(store);
  if (found != by_store_.end()) return *found->second;
  touched_.push_back(std::make_unique<Touched>(
      Touched{.store = store,
              .store_version = store->version_,
              .state = store->state_,
              .staged = nullptr}));
  by_store_[store] = touched_.back().get();
  return *touched_.back();
}

absl::Status LogBatch::ValidateAppend(const Touched& touched,
                                      absl::Span<const raft::Entry> entries,
                                      uint64_t* record_bytes) const {
  const uint64_t partition_id = touched.store->partition_id();
  const LogState& state = touched.state;
  const uint64_t first = entries.front().index();
  if (absl::Status s = ValidateEntries(partition_id, entries, limits_, record_bytes); !s.ok()) {
    return s;
  }
  if (first < state.first_index()) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition ", partition_id, ": cannot append at index ", first,
                     ", below the first index ", state.first_index(), " (compacted)"));
  }
  if (first > state.last_index + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition ", partition_id, ": appending at index ", first,
                     " would leave a gap after the last index ", state.last_index));
  }
  // Terms never go down along a log.
  absl::StatusOr<uint64_t> previous_term = touched.store->TermIn(state, first - 1);
  if (!previous_term.ok()) return previous_term.status();
  if (entries.front().term() < *previous_term) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition ", partition_id, ": entry ", first, " has term ", entries.front().term(),
        ", below the term ", *previous_term, " of entry ", first - 1));
  }
  // A committed entry may be written again, never replaced (Raft paper §5.4).
  for (const raft::Entry& entry : entries) {
    if (entry.index() > state.hard_state.commit() || entry.index() > state.last_index) break;
    absl::StatusOr<uint64_t> stored_term = touched.store->TermIn(state, entry.index());
    if (!stored_term.ok()) return stored_term.status();
    if (*stored_term != entry.term()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "partition ", partition_id, ": entry ", entry.index(), " of term ", entry.term(),
          " would replace the committed entry of term ", *stored_term, " (commit index ",
          state.hard_state.commit(), ")"));
    }
  }
  if (bytes_ + *record_bytes > limits_.max_batch_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "partition ", partition_id, ": appending ", entries.size(), " entries (", *record_bytes,
        " bytes) would bring the log batch to ", bytes_ + *record_bytes, " bytes; the limit is ",
        limits_.max_batch_bytes));
  }
  return absl::OkStatus();
}

absl::Status LogBatch::Append(RaftLogStore* store, absl::Span<const raft::Entry> entries) {
  if (entries.empty()) return absl::OkStatus();
  Touched& touched = Touch(store);
  uint64_t record_bytes = 0;
  if (absl::Status valid = ValidateAppend(touched, entries, &record_bytes); !valid.ok()) {
    return valid;
  }
  const uint64_t partition_id = store->partition_id();
  LogState& state = touched.state;
  const uint64_t first = entries.front().index();
  const uint64_t last = entries.back().index();
  rocksdb::ColumnFamilyHandle* cf = engine_->raft_cf();
  if (last < state.last_index) {
    // The stored tail past the new entries conflicts with them: remove it.
    const std::string begin = keys::LogRangeStart(partition_id, last + 1);
    auto end = keys::LogEntryKey(partition_id, state.last_index + 1);
    RKV_CHECK_OK(FromRocks(batch_->DeleteRange(cf, begin, ToSlice(end.view())), "batching"));
  }
  state.terms.TruncateFrom(first);
  for (const raft::Entry& entry : entries) {
    auto key = keys::LogEntryKey(partition_id, entry.index());
    RKV_CHECK_OK(
        FromRocks(batch_->Put(cf, ToSlice(key.view()), EncodeEntryRecord(partition_id, entry)), "batching"));
    state.terms.Append(entry.index(), entry.term());
  }
  state.last_index = last;
  bytes_ += record_bytes;
  return absl::OkStatus();
}

absl::Status LogBatch::SetHardState(RaftLogStore* store, const raft::HardState& hard_state) {
  Touched& touched = Touch(store);
  const uint64_t partition_id = store->partition_id();
  const raft::HardState& old = touched.state.hard_state;
  // Terms only grow, and a node votes at most once per term (Raft paper §5.2).
  if (hard_state.term() < old.term()) {
    return absl::FailedPreconditionError(absl::StrCat("partition ", partition_id,
                                                      ": hard state term would go down from ",
                                                      old.term(), " to ", hard_state.term()));
  }
  if (hard_state.term() == old.term() && old.vote() != raft::kNoNode &&
      hard_state.vote() != old.vote()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", partition_id, ": the vote in term ", old.term(), " would change from ",
        old.vote(), " to ", hard_state.vote()));
  }
  if (hard_state.commit() < old.commit()) {
    return absl::FailedPreconditionError(absl::StrCat("partition ", partition_id,
                                                      ": commit index would go down from ",
                                                      old.commit(), " to ", hard_state.commit()));
  }
  uint64_t record_bytes = hard_state.ByteSizeLong() + kRecordOverheadBytes;
  if (bytes_ + record_bytes > limits_.max_batch_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "partition ", partition_id, ": the hard state would bring the log batch to ",
        bytes_ + record_bytes, " bytes; the limit is ", limits_.max_batch_bytes));
  }
  auto key = keys::HardStateKey(partition_id);
  RKV_CHECK_OK(FromRocks(batch_->Put(engine_->raft_cf(), ToSlice(key.view()),
                                     EncodeHardStateRecord(partition_id, hard_state)),
                         "batching"));
  touched.state.hard_state = hard_state;
  bytes_ += record_bytes;
  return absl::OkStatus();
}

absl::Status LogBatch::InstallSnapshot(RaftLogStore* store, const raft::SnapshotMetadata& metadata,
                                       std::unique_ptr<StagedSnapshot> staged) {
  const uint64_t partition_id = store->partition_id();
  if (staged == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition ", partition_id, ": installing snapshot ", metadata.index(),
        " needs the received state machine (a StagedSnapshot)"));
  }
  if (staged->partition_id() != partition_id) {
    return absl::InvalidArgumentError(absl::StrCat("partition ", partition_id,
                                                   ": the staged snapshot belongs to partition ",
                                                   staged->partition_id()));
  }
  if (staged->metadata().index() != metadata.index() ||
      staged->metadata().term() != metadata.term()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition ", partition_id, ": the snapshot to install is at index ", metadata.index(),
        " term ", metadata.term(), " but the staged state machine is at index ",
        staged->metadata().index(), " term ", staged->metadata().term()));
  }
  Touched& touched = Touch(store);
  if (touched.staged != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", partition_id, ": a snapshot is already installed in this log batch"));
  }
  if (metadata.index() <= touched.state.snapshot.index()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", partition_id, ": snapshot ", metadata.index(),
        " is not newer than the log's snapshot ", touched.state.snapshot.index()));
  }
  rocksdb::ColumnFamilyHandle* cf = engine_->raft_cf();
  // Every entry goes: the log restarts after the snapshot (Raft paper §7).
  const std::string begin = keys::LogRangeStart(partition_id, 0);
  auto end = keys::HardStateKey(partition_id);
  auto snapshot_key = keys::SnapshotMetadataKey(partition_id);
  RKV_CHECK_OK(FromRocks(batch_->DeleteRange(cf, begin, ToSlice(end.view())), "batching"));
  RKV_CHECK_OK(FromRocks(batch_->Put(cf, ToSlice(snapshot_key.view()),
                                     EncodeSnapshotMetadataRecord(partition_id, metadata)),
                         "batching"));
  touched.state.snapshot = metadata;
  touched.state.last_index = metadata.index();
  touched.state.terms.Clear();
  touched.staged = std::move(staged);
  bytes_ += metadata.ByteSizeLong() + kRecordOverheadBytes;
  return absl::OkStatus();
}

absl::Status LogBatch::Commit() {
  if (touched_.empty()) return absl::OkStatus();
  absl::Status status;
  std::vector<PendingSwitch> switches;
  for (const auto& touched : touched_) {
    const uint64_t partition_id = touched->store->partition_id();
    const LogState& state = touched->state;
    if (touched->store->version_ != touched->store_version) {
      status = absl::FailedPreconditionError(absl::StrCat(
          "partition ", partition_id, ": its log changed after this batch staged changes on it"));
      break;
    }
    if (state.hard_state.commit() > state.last_index) {
      status = absl::FailedPreconditionError(absl::StrCat(
          "partition ", partition_id, ": the hard state would commit index ",
          state.hard_state.commit(), " past the last index ", state.last_index));
      break;
    }
    if (std::optional<uint64_t> last_term = state.terms.Lookup(state.last_index);
        last_term && *last_term > state.hard_state.term()) {
      status = absl::FailedPreconditionError(absl::StrCat(
          "partition ", partition_id, ": the last entry's term ", *last_term,
          " would be above the hard state's term ", state.hard_state.term()));
      break;
    }
    if (touched->staged != nullptr) switches.push_back(touched->staged->ToPendingSwitch());
  }
  if (status.ok()) status = engine_->WriteWithSwitches(batch_.get(), switches);
  if (status.ok()) {
    for (const auto& touched : touched_) {
      if (touched->staged != nullptr) touched->staged->MarkCommitted();
      touched->store->CommitState(std::move(touched->state));
    }
  }
  Clear();
  return status;
}

void LogBatch::Clear() {
  batch_->Clear();
  touched_.clear();
  by_store_.clear();
  bytes_ = 0;
}

}  // namespace rkv::storage
