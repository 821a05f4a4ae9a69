#include "storage/bootstrap.h"

#include <memory>
#include <utility>

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
namespace {

void AddRecords(Engine* engine, const PartitionBootstrap& p, const PartitionCf& cf,
                rocksdb::WriteBatch* batch) {
  auto snapshot_key = keys::SnapshotMetadataKey(p.partition_id);
  auto hard_state_key = keys::HardStateKey(p.partition_id);
  batch->Put(engine->raft_cf(), ToSlice(snapshot_key.view()),
             EncodeSnapshotMetadataRecord(p.partition_id, p.snapshot));
  batch->Put(engine->raft_cf(), ToSlice(hard_state_key.view()),
             EncodeHardStateRecord(p.partition_id, p.hard_state));
  batch->Put(cf.handle, ToSlice(keys::kAppliedKey), EncodeAppliedRecord(p.snapshot.index(), p.snapshot.term()));
  batch->Put(cf.handle, ToSlice(keys::kConfStateKey), EncodeConfStateRecord(p.snapshot.conf_state()));
}

// Adds the bootstrap records of p, a partition that existed before this
// call, to batch unless it already holds exactly them.
absl::Status AddBootstrapOfExisting(Engine* engine, const PartitionBootstrap& p, rocksdb::WriteBatch* batch) {
  absl::StatusOr<std::unique_ptr<RaftLogStore>> log = RaftLogStore::Open(engine, p.partition_id, LogLimits());
  if (!log.ok()) return log.status();
  absl::StatusOr<std::shared_ptr<const PartitionCf>> cf = engine->ActiveCf(p.partition_id);
  if (!cf.ok()) return cf.status();
  absl::StatusOr<StateMachineMeta> meta =
      LoadStateMachineMeta(engine->db(), (*cf)->handle, nullptr, p.partition_id);
  if (!meta.ok()) return meta.status();
  const bool log_bootstrapped = (*log)->snapshot_metadata().index() == p.snapshot.index() &&
                                (*log)->LastIndex() == p.snapshot.index();
  const bool log_empty = (*log)->LastIndex() == 0 && (*log)->hard_state().term() == 0;
  if (log_bootstrapped && meta->applied_index == p.snapshot.index()) return absl::OkStatus();
  if (!log_empty || meta->applied_index != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", p.partition_id, " holds a raft log up to index ", (*log)->LastIndex(),
        " and applied index ", meta->applied_index, "; it cannot be bootstrapped again"));
  }
  AddRecords(engine, p, **cf, batch);
  return absl::OkStatus();
}

}  // namespace

absl::Status BootstrapPartitions(Engine* engine, const std::vector<PartitionBootstrap>& partitions) {
  // The partitions that exist are checked before anything is created.
  rocksdb::WriteBatch batch;
  std::vector<const PartitionBootstrap*> missing;
  for (const PartitionBootstrap& p : partitions) {
    if (!engine->HasPartition(p.partition_id)) {
      missing.push_back(&p);
    } else if (absl::Status s = AddBootstrapOfExisting(engine, p, &batch); !s.ok()) {
      return s;
    }
  }
  std::vector<std::pair<uint64_t, raft::ConfState>> created;
  for (const PartitionBootstrap* p : missing) created.emplace_back(p->partition_id, p->snapshot.conf_state());
  if (absl::Status s = engine->CreatePartitions(created); !s.ok()) return s;
  // Just created, so empty: nothing to read back.
  for (const PartitionBootstrap* p : missing) {
    absl::StatusOr<std::shared_ptr<const PartitionCf>> cf = engine->ActiveCf(p->partition_id);
    if (!cf.ok()) return cf.status();
    AddRecords(engine, *p, **cf, &batch);
  }
  if (batch.Count() == 0) return absl::OkStatus();
  return engine->Write(&batch, /*sync=*/true,
                       absl::StrCat("bootstrap of ", partitions.size(), " partitions"));
}

}  // namespace rkv::storage
