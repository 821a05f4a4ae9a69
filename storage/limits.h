// The bounds storage/ enforces at its edges (STYLE §1.6), with Validate().
// Plain data; copied into the objects that enforce them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace rkv::storage {

// Raft log writes (LogBatch) and the RaftLogStore's memory.
struct LogLimits {
  // Size of one entry's data.
  uint64_t max_entry_bytes = 8ull << 20;
  // Bytes one LogBatch may carry into its single synced write.
  uint64_t max_batch_bytes = 256ull << 20;
  // Runs of equal terms the term cache keeps (oldest dropped first).
  size_t term_cache_runs = 64;

  absl::Status Validate() const;
};

// Commands applied by a StateMachine. Every replica enforces the same limits
// on the same state, so a command rejected on one is rejected on all.
struct StateMachineLimits {
  uint64_t max_key_bytes = 64ull << 10;
  uint64_t max_value_bytes = 4ull << 20;
  uint64_t max_txn_compares = 128;
  uint64_t max_txn_ops = 128;
  // Keys one Range returns.
  uint64_t max_range_keys = 10000;
  // Keys one Range or DeleteRange may visit (counting expired keys); past it
  // the command is rejected with RESOURCE_EXHAUSTED.
  uint64_t max_scan_keys = 1000000;
  // One Apply call.
  uint64_t max_apply_entries = 100000;
  uint64_t max_apply_bytes = 256ull << 20;

  absl::Status Validate() const;
};

// Snapshot streams (SnapshotReader, SnapshotReceiver).
struct SnapshotLimits {
  // The reader closes a data chunk once its payload reaches this size.
  uint64_t target_chunk_bytes = 1ull << 20;
  // The receiver rejects a bigger chunk. Must hold one key record of the
  // largest size next to target_chunk_bytes.
  uint64_t max_chunk_bytes = 16ull << 20;
  // The receiver starts a new SST file past this size.
  uint64_t max_sst_file_bytes = 64ull << 20;
  // The receiver rejects a stream whose chunks add up to more.
  uint64_t max_snapshot_bytes = 64ull << 30;

  absl::Status Validate() const;
};

}  // namespace rkv::storage
