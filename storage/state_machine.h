// StateMachine: one partition's key-value state, in its own column family.
// Applies committed raft entries (commands of proto/rkv/internal/command.proto,
// no-ops, membership changes) and serves reads and snapshots of the result.
//
// Crash safety: one Apply call writes the mutations of all its entries, the
// applied index and term, and (after a membership change) the new ConfState in
// ONE WriteBatch. After a crash the column family holds exactly the entries up
// to the stored applied index: none is lost half-way, none applies twice. The
// write has no WAL record (Engine::WriteUnlogged): it is durable once RocksDB
// flushes the memtable, and a crash before that takes the state back to an
// earlier applied index, whole. The raft log replays what is missing, so it
// must keep every entry after DurableAppliedIndex(): log compaction stops
// there (server/driver.cc).
//
// A command that is well-formed on the wire but invalid (unknown type, a key
// over the limit, a malformed encoding, a DeleteRange over its scan bound)
// changes nothing and gets an error in its EntryResult; its index still counts
// as applied so every replica stays identical. Only a storage failure fails a
// whole Apply call (nothing written; fatal for the replica).
//
// Thread rule: Apply and MaybeActivateSnapshot run on one thread (the apply
// worker). Get, Range, OpenSnapshot and the accessors are safe from any thread
// concurrently with them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "raft/types.h"
#include "rkv/internal/command.pb.h"
#include "storage/engine.h"
#include "storage/limits.h"

namespace rkv::storage {

class ApplyView;
class SnapshotReader;

// The membership raft computed for the conf-change entry at index
// (RawNode::ApplyConfChange), to be stored with it.
struct ConfStateAt {
  uint64_t index = 0;
  raft::ConfState conf_state;
};

// What applying one entry gives its proposer.
struct EntryResult {
  uint64_t index = 0;
  uint64_t term = 0;
  // Not OK: the command was rejected and changed nothing (INVALID_ARGUMENT or
  // RESOURCE_EXHAUSTED, naming the partition and index).
  absl::Status status;
  // For a command applied OK: revision (= index), prev kv, txn outcome.
  rkv::internal::CommandResult result;
};

class StateMachine final {
 public:
  // Opens the partition's active state. NOT_FOUND for an unknown partition,
  // DATA_LOSS for corrupt metadata, INVALID_ARGUMENT for bad limits.
  static absl::StatusOr<std::unique_ptr<StateMachine>> Open(Engine* engine, uint64_t partition_id,
                                                            const StateMachineLimits& limits);
  ~StateMachine();
  StateMachine(const StateMachine&) = delete;
  StateMachine& operator=(const StateMachine&) = delete;

  // Applies committed entries in order with one write and returns one result
  // per entry applied. Entries at or below the applied index are skipped (no
  // result): they are already in the state, e.g. after a snapshot was
  // activated. conf_states holds, in order, the ConfState for each
  // conf-change entry applied. Returns, with nothing written:
  // FAILED_PRECONDITION when the first new entry is not applied index + 1;
  // INVALID_ARGUMENT for non-consecutive entries or falling terms, or
  // conf_states that do not match the conf-change entries one to one;
  // RESOURCE_EXHAUSTED past StateMachineLimits::max_apply_entries/bytes;
  // any storage error (fatal).
  absl::StatusOr<std::vector<EntryResult>> Apply(absl::Span<const raft::Entry> entries,
                                                 absl::Span<const ConfStateAt> conf_states);

  // Step 2 of a snapshot install (storage/engine.h): if a snapshot committed
  // by a LogBatch awaits activation, switches to it durably, drops the old
  // column family and reloads the applied index and ConfState. Call it in
  // apply order, where the Ready's snapshot sits among committed entries.
  // Returns whether the state changed.
  absl::StatusOr<bool> MaybeActivateSnapshot();

  // The key's live value at now_unix_ms, or nullopt when absent or expired.
  // The stored record comes from the engine's row cache when it holds it
  // (storage/row_cache.h); Apply invalidates what it writes before moving
  // the applied index.
  absl::StatusOr<std::optional<rkv::internal::KeyValue>> Get(absl::string_view key,
                                                             uint64_t now_unix_ms) const;
  // Keys of [range.key, range.range_end) live at now_unix_ms (range_end empty:
  // one key; "\0": every key >= key), at most range.limit (0 or above the
  // limit: StateMachineLimits::max_range_keys). INVALID_ARGUMENT for a bad
  // range; RESOURCE_EXHAUSTED when the range holds more than max_scan_keys.
  absl::StatusOr<rkv::internal::RangeResult> Range(const rkv::internal::RangeOp& range,
                                                   uint64_t now_unix_ms) const;

  // A consistent stream of the state at the current applied index, from a
  // RocksDB snapshot: Apply may go on meanwhile.
  absl::StatusOr<std::unique_ptr<SnapshotReader>> OpenSnapshot(const SnapshotLimits& limits) const;

  // The applied index a crash now would come back to: the one in flushed
  // memtables. At most applied_index(). Read from RocksDB only after a flush
  // or a snapshot activation, else remembered.
  absl::StatusOr<uint64_t> DurableAppliedIndex() const;
  // Flushes the state, so that DurableAppliedIndex() catches up with
  // applied_index(): with wait before returning, else in the background.
  absl::Status Flush(bool wait);

  uint64_t partition_id() const { return partition_id_; }
  uint64_t applied_index() const { return applied_index_.load(); }
  uint64_t applied_term() const { return applied_term_.load(); }
  raft::ConfState conf_state() const;
  // The generation of the column family in use.
  uint64_t generation() const;

 private:
  StateMachine(Engine* engine, uint64_t partition_id, const StateMachineLimits& limits);
  absl::Status Load();
  std::shared_ptr<const PartitionCf> cf() const;
  absl::Status ValidateBatch(absl::Span<const raft::Entry> entries,
                             absl::Span<const ConfStateAt> conf_states, uint64_t applied) const;
  // Writes the batch's changes with its applied index (and ConfState) in one
  // WriteBatch, then moves the in-memory applied index.
  absl::Status Commit(const ApplyView& view, const PartitionCf& cf, const raft::Entry& last,
                      const raft::ConfState* new_conf_state, uint64_t data_bytes);
  // Applies one command; a non-OK return is fatal for the Apply call, a
  // rejection is put in *result.
  absl::Status ApplyCommand(ApplyView& view, const raft::Entry& entry, EntryResult* result);

  Engine* const engine_;
  const uint64_t partition_id_;
  const StateMachineLimits limits_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const PartitionCf> cf_ ABSL_GUARDED_BY(mu_);
  raft::ConfState conf_state_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> applied_index_{0};
  std::atomic<uint64_t> applied_term_{0};

  // The last DurableAppliedIndex() read, and what it was read at.
  struct DurableRead {
    uint64_t flush_count = 0;
    uint64_t generation = 0;
    uint64_t applied_index = 0;
  };
  mutable std::optional<DurableRead> durable_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rkv::storage
