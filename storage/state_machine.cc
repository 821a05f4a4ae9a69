#include "storage/state_machine.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "storage/apply_view.h"
#include "storage/command.h"
#include "storage/keys.h"
#include "storage/mvcc.h"
#include "storage/ops.h"
#include "storage/rocks_status.h"
#include "storage/sm_meta.h"
#include "storage/snapshot.h"
#include "storage/slice.h"

namespace rkv::storage {

using rkv::internal::Command;

StateMachine::StateMachine(Engine* engine, uint64_t partition_id,
                           const StateMachineLimits& limits)
    : engine_(engine), partition_id_(partition_id), limits_(limits) {}

StateMachine::~StateMachine() = default;

absl::StatusOr<std::unique_ptr<StateMachine>> StateMachine::Open(
    Engine* engine, uint64_t partition_id, const StateMachineLimits& limits) {
  if (absl::Status valid = limits.Validate(); !valid.ok()) return valid;
  std::unique_ptr<StateMachine> machine(new StateMachine(engine, partition_id, limits));
  if (absl::Status s = machine->Load(); !s.ok()) return s;
  return machine;
}

absl::Status StateMachine::Load() {
  absl::StatusOr<std::shared_ptr<const PartitionCf>> cf = engine_->ActiveCf(partition_id_);
  if (!cf.ok()) return cf.status();
  absl::StatusOr<StateMachineMeta> meta =
      LoadStateMachineMeta(engine_->db(), (*cf)->handle, nullptr, partition_id_);
  if (!meta.ok()) return meta.status();
  absl::MutexLock lock(&mu_);
  cf_ = *std::move(cf);
  conf_state_ = std::move(meta->conf_state);
  applied_index_.store(meta->applied_index);
  applied_term_.store(meta->applied_term);
  return absl::OkStatus();
}

std::shared_ptr<const PartitionCf> StateMachine::cf() const {
  absl::MutexLock lock(&mu_);
  return cf_;
}

raft::ConfState StateMachine::conf_state() const {
  absl::MutexLock lock(&mu_);
  return conf_state_;
}

uint64_t StateMachine::generation() const { return cf()->generation; }

absl::StatusOr<uint64_t> StateMachine::DurableAppliedIndex() const {
  // Counted before the read: a flush finishing during it is read next time.
  const uint64_t flushes = engine_->flush_count();
  std::shared_ptr<const PartitionCf> active;
  {
    absl::MutexLock lock(&mu_);
    if (durable_.has_value() && durable_->flush_count == flushes &&
        durable_->generation == cf_->generation) {
      return durable_->applied_index;
    }
    active = cf_;
  }
  absl::StatusOr<StateMachineMeta> meta =
      LoadDurableStateMachineMeta(engine_->db(), active->handle, partition_id_);
  if (!meta.ok()) return meta.status();
  absl::MutexLock lock(&mu_);
  durable_ = DurableRead{.flush_count = flushes,
                         .generation = active->generation,
                         .applied_index = meta->applied_index};
  return meta->applied_index;
}

absl::Status StateMachine::Flush(bool wait) { return engine_->Flush(*cf(), wait); }

absl::Status StateMachine::ValidateBatch(absl::Span<const raft::Entry> entries,
                                         absl::Span<const ConfStateAt> conf_states,
                                         uint64_t applied) const {
  if (entries.size() > limits_.max_apply_entries) {
    return absl::ResourceExhaustedError(absl::StrCat("partition ", partition_id_, ": applying ",
                                                     entries.size(), " entries at once; the limit is ",
                                                     limits_.max_apply_entries));
  }
  if (entries.front().index() != applied + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", partition_id_, ": entry ", entries.front().index(),
        " cannot be applied after applied index ", applied, "; entries must be consecutive"));
  }
  uint64_t bytes = 0;
  uint64_t previous_term = applied_term_.load();
  size_t conf_changes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const raft::Entry& entry = entries[i];
    if (entry.index() != applied + 1 + i) {
      return absl::InvalidArgumentError(absl::StrCat("partition ", partition_id_, ": entry ",
                                                     entry.index(), " follows entry ",
                                                     applied + i, "; entries must be consecutive"));
    }
    if (entry.term() < previous_term) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition ", partition_id_, ": entry ", entry.index(), " has term ", entry.term(),
          ", below the term ", previous_term, " before it"));
    }
    previous_term = entry.term();
    bytes += entry.data().size();
    if (entry.type() != rkv::internal::ENTRY_CONF_CHANGE) continue;
    if (conf_changes >= conf_states.size() || conf_states[conf_changes].index != entry.index()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition ", partition_id_, ": conf-change entry ", entry.index(),
          " has no matching ConfState (", conf_states.size(), " given)"));
    }
    ++conf_changes;
  }
  if (conf_changes != conf_states.size()) {
    return absl::InvalidArgumentError(absl::StrCat("partition ", partition_id_, ": ",
                                                   conf_states.size(), " ConfStates given for ",
                                                   conf_changes, " conf-change entries"));
  }
  if (bytes > limits_.max_apply_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("partition ", partition_id_, ": applying ",
                                                     bytes, " bytes at once; the limit is ",
                                                     limits_.max_apply_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EntryResult>> StateMachine::Apply(
    absl::Span<const raft::Entry> entries, absl::Span<const ConfStateAt> conf_states) {
  const uint64_t applied = applied_index_.load();
  // Entries already in the state (e.g. covered by an activated snapshot).
  while (!entries.empty() && entries.front().index() <= applied) entries.remove_prefix(1);
  while (!conf_states.empty() && conf_states.front().index <= applied) {
    conf_states.remove_prefix(1);
  }
  std::vector<EntryResult> results;
  if (entries.empty()) return results;
  if (absl::Status valid = ValidateBatch(entries, conf_states, applied); !valid.ok()) return valid;

  std::shared_ptr<const PartitionCf> cf = this->cf();
  ApplyView view(engine_->db(), cf->handle, partition_id_, engine_->row_cache(), cf->generation);
  results.reserve(entries.size());
  const raft::ConfState* new_conf_state = nullptr;
  size_t next_conf_state = 0;
  uint64_t bytes = 0;
  for (const raft::Entry& entry : entries) {
    EntryResult& result = results.emplace_back();
    result.index = entry.index();
    result.term = entry.term();
    result.result.set_revision(entry.index());
    bytes += entry.data().size();
    if (entry.type() == rkv::internal::ENTRY_CONF_CHANGE) {
      new_conf_state = &conf_states[next_conf_state++].conf_state;
      continue;
    }
    if (entry.type() != rkv::internal::ENTRY_NORMAL) {
      result.status = absl::InvalidArgumentError(
          absl::StrCat("partition ", partition_id_, " entry ", entry.index(),
                       ": unknown entry type ", static_cast<int>(entry.type())));
      continue;
    }
    // An empty normal entry is the no-op a new leader appends (Raft paper §8).
    if (entry.data().empty()) continue;
    if (absl::Status s = ApplyCommand(view, entry, &result); !s.ok()) return s;
  }
  if (absl::Status s = Commit(view, *cf, entries.back(), new_conf_state, bytes); !s.ok()) {
    return s;
  }
  return results;
}

absl::Status StateMachine::Commit(const ApplyView& view, const PartitionCf& cf,
                                  const raft::Entry& last, const raft::ConfState* new_conf_state,
                                  uint64_t data_bytes) {
  // Room for every record up front: the batch never reallocates.
  rocksdb::WriteBatch batch(data_bytes + 64 * view.pending_count() + 1024);
  view.WriteTo(&batch);
  RKV_CHECK_OK(FromRocks(batch.Put(cf.handle, ToSlice(keys::kAppliedKey),
                                   EncodeAppliedRecord(last.index(), last.term())),
                         "batching"));
  if (new_conf_state != nullptr) {
    RKV_CHECK_OK(FromRocks(
        batch.Put(cf.handle, ToSlice(keys::kConfStateKey), EncodeConfStateRecord(*new_conf_state)),
        "batching"));
  }
  if (absl::Status s = engine_->WriteUnlogged(&batch, "applying entries"); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("partition ", partition_id_, " up to entry ",
                                               last.index(), ": ", s.message()));
  }
  // Before the applied index moves and before any proposer hears of it, so
  // no read after the write finds a row from before it.
  view.ForEachWrittenKey([&](absl::string_view user_key) {
    engine_->row_cache().Invalidate(partition_id_, cf.generation, user_key);
  });
  if (new_conf_state != nullptr) {
    absl::MutexLock lock(&mu_);
    conf_state_ = *new_conf_state;
  }
  applied_term_.store(last.term());
  applied_index_.store(last.index());
  return absl::OkStatus();
}

absl::Status StateMachine::ApplyCommand(ApplyView& view, const raft::Entry& entry,
                                        EntryResult* result) {
  auto reject = [&](const absl::Status& why) {
    result->status = absl::Status(why.code(), absl::StrCat("partition ", partition_id_, " entry ",
                                                           entry.index(), ": ", why.message()));
    result->result.clear_result();
  };
  Command command;
  if (!command.ParseFromString(entry.data())) {
    reject(absl::InvalidArgumentError("the command is malformed: it does not parse"));
    return absl::OkStatus();
  }
  if (absl::Status valid = ValidateCommand(command, limits_); !valid.ok()) {
    reject(valid);
    return absl::OkStatus();
  }
  OpContext context{.view = view,
                    .limits = limits_,
                    .partition_id = partition_id_,
                    .revision = entry.index(),
                    .now_unix_ms = command.now_unix_ms()};
  // Only a Txn or a DeleteRange can be rejected after it changed something
  // (a scan over its bound); the others need no undo log.
  const bool undoable = command.has_txn() || command.has_delete_range();
  if (undoable) view.BeginCommand();
  absl::Status s = ExecuteCommand(context, command, &result->result);
  if (undoable) {
    if (IsRejection(s)) {
      view.RollbackCommand();
      reject(s);
      s = absl::OkStatus();
    }
    view.EndCommand();
  }
  RKV_CHECK(!IsRejection(s));
  return s;
}

absl::StatusOr<bool> StateMachine::MaybeActivateSnapshot() {
  absl::StatusOr<bool> activated =
      engine_->MaybeActivatePending(partition_id_, applied_index_.load());
  if (!activated.ok() || !*activated) return activated;
  if (absl::Status s = Load(); !s.ok()) return s;
  return true;
}

absl::StatusOr<std::optional<rkv::internal::KeyValue>> StateMachine::Get(
    absl::string_view key, uint64_t now_unix_ms) const {
  std::shared_ptr<const PartitionCf> cf = this->cf();
  absl::StatusOr<std::optional<rkv::internal::KeyValue>> answer;
  // Decodes the stored record where it lies (the cache's row or RocksDB's
  // pinned value), without copying it first.
  auto decode = [&](std::optional<absl::string_view> stored) {
    if (!stored.has_value()) {
      answer = std::nullopt;
      return;
    }
    absl::StatusOr<KeyRecord> record = DecodeKeyRecord(*stored, partition_id_, key);
    if (!record.ok()) {
      answer = record.status();
    } else if (!record->LiveAt(now_unix_ms)) {
      answer = std::nullopt;
    } else {
      rkv::internal::KeyValue kv;
      ToKeyValue(key, *record, /*keys_only=*/false, &kv);
      answer = std::move(kv);
    }
  };
  if (absl::Status s = engine_->row_cache().Read(engine_->db(), cf->handle, partition_id_, cf->generation,
                                                 key, decode);
      !s.ok()) {
    return s;
  }
  return answer;
}

absl::StatusOr<rkv::internal::RangeResult> StateMachine::Range(
    const rkv::internal::RangeOp& range, uint64_t now_unix_ms) const {
  rkv::internal::TxnOp op;
  *op.mutable_range() = range;
  Command command;
  *command.mutable_txn()->add_success() = op;
  if (absl::Status valid = ValidateCommand(command, limits_); !valid.ok()) {
    return absl::Status(valid.code(),
                        absl::StrCat("partition ", partition_id_, ": ", valid.message()));
  }
  std::shared_ptr<const PartitionCf> cf = this->cf();
  // A read-only view: nothing is ever written from it.
  ApplyView view(engine_->db(), cf->handle, partition_id_, engine_->row_cache(), cf->generation);
  OpContext context{.view = view,
                    .limits = limits_,
                    .partition_id = partition_id_,
                    .revision = applied_index_.load(),
                    .now_unix_ms = now_unix_ms};
  rkv::internal::RangeResult result;
  if (absl::Status s = ExecuteRange(context, range, &result); !s.ok()) return s;
  return result;
}

absl::StatusOr<std::unique_ptr<SnapshotReader>> StateMachine::OpenSnapshot(
    const SnapshotLimits& limits) const {
  return SnapshotReader::Open(engine_, cf(), limits);
}

}  // namespace rkv::storage
