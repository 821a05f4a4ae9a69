// LogBatch: group commit. Gathers what many partitions' Readys must persist
// (appended entries, hard states, installed snapshots) and makes all of it
// durable with ONE synced RocksDB write; only then does it update each
// RaftLogStore's in-memory state. Changes are staged on a copy of each store's
// state, so a call that fails validation leaves the batch as it was, and a
// failed Commit leaves every store as it was.
//
// Within one batch, calls on the same store apply in call order, as the Ready
// contract lists them: snapshot, then entries, then hard state.
//
// Not thread-safe: owned by the node's driver thread. The stores must outlive
// the batch and must not be changed by anything else (Compact) between the
// first call naming them and Commit.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "raft/types.h"
#include "storage/engine.h"
#include "storage/limits.h"
#include "storage/raft_log_store.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace rkv::storage {

class StagedSnapshot;

class LogBatch final {
 public:
  LogBatch(Engine* engine, const LogLimits& limits);
  ~LogBatch();
  LogBatch(const LogBatch&) = delete;
  LogBatch& operator=(const LogBatch&) = delete;

  // Appends entries to store's log; an entry whose index is already stored
  // replaces it and every entry after it. Returns INVALID_ARGUMENT for entries
  // that are not consecutive, have term 0 or decreasing terms, an unknown
  // type, data over LogLimits::max_entry_bytes, or that start below
  // FirstIndex() or past LastIndex() + 1; FAILED_PRECONDITION for an entry
  // that would replace a committed entry with a different term;
  // RESOURCE_EXHAUSTED past LogLimits::max_batch_bytes.
  absl::Status Append(RaftLogStore* store, absl::Span<const raft::Entry> entries);

  // Sets store's hard state. Returns FAILED_PRECONDITION if the term goes
  // down, the vote changes within a term, or the commit index goes down.
  absl::Status SetHardState(RaftLogStore* store, const raft::HardState& hard_state);

  // Installs a received snapshot (raft's Ready.snapshot): the log becomes empty
  // with metadata as its snapshot, and staged (the state machine at that
  // index, see storage/snapshot.h) becomes the partition's pending state
  // machine, activated by StateMachine::MaybeActivateSnapshot in apply order.
  // Takes staged. Returns INVALID_ARGUMENT when staged is null, of another
  // partition, or its metadata differs from metadata; FAILED_PRECONDITION when
  // the snapshot is not newer than the log's, or one was already installed on
  // this store in this batch.
  absl::Status InstallSnapshot(RaftLogStore* store, const raft::SnapshotMetadata& metadata,
                               std::unique_ptr<StagedSnapshot> staged);

  // Writes everything with one synced write, then updates the stores. Checks
  // first that each touched store ends consistent (commit index not past the
  // last index, last entry's term not above the hard state's term) and still
  // has the state the batch staged on, else FAILED_PRECONDITION with nothing
  // written. A write error is fatal for the node (do not retry). The batch is
  // empty afterwards, whatever the outcome.
  absl::Status Commit();

  bool empty() const { return touched_.empty(); }
  // Bytes of records staged so far.
  uint64_t bytes() const { return bytes_; }
  size_t partition_count() const { return touched_.size(); }

 private:
  struct Touched {
    RaftLogStore* store;
    uint64_t store_version;
    LogState state;
    std::unique_ptr<StagedSnapshot> staged;
  };

  Touched& Touch(RaftLogStore* store);
  absl::Status ValidateAppend(const Touched& touched, absl::Span<const raft::Entry> entries,
                              uint64_t* record_bytes) const;
  void Clear();

  Engine* const engine_;
  const LogLimits limits_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  // In first-touched order, so validation and its errors are deterministic.
  std::vector<std::unique_ptr<Touched>> touched_;
  absl::flat_hash_map<RaftLogStore*, Touched*> by_store_;
  uint64_t bytes_ = 0;
};

}  // namespace rkv::storage
