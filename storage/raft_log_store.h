// RaftLogStore: one partition's raft log in the node's `raft` column family,
// read by the Raft core through raft::LogReader. Keeps the hard state, the
// snapshot metadata, the first and last index and the terms of recent entries
// (TermCache) in memory; entries themselves are read from RocksDB, each
// verified against its checksum (DATA_LOSS naming the partition and index on a
// mismatch, never used).
//
// Writes go through a LogBatch (appends, hard state, snapshot install: one
// synced write for many partitions), which updates this cache only after its
// write succeeded; Compact() writes directly. The ConfState of
// LoadInitialState() is the state machine's (the membership as of its applied
// index, written atomically with it), which is what a RawNode restarted with
// Config::applied = StateMachine::applied_index() needs.
//
// Not thread-safe: owned by the node's driver thread, like the RawNode that
// reads it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/log_reader.h"
#include "raft/types.h"
#include "storage/engine.h"
#include "storage/limits.h"
#include "storage/term_cache.h"

namespace rkv::storage {

// The persisted state of one partition's log as the store caches it; a
// LogBatch stages changes on a copy.
struct LogState {
  explicit LogState(size_t term_cache_runs) : terms(term_cache_runs) {}

  raft::HardState hard_state;
  // Index 0: no snapshot yet (the log starts at index 1).
  raft::SnapshotMetadata snapshot;
  uint64_t last_index = 0;
  TermCache terms;

  uint64_t first_index() const { return snapshot.index() + 1; }
};

class RaftLogStore final : public raft::LogReader {
 public:
  // Loads the partition's log state. Returns NOT_FOUND for a partition the
  // engine does not host, DATA_LOSS when the stored log is corrupt or has a
  // hole at either end, INVALID_ARGUMENT for bad limits.
  static absl::StatusOr<std::unique_ptr<RaftLogStore>> Open(Engine* engine, uint64_t partition_id,
                                                            const LogLimits& limits);
  RaftLogStore(const RaftLogStore&) = delete;
  RaftLogStore& operator=(const RaftLogStore&) = delete;

  // raft::LogReader (contracts in raft/log_reader.h). Entries() returns
  // DATA_LOSS naming the partition and index for a corrupt or missing entry.
  // GetSnapshot() returns the metadata only: the state itself is streamed
  // separately by a SnapshotReader (whose metadata is authoritative).
  absl::StatusOr<raft::InitialState> LoadInitialState() const override;
  absl::StatusOr<std::vector<raft::Entry>> Entries(uint64_t lo, uint64_t hi,
                                                   uint64_t max_bytes) const override;
  absl::StatusOr<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override { return state_.first_index(); }
  uint64_t LastIndex() const override { return state_.last_index; }
  absl::StatusOr<raft::Snapshot> GetSnapshot() const override;

  // Discards the entries below index (range delete) and records index - 1,
  // its term and conf_state as the snapshot metadata; afterwards FirstIndex()
  // is index. One unsynced write: if a crash loses it, the log is simply
  // longer. REQUIRES: the state machine has applied index - 1, conf_state is
  // the membership as of index - 1, and no LogBatch holds uncommitted changes
  // to this store. Returns OK doing nothing when index == FirstIndex(),
  // OUT_OF_RANGE (raft::CompactedError) when index is below it,
  // NOT_FOUND (raft::UnavailableIndexError) past LastIndex() + 1, and
  // FAILED_PRECONDITION when index - 1 is not committed.
  absl::Status Compact(uint64_t index, const raft::ConfState& conf_state);

  uint64_t partition_id() const { return partition_id_; }
  const raft::HardState& hard_state() const { return state_.hard_state; }
  const raft::SnapshotMetadata& snapshot_metadata() const { return state_.snapshot; }
  const LogLimits& limits() const { return limits_; }

  // How many Term() calls read RocksDB instead of the cache.
  uint64_t term_reads_for_testing() const { return term_reads_; }

 private:
  friend class LogBatch;

  RaftLogStore(Engine* engine, uint64_t partition_id, const LogLimits& limits);
  absl::Status Load();
  // The term at index as `state` describes the log (its snapshot, its cache,
  // else the stored entry). REQUIRES: index in [state.snapshot.index(),
  // state.last_index].
  absl::StatusOr<uint64_t> TermIn(const LogState& state, uint64_t index) const;
  absl::StatusOr<raft::Entry> ReadEntry(uint64_t index) const;
  // Called by LogBatch once its write is durable.
  void CommitState(LogState state);

  Engine* const engine_;
  const uint64_t partition_id_;
  const LogLimits limits_;
  LogState state_;
  // Bumped on every change of state_; a LogBatch checks that the state it
  // staged changes on is still current.
  uint64_t version_ = 0;
  mutable uint64_t term_reads_ = 0;
};

}  // namespace rkv::storage
