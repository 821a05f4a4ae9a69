// Figures about the node's RocksDB for metrics, and a write probe for health
// checks. Thread-safe.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "storage/engine.h"

namespace rkv::storage {

struct EngineStats {
  uint64_t size_bytes = 0;
  uint64_t live_keys_estimate = 0;
  uint64_t pending_compaction_bytes = 0;
  uint64_t block_cache_usage_bytes = 0;
  // Point reads answered by the row cache, and those that read RocksDB.
  uint64_t row_cache_hits = 0;
  uint64_t row_cache_misses = 0;
};

// Sums RocksDB's properties over every column family.
EngineStats ReadEngineStats(Engine& engine);

// Makes one small synced write: OK when the storage takes writes. A failure
// says why (disk full, I/O error).
absl::Status ProbeWritable(Engine& engine);

}  // namespace rkv::storage
