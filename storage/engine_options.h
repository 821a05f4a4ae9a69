// EngineOptions: how a node's RocksDB is sized, with Validate(). Plain data;
// copied into the Engine. What each RocksDB option is set to, and why, is in
// storage/rocks_options.cc.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace rkv::storage {

struct EngineOptions {
  // The node's data directory. The Engine owns <dir>/db (RocksDB) and
  // <dir>/staging (SST files of snapshots being received).
  std::string dir;

  // One LRU cache for the blocks, indexes and filters of every column family,
  // and the memory of all memtables (charged to it by the write-buffer
  // manager): the node's storage memory stays near this figure whatever the
  // number of partitions.
  uint64_t block_cache_bytes = 512ull << 20;
  // All memtables of all column families together; past it RocksDB flushes
  // the largest. REQUIRES: < block_cache_bytes.
  uint64_t memtable_budget_bytes = 256ull << 20;
  // Memtable of the `raft` column family, which takes every partition's log.
  uint64_t raft_write_buffer_bytes = 64ull << 20;
  // Memtable of one partition's state-machine column family. Small on
  // purpose: applying a write is one skiplist insert at a random key, whose
  // cost is cache misses that grow with the memtable, and memory stays
  // bounded as partitions are added. 4 MiB measured 3-12% faster writes than
  // 16 MiB at 256 clients; 1 MiB (the least Validate accepts) beat 4 MiB in
  // each of 7 side-by-side write rounds (15 and 45 s, flushes and compactions
  // included): 1-1.5% less CPU and 2-6% more writes per second, with point
  // reads unchanged.
  uint64_t partition_write_buffer_bytes = 1ull << 20;
  // Past this much WAL, RocksDB flushes the column families that pin the
  // oldest WAL file (an idle partition would otherwise keep it forever).
  uint64_t max_total_wal_bytes = 512ull << 20;
  // Keep the records that point reads find in that cache too
  // (storage/row_cache.h), so a repeated Get skips RocksDB's search.
  bool cache_rows = true;
  // Flush and compaction threads shared by all column families.
  int background_jobs = 4;
  // Bound on partitions (and so on column families) hosted by this node.
  uint64_t max_partitions = 4096;

  // Returns INVALID_ARGUMENT naming the field that is out of range.
  absl::Status Validate() const;
};

}  // namespace rkv::storage
