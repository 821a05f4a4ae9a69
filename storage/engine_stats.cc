#include "storage/engine_stats.h"

#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/slice.h"

namespace rkv::storage {
namespace {

uint64_t Sum(rocksdb::DB* db, const std::string& property, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs) {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* cf : cfs) {
    uint64_t value = 0;
    if (db->GetIntProperty(cf, property, &value)) total += value;
  }
  return total;
}

}  // namespace

EngineStats ReadEngineStats(Engine& engine) {
  rocksdb::DB* db = engine.db();
  std::vector<rocksdb::ColumnFamilyHandle*> cfs = {engine.raft_cf(), engine.registry_cf()};
  std::vector<std::shared_ptr<const PartitionCf>> held;
  for (uint64_t partition : engine.PartitionIds()) {
    absl::StatusOr<std::shared_ptr<const PartitionCf>> cf = engine.ActiveCf(partition);
    if (!cf.ok()) continue;
    cfs.push_back((*cf)->handle);
    held.push_back(std::move(*cf));
  }
  EngineStats stats;
  stats.size_bytes = Sum(db, rocksdb::DB::Properties::kTotalSstFilesSize, cfs) +
                     Sum(db, rocksdb::DB::Properties::kCurSizeAllMemTables, cfs);
  stats.live_keys_estimate = Sum(db, rocksdb::DB::Properties::kEstimateNumKeys, cfs);
  stats.pending_compaction_bytes = Sum(db, rocksdb::DB::Properties::kEstimatePendingCompactionBytes, cfs);
  uint64_t cache = 0;
  // The block cache is shared by every column family: read it once.
  if (db->GetIntProperty(engine.raft_cf(), rocksdb::DB::Properties::kBlockCacheUsage, &cache)) {
    stats.block_cache_usage_bytes = cache;
  }
  stats.row_cache_hits = engine.row_cache().hits();
  stats.row_cache_misses = engine.row_cache().misses();
  return stats;
}

absl::Status ProbeWritable(Engine& engine) {
  rocksdb::WriteBatch batch;
  // A key of its own in the registry column family, never read.
  static constexpr char kProbeKey[] = "\xff" "health-probe";
  batch.Put(engine.registry_cf(), ToSlice(kProbeKey), ToSlice("1"));
  return engine.Write(&batch, /*sync=*/true, "health probe");
}

}  // namespace rkv::storage
