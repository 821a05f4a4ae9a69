// The RocksDB merge operator of state-machine column families: folds put
// operands (storage/mvcc.h) over a key's previous record, so a Put that does
// not return the previous value is a blind write, like RocksDB's own Put. No
// partial merge: operands wait for their base record (a read, or compaction).
// Only storage/ .cc files include this header. Thread-safe (stateless).
#pragma once

#include <memory>

#include <rocksdb/merge_operator.h>

namespace rkv::storage {

// Set on every partition column family (and the SST writers of snapshots).
std::shared_ptr<rocksdb::MergeOperator> PutMergeOperator();

}  // namespace rkv::storage
