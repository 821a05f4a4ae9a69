// RowCache: the stored record (or absence) of keys recently read by point
// reads (Get, a Range of one key, and the apply thread's reads for prev_kv,
// Delete and Txn compares), node-wide, so a repeated read answers from memory
// instead of searching a partition's memtables and SST files. With blind puts
// (storage/mvcc.h) a key's newest memtable entry is usually an operand, so a
// RocksDB Get went on into every memtable and file down to the key's base
// record: about 17 us, a third of a node's CPU under serializable reads.
//
// Rows live in the engine's shared LRU cache beside the blocks, under the one
// memory bound (EngineOptions::block_cache_bytes). A row is named by
// partition, column-family generation and user key, so a snapshot switch (a new
// generation) leaves the old rows unreachable until they age out.
//
// Consistency. Only the apply thread changes a partition's keys, and after
// each write it calls Invalidate for every key it wrote, before it moves the
// applied index or answers a proposer. A reader that misses reads RocksDB and
// offers what it found with Fill, which keeps it only if no Invalidate of that
// key's stripe came between the miss and the fill: a row read before a write
// can never be kept after the write's Invalidate. So a read that starts after
// a write was applied never sees the row from before it. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class Cache;
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace rkv::storage {

class RowCache final {
 public:
  // What a miss hands to Fill.
  struct Ticket {
    std::string cache_key;
    size_t stripe = 0;
    uint64_t epoch = 0;
  };

  // cache: shared with RocksDB's blocks; nullptr disables the cache (every
  // Lookup misses, Fill and Invalidate do nothing).
  explicit RowCache(std::shared_ptr<rocksdb::Cache> cache);
  ~RowCache();
  RowCache(const RowCache&) = delete;
  RowCache& operator=(const RowCache&) = delete;

  // Reads user_key's stored record: from the cache, or on a miss from the
  // partition's column family in db, offering what it found to the cache.
  // visit sees the record (nullopt: absent), valid only during the call (no
  // copy is made). Returns RocksDB's error, naming the partition.
  absl::Status Read(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t partition_id,
                    uint64_t generation, absl::string_view user_key,
                    absl::FunctionRef<void(std::optional<absl::string_view>)> visit);

  // The two halves of Read, for callers that read elsewhere. A hit calls
  // found with the stored record (nullopt: the key is absent),
  // which stays valid only during the call (no copy is made), and returns
  // true. A miss returns false with *ticket set for Fill.
  bool Lookup(uint64_t partition_id, uint64_t generation, absl::string_view user_key,
              absl::FunctionRef<void(std::optional<absl::string_view>)> found, Ticket* ticket);
  // Keeps what a read after the miss found (nullopt: absent), unless the key
  // was invalidated since.
  void Fill(const Ticket& ticket, std::optional<absl::string_view> record);
  // Forgets the key. Call after the write that changed it is visible in
  // RocksDB and before anyone is told of the write.
  void Invalidate(uint64_t partition_id, uint64_t generation, absl::string_view user_key);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  // Invalidations and fills meet under one of these, picked by the key's
  // hash: a fill is refused if its stripe's epoch moved since the miss.
  struct Stripe {
    absl::Mutex mu;
    uint64_t epoch ABSL_GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kStripes = 1024;

  static std::string CacheKey(uint64_t partition_id, uint64_t generation, absl::string_view user_key);
  static size_t StripeOf(absl::string_view cache_key);

  const std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<std::array<Stripe, kStripes>> stripes_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace rkv::storage
