#include "storage/sm_meta.h"

#include <rocksdb/db.h>

#include "absl/strings/str_cat.h"
#include "storage/checked_record.h"
#include "storage/coding.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"
#include "storage/slice.h"

namespace rkv::storage {

std::string EncodeAppliedRecord(uint64_t applied_index, uint64_t applied_term) {
  std::string payload(16, '\0');
  PutLittleEndian64(applied_index, payload.data());
  PutLittleEndian64(applied_term, payload.data() + 8);
  return EncodeChecked(keys::kAppliedKey, payload);
}

std::string EncodeConfStateRecord(const raft::ConfState& conf_state) {
  return EncodeChecked(keys::kConfStateKey, conf_state.SerializeAsString());
}

namespace {

absl::StatusOr<StateMachineMeta> LoadWith(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                          const rocksdb::ReadOptions& read, uint64_t partition_id) {
  StateMachineMeta meta;

  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->Get(read, cf, ToSlice(keys::kAppliedKey),
                              &value);
  std::string what = absl::StrCat("partition ", partition_id, " applied index record");
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, absl::StrCat("reading ", what));
  if (s.ok()) {
    absl::StatusOr<absl::string_view> payload =
        OpenChecked(keys::kAppliedKey, ToView(value), what);
    if (!payload.ok()) return payload.status();
    if (payload->size() != 16) {
      return absl::DataLossError(
          absl::StrCat(what, " is corrupt: ", payload->size(), " bytes instead of 16"));
    }
    meta.applied_index = GetLittleEndian64(payload->data());
    meta.applied_term = GetLittleEndian64(payload->data() + 8);
  }

  value.Reset();
  s = db->Get(read, cf, ToSlice(keys::kConfStateKey),
              &value);
  what = absl::StrCat("partition ", partition_id, " conf state record");
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, absl::StrCat("reading ", what));
  if (s.ok()) {
    absl::StatusOr<absl::string_view> payload =
        OpenChecked(keys::kConfStateKey, ToView(value), what);
    if (!payload.ok()) return payload.status();
    if (!meta.conf_state.ParseFromArray(payload->data(), static_cast<int>(payload->size()))) {
      return absl::DataLossError(absl::StrCat(what, " is corrupt: it does not parse"));
    }
  }
  return meta;
}

}  // namespace

absl::StatusOr<StateMachineMeta> LoadStateMachineMeta(rocksdb::DB* db,
                                                      rocksdb::ColumnFamilyHandle* cf,
                                                      const rocksdb::Snapshot* snapshot,
                                                      uint64_t partition_id) {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  return LoadWith(db, cf, read, partition_id);
}

absl::StatusOr<StateMachineMeta> LoadDurableStateMachineMeta(rocksdb::DB* db,
                                                             rocksdb::ColumnFamilyHandle* cf,
                                                             uint64_t partition_id) {
  rocksdb::ReadOptions read;
  // Skips the memtables once any write without a WAL record was made since
  // the database opened; before that, every memtable entry came from the
  // WAL (synced writes, or replayed at open) and is durable.
  read.read_tier = rocksdb::kPersistedTier;
  return LoadWith(db, cf, read, partition_id);
}

}  // namespace rkv::storage
