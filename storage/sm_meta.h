// The metadata a state-machine column family keeps next to its keys: applied
// index, applied term and the ConfState at the applied index, each a checked
// record (storage/checked_record.h) under keys::kAppliedKey and
// keys::kConfStateKey. Written in the same WriteBatch as the mutations of the
// entries they describe. Thread-safe (pure functions and RocksDB reads).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "raft/types.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Snapshot;
}  // namespace rocksdb

namespace rkv::storage {

struct StateMachineMeta {
  uint64_t applied_index = 0;
  uint64_t applied_term = 0;
  raft::ConfState conf_state;
};

std::string EncodeAppliedRecord(uint64_t applied_index, uint64_t applied_term);
std::string EncodeConfStateRecord(const raft::ConfState& conf_state);

// Reads the metadata of a state-machine column family, as of `snapshot` when
// not null. Absent records read as zero / empty (a partition that applied
// nothing yet). Returns DATA_LOSS naming the partition for a corrupt record.
absl::StatusOr<StateMachineMeta> LoadStateMachineMeta(rocksdb::DB* db,
                                                      rocksdb::ColumnFamilyHandle* cf,
                                                      const rocksdb::Snapshot* snapshot,
                                                      uint64_t partition_id);

// The metadata as a crash would leave it: what flushed memtables hold
// (RocksDB's kPersistedTier). StateMachine::Apply writes no WAL record, so
// the latest metadata lives in memtables until they are flushed.
absl::StatusOr<StateMachineMeta> LoadDurableStateMachineMeta(rocksdb::DB* db,
                                                             rocksdb::ColumnFamilyHandle* cf,
                                                             uint64_t partition_id);

}  // namespace rkv::storage
