#include "storage/bootstrap.h"

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/keys.h"
#include "storage/limits.h"
#include "storage/log_codec.h"
#include "storage/raft_log_store.h"
#include "storage/rocks_status.h"
#include "storage/slice.h"
#include "storage/sm_meta.h"

namespace rkv::storage {

absl::Status BootstrapPartition(Engine* engine, uint64_t partition_id,
                                const raft::SnapshotMetadata& snapshot,
                                const raft::HardState& hard_state) {
  if (!engine->HasPartition(partition_id)) {
    if (absl::Status s = engine->CreatePartition(partition_id, snapshot.conf_state()); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<RaftLogStore>> log = RaftLogStore::Open(engine, partition_id, LogLimits());
  if (!log.ok()) return log.status();
  absl::StatusOr<std::shared_ptr<const PartitionCf>> cf = engine->ActiveCf(partition_id);
  if (!cf.ok()) return cf.status();
  absl::StatusOr<StateMachineMeta> meta =
      LoadStateMachineMeta(engine->db(), (*cf)->handle, nullptr, partition_id);
  if (!meta.ok()) return meta.status();
  const bool log_bootstrapped = (*log)->snapshot_metadata().index() == snapshot.index() &&
                                (*log)->LastIndex() == snapshot.index();
  const bool log_empty = (*log)->LastIndex() == 0 && (*log)->hard_state().term() == 0;
  if (log_bootstrapped && meta->applied_index == snapshot.index()) return absl::OkStatus();
  if (!log_empty || meta->applied_index != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", partition_id, " holds a raft log up to index ", (*log)->LastIndex(),
        " and applied index ", meta->applied_index, "; it cannot be bootstrapped again"));
  }
  rocksdb::WriteBatch batch;
  auto snapshot_key = keys::SnapshotMetadataKey(partition_id);
  auto hard_state_key = keys::HardStateKey(partition_id);
  batch.Put(engine->raft_cf(), ToSlice(snapshot_key.view()),
            EncodeSnapshotMetadataRecord(partition_id, snapshot));
  batch.Put(engine->raft_cf(), ToSlice(hard_state_key.view()),
            EncodeHardStateRecord(partition_id, hard_state));
  batch.Put((*cf)->handle, ToSlice(keys::kAppliedKey),
            EncodeAppliedRecord(snapshot.index(), snapshot.term()));
  batch.Put((*cf)->handle, ToSlice(keys::kConfStateKey), EncodeConfStateRecord(snapshot.conf_state()));
  return engine->Write(&batch, /*sync=*/true, absl::StrCat("bootstrap of partition ", partition_id));
}

}  // namespace rkv::storage
