#include "storage/rocks_options.h"

#include <algorithm>
#include <vector>

#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include "storage/keys.h"
#include "storage/merge_operator.h"
#include "storage/slice.h"


namespace rkv::storage {
namespace {

// One memtable insert position per partition and record tag, for the keys
// keys::IsHintedRaftKey names; no range deletion starts at one.
class PartitionTagPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "rkv.PartitionTagPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), keys::kPartitionTagBytes);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return keys::IsHintedRaftKey(ToView(key));
  }
};

// One memtable insert position per metadata key of a state machine (the
// applied index, the conf state), which every Apply rewrites: a new version of
// a key sorts just before its previous one, so the remembered position fits and
// the insert skips the skiplist search. Data keys get no position. The state
// machine column families have no range deletions, which RocksDB 7.8 would
// file under the same positions (see keys::IsHintedRaftKey).
class MetadataKeyPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "rkv.MetadataKeyPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override { return key; }
  bool InDomain(const rocksdb::Slice& key) const override {
    return !key.empty() && key[0] != keys::kDataPrefix;
  }
};

bool Supported(rocksdb::CompressionType type) {
  static const std::vector<rocksdb::CompressionType> supported =
      rocksdb::GetSupportedCompressions();
  return std::find(supported.begin(), supported.end(), type) != supported.end();
}

rocksdb::BlockBasedTableOptions TableOptions(const SharedResources& shared, bool bloom) {
  rocksdb::BlockBasedTableOptions table;
  // One cache for all column families, so memory does not grow with the
  // number of partitions.
  table.block_cache = shared.block_cache;
  // Index and filter blocks live in (and are charged to) that cache instead of
  // being held per open file outside any bound; L0's stay pinned because every
  // read consults them.
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Format 5: the faster, smaller bloom filter implementation.
  table.format_version = 5;
  if (bloom) {
    // About 1% false positives. Applying a Put reads the key first (for its
    // version and create revision); a new key misses, and the filter answers
    // that miss without reading a data block.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Size filters to jemalloc/glibc allocation classes: less memory wasted.
    table.optimize_filters_for_memory = true;
  }
  return table;
}

}  // namespace

rocksdb::CompressionType StrongCompression() {
  for (auto type : {rocksdb::kZSTD, rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (Supported(type)) return type;
  }
  return rocksdb::kNoCompression;
}

rocksdb::CompressionType FastCompression() {
  for (auto type : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression, rocksdb::kZSTD}) {
    if (Supported(type)) return type;
  }
  return rocksdb::kNoCompression;
}

SharedResources MakeSharedResources(const EngineOptions& options) {
  SharedResources shared;
  rocksdb::LRUCacheOptions cache;
  cache.capacity = options.block_cache_bytes;
  // Index and filter blocks go to the high-priority pool so a large scan (a
  // snapshot being streamed) does not evict them.
  cache.high_pri_pool_ratio = 0.25;
  shared.block_cache = rocksdb::NewLRUCache(cache);
  // Memtables of every column family are charged to the block cache: one
  // memory budget for the node. No stall: writes are already bounded upstream
  // (raft's uncommitted-bytes bound and the apply batch bounds).
  shared.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(
      options.memtable_budget_bytes, shared.block_cache, /*allow_stall=*/false);
  return shared;
}

rocksdb::DBOptions MakeDbOptions(const EngineOptions& options, const SharedResources& shared) {
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.max_background_jobs = options.background_jobs;
  db.write_buffer_manager = shared.write_buffer_manager;
  // A column family whose memtable is not flushed keeps the oldest WAL file
  // it wrote to alive (state machines write none, so these are the raft log
  // and the registry); past this total RocksDB flushes such column families
  // so WAL space and recovery time stay bounded.
  db.max_total_wal_size = options.max_total_wal_bytes;
  // After a crash, a torn last record (a write that was never synced, so
  // never acknowledged) is dropped, as etcd's WAL does; a corrupt record
  // anywhere before the tail makes Open fail with a corruption error.
  // kPointInTimeRecovery would instead stop replay there and silently drop
  // every synced record after it: acknowledged log entries and, worse, a
  // persisted vote, which could let this node vote twice in one term. A node
  // with a damaged log must refuse to start (found by the chaos suite's
  // corrupt nemesis).
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // enable_pipelined_write stays off: the driver syncs with SyncWAL, off the
  // write queue (Engine::Write), so its log writes and the apply worker's
  // state-machine writes are both short, and the pipeline's extra handoff
  // between its WAL and memtable stages cost more than it overlapped
  // (measured: 5-10% fewer writes per second with it on).
  // Write SST data back to disk every MiB instead of in one burst at the
  // file's fsync, which would stall the WAL's fsync behind it.
  db.bytes_per_sync = 1 << 20;
  // Dropping a column family (snapshot switch, replica removal) and releasing
  // iterators must not delete files in the caller's (driver or apply) thread.
  db.avoid_unnecessary_blocking_io = true;
  // Every snapshot install creates and drops a column family; roll the
  // manifest early so its replay at open stays short.
  db.max_manifest_file_size = 64ull << 20;
  // Bounded info logs and open files.
  db.keep_log_file_num = 5;
  db.max_log_file_size = 16ull << 20;
  db.max_open_files = 4096;
  return db;
}

rocksdb::ColumnFamilyOptions MakeRegistryCfOptions(const EngineOptions&,
                                                   const SharedResources& shared) {
  // A handful of keys: small memtable, no filter.
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 1 << 20;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(shared, false)));
  return cf;
}

rocksdb::ColumnFamilyOptions MakeRaftCfOptions(const EngineOptions& options,
                                               const SharedResources& shared) {
  rocksdb::ColumnFamilyOptions cf;
  // Every partition's appends land here; a large memtable means entries are
  // usually applied and compacted away before they are ever flushed, and
  // recent entries (the ones Entries() serves to followers) are read from it.
  cf.write_buffer_size = options.raft_write_buffer_bytes;
  // Room for bursts: a flush may lag without stalling the synced writes.
  cf.max_write_buffer_number = 4;
  // Each partition appends its own run of keys and rewrites its hard state,
  // but the partitions' writes interleave, so the memtable's single
  // last-insert position rarely fits and every write searched the skiplist
  // from the top (about 10% of the driver's CPU under writes). A position
  // remembered per partition and tag starts each write where the partition's
  // previous one ended.
  cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<PartitionTagPrefix>();
  // Reads are ordered scans of (partition, index) and point reads of recent
  // terms (mostly answered by the RaftLogStore's term cache), so no bloom
  // filter: it would cost memory for nothing.
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(shared, false)));
  // Log entries are short-lived: cheap compression everywhere.
  cf.compression = FastCompression();
  cf.bottommost_compression = FastCompression();
  // Levels sized from the bottom: steady space amplification as log
  // compaction's range deletions come and go.
  cf.level_compaction_dynamic_level_bytes = true;
  return cf;
}

rocksdb::ColumnFamilyOptions MakePartitionCfOptions(const EngineOptions& options,
                                                    const SharedResources& shared) {
  rocksdb::ColumnFamilyOptions cf;
  // Per partition; the write-buffer manager caps the sum over all partitions.
  cf.write_buffer_size = options.partition_write_buffer_bytes;
  cf.max_write_buffer_number = 3;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(shared, true)));
  // No memtable bloom filter: it is allocated whole with every memtable
  // (ratio x write_buffer_size), so with hundreds of partitions it would eat
  // the memtable budget before any data did. Applying a plain Put does not
  // read (below), so the filter would rarely pay off.
  // Arena blocks default to 1/8 of the write buffer. Every written
  // partition's active memtable holds at least one, and all of them count
  // against the memtable budget: with 4,096 partitions 256 KiB blocks alone
  // were four times the budget, and the write-buffer manager flushed tiny
  // memtables without pause (a third of a core per node on flush threads,
  // 1,000 writes/s). So blocks are sized for one per partition to fill at
  // most a quarter of the budget, between 16 and 256 KiB.
  const uint64_t per_partition = options.memtable_budget_bytes / 4 / std::max<uint64_t>(options.max_partitions, 1);
  cf.arena_block_size = std::clamp<uint64_t>(per_partition / 4096 * 4096, 16 << 10, 256 << 10);
  // A Put that does not return the previous value is a blind merge operand
  // (storage/mvcc.h), folded over the key's record when read or compacted.
  cf.merge_operator = PutMergeOperator();
  cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<MetadataKeyPrefix>();
  // max_successive_merges stays 0: bounding operand chains in the memtable
  // costs a skiplist seek on every merge. Chains are already short: an Apply
  // batch folds repeated Puts of a key into one operand, flush and compaction
  // fold operands once they meet the key's record, and RocksDB folds at most
  // a memtable's worth on a read.
  // LZ4 on upper levels (cheap for data that is soon rewritten), ZSTD on the
  // bottommost level, where most of the data lives and is rewritten least.
  cf.compression = FastCompression();
  cf.bottommost_compression = StrongCompression();
  cf.level_compaction_dynamic_level_bytes = true;
  return cf;
}

}  // namespace rkv::storage
