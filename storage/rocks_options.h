// The RocksDB options of a node: database-wide options and one set per kind of
// column family (default registry, raft log, partition state machine), built
// from EngineOptions around one shared block cache and write-buffer manager.
// Only storage/ .cc files and the storage benchmark include this header.
// Thread-safe (pure functions).
#pragma once

#include <memory>

#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/write_buffer_manager.h>

#include "storage/engine_options.h"

namespace rkv::storage {

// Shared by every column family of one Engine.
struct SharedResources {
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffer_manager;
};

SharedResources MakeSharedResources(const EngineOptions& options);
rocksdb::DBOptions MakeDbOptions(const EngineOptions& options, const SharedResources& shared);
rocksdb::ColumnFamilyOptions MakeRegistryCfOptions(const EngineOptions& options,
                                                   const SharedResources& shared);
rocksdb::ColumnFamilyOptions MakeRaftCfOptions(const EngineOptions& options,
                                               const SharedResources& shared);
rocksdb::ColumnFamilyOptions MakePartitionCfOptions(const EngineOptions& options,
                                                    const SharedResources& shared);

// The best of ZSTD, LZ4, Snappy, none that this RocksDB build supports, for
// "strong" (bottommost level) and "fast" (everything else) use.
rocksdb::CompressionType StrongCompression();
rocksdb::CompressionType FastCompression();

}  // namespace rkv::storage
