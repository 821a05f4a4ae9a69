#include "storage/engine.h"

#include <pthread.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <set>
#include <system_error>

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "storage/coding.h"
#include "storage/keys.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/sm_meta.h"
#include "storage/slice.h"

namespace rkv::storage {
namespace {

std::string EncodeGeneration(uint64_t generation) {
  std::string value(8, '\0');
  PutBigEndian64(generation, value.data());
  return value;
}

std::string EncodePending(uint64_t generation, uint64_t snapshot_index) {
  std::string value(16, '\0');
  PutBigEndian64(generation, value.data());
  PutBigEndian64(snapshot_index, value.data() + 8);
  return value;
}

absl::Status RemoveDirContents(const std::string& dir) {
  std::error_code error;
  // Explicit increments: the range-for form throws on error.
  for (auto it = std::filesystem::directory_iterator(dir, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    std::error_code removed;
    std::filesystem::remove_all(it->path(), removed);
    if (removed) {
      return absl::InternalError(absl::StrCat("cannot remove ", it->path().string(),
                                              " from the staging directory: ", removed.message()));
    }
  }
  if (error) {
    return absl::InternalError(absl::StrCat("cannot list ", dir, ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

Engine::Engine(const EngineOptions& options)
    : options_(options), db_dir_(options.dir + "/db"), staging_dir_(options.dir + "/staging") {
  // Idle until the open database hands it a column family.
  dropper_ = std::thread([this] { RunDropper(); });
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  if (absl::Status valid = options.Validate(); !valid.ok()) return valid;
  std::unique_ptr<Engine> engine(new Engine(options));
  std::error_code error;
  std::filesystem::create_directories(engine->db_dir_, error);
  if (!error) std::filesystem::create_directories(engine->staging_dir_, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create the directories of ", options.dir, ": ", error.message()));
  }
  // Files of snapshots whose receipt a crash interrupted.
  if (absl::Status s = RemoveDirContents(engine->staging_dir_); !s.ok()) return s;
  if (absl::Status s = engine->OpenDatabase(); !s.ok()) return s;
  return engine;
}

namespace {

class FlushCounter final : public rocksdb::EventListener {
 public:
  explicit FlushCounter(std::shared_ptr<std::atomic<uint64_t>> count) : count_(std::move(count)) {}
  // Called once the flushed file is part of the database's durable state.
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { count_->fetch_add(1); }

 private:
  const std::shared_ptr<std::atomic<uint64_t>> count_;
};

}  // namespace

absl::Status Engine::OpenDatabase() {
  shared_ = std::make_unique<SharedResources>(MakeSharedResources(options_));
  rows_ = std::make_unique<RowCache>(options_.cache_rows ? shared_->block_cache : nullptr);
  rocksdb::DBOptions db_options = MakeDbOptions(options_, *shared_);
  db_options.listeners.push_back(std::make_shared<FlushCounter>(flushes_));
  rocksdb::ColumnFamilyOptions partition_cf = MakePartitionCfOptions(options_, *shared_);
  partition_options_ = std::make_unique<rocksdb::Options>(db_options, partition_cf);

  std::vector<std::string> names;
  std::error_code missing;
  if (std::filesystem::exists(db_dir_ + "/CURRENT", missing)) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, db_dir_, &names);
    if (!s.ok()) return FromRocks(s, absl::StrCat("listing the column families of ", db_dir_));
  }
  if (std::find(names.begin(), names.end(), keys::kDefaultCfName) == names.end()) {
    names.emplace_back(keys::kDefaultCfName);
  }
  if (std::find(names.begin(), names.end(), keys::kRaftCfName) == names.end()) {
    names.emplace_back(keys::kRaftCfName);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    if (name == keys::kDefaultCfName) {
      descriptors.emplace_back(name, MakeRegistryCfOptions(options_, *shared_));
    } else if (name == keys::kRaftCfName) {
      descriptors.emplace_back(name, MakeRaftCfOptions(options_, *shared_));
    } else {
      descriptors.emplace_back(name, partition_cf);
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(db_options, db_dir_, descriptors, &handles, &db_);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening ", db_dir_));

  // Sort the handles: ours by generation, the rest kept untouched.
  for (size_t i = 0; i < handles.size(); ++i) {
    const std::string& name = descriptors[i].name;
    if (name == keys::kDefaultCfName) {
      registry_cf_ = handles[i];
    } else if (name == keys::kRaftCfName) {
      raft_cf_ = handles[i];
    } else if (std::optional<keys::CfName> parsed = keys::ParseStateMachineCfName(name)) {
      unclaimed_[parsed->generation] = {parsed->spare ? kSparePartition : parsed->partition_id,
                                        handles[i]};
    } else {
      other_cfs_.push_back(handles[i]);
    }
  }
  RKV_CHECK(registry_cf_ != nullptr);
  RKV_CHECK(raft_cf_ != nullptr);
  return LoadRegistry();
}

absl::StatusOr<std::map<uint64_t, Engine::RegistryRecord>> Engine::ReadRegistry() const {
  std::map<uint64_t, RegistryRecord> records;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), registry_cf_));
  for (it->Seek(ToSlice(keys::kRegistryPrefix)); it->Valid(); it->Next()) {
    absl::string_view raw_key = ToView(it->key());
    if (raw_key.substr(0, 1) != keys::kRegistryPrefix) break;
    std::optional<keys::RegistryKey> key = keys::ParseRegistryKey(raw_key);
    if (!key) {
      return absl::DataLossError(absl::StrCat(
          "the partition registry holds a malformed key of ", raw_key.size(), " bytes"));
    }
    absl::string_view value = ToView(it->value());
    RegistryRecord& record = records[key->partition_id];
    if (!key->pending && value.size() == 8) {
      record.active = GetBigEndian64(value.data());
    } else if (key->pending && value.size() == 16) {
      record.pending = GetBigEndian64(value.data());
      record.pending_index = GetBigEndian64(value.data() + 8);
    } else {
      return absl::DataLossError(absl::StrCat("the registry entry of partition ",
                                              key->partition_id, " is corrupt: ", value.size(),
                                              " bytes"));
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the partition registry");
  return records;
}

absl::StatusOr<std::shared_ptr<const PartitionCf>> Engine::Claim(uint64_t partition_id,
                                                                 uint64_t generation,
                                                                 absl::string_view role) {
  auto found = unclaimed_.find(generation);
  if (found == unclaimed_.end() ||
      (found->second.first != partition_id && found->second.first != kSparePartition)) {
    return absl::DataLossError(absl::StrCat(
        "partition ", partition_id, ": the registry names ", role, " column family ",
        keys::StateMachineCfName(partition_id, generation), ", which does not exist"));
  }
  std::shared_ptr<const PartitionCf> cf = Share(partition_id, generation, found->second.second);
  unclaimed_.erase(found);
  return cf;
}

absl::Status Engine::LoadRegistry() {
  absl::MutexLock lock(&mu_);
  if (!unclaimed_.empty()) next_generation_ = unclaimed_.rbegin()->first + 1;
  absl::StatusOr<std::map<uint64_t, RegistryRecord>> records = ReadRegistry();
  if (!records.ok()) return records.status();
  for (const auto& [partition_id, record] : *records) {
    if (!record.active) {
      return absl::DataLossError(absl::StrCat(
          "partition ", partition_id, ": the registry has a pending generation but no active one"));
    }
    Slot slot;
    absl::StatusOr<std::shared_ptr<const PartitionCf>> active =
        Claim(partition_id, *record.active, "active");
    if (!active.ok()) return active.status();
    slot.active = *std::move(active);
    if (record.pending) {
      absl::StatusOr<std::shared_ptr<const PartitionCf>> pending =
          Claim(partition_id, *record.pending, "pending");
      if (!pending.ok()) return pending.status();
      slot.pending = *std::move(pending);
      slot.pending_index = record.pending_index;
    }
    partitions_[partition_id] = std::move(slot);
  }
  // What a crash interrupted: step 2 of a snapshot switch.
  for (auto& [partition_id, slot] : partitions_) {
    if (slot.pending == nullptr) continue;
    absl::StatusOr<StateMachineMeta> meta =
        LoadStateMachineMeta(db_, slot.active->handle, nullptr, partition_id);
    if (!meta.ok()) return meta.status();
    bool activated = false;
    if (absl::Status s = ActivateLocked(partition_id, &slot, meta->applied_index, &activated);
        !s.ok()) {
      return s;
    }
  }
  DropOrphans();
  return absl::OkStatus();
}

bool Engine::DropTogether(const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  if (handles.empty()) return true;
  // RocksDB rewrites its OPTIONS file, which lists every column family, once
  // per call while it holds back every write (see DropCf): one call for the
  // lot instead of one per column family. A failure stops it at the failing
  // column family; the caller cannot tell which of the others went, so it
  // counts them all as failed, and Open drops what is left.
  if (db_->DropColumnFamilies(handles).ok()) return true;
  failed_drops_.fetch_add(handles.size());
  return false;
}

void Engine::DropOrphans() {
  // Staged and never committed, or replaced before a crash.
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (const auto& [generation, claim] : unclaimed_) handles.push_back(claim.second);
  unclaimed_.clear();
  if (!DropTogether(handles)) {
    // Kept open (and tried again at the next Open); never used.
    other_cfs_.insert(other_cfs_.end(), handles.begin(), handles.end());
    return;
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    RKV_CHECK_OK(FromRocks(db_->DestroyColumnFamilyHandle(handle), "releasing an orphan"));
  }
}

Engine::~Engine() {
  {
    absl::MutexLock lock(&mu_);
    partitions_.clear();
  }
  StopDropper();
  RKV_CHECK_MSG(live_cfs_.load() == 0,
                "a StateMachine, SnapshotReader or StagedSnapshot outlived its Engine");
  if (db_ == nullptr) return;
  // Spares no partition took; if the drop fails, the next Open drops them.
  {
    absl::MutexLock lock(&spare_mu_);
    std::vector<rocksdb::ColumnFamilyHandle*> spares;
    for (const auto& [generation, handle] : spares_) spares.push_back(handle);
    DropTogether(spares);
    for (rocksdb::ColumnFamilyHandle* handle : spares) db_->DestroyColumnFamilyHandle(handle);
    spares_.clear();
  }
  // Left unclaimed when Open failed half-way.
  for (auto& [generation, claim] : unclaimed_) db_->DestroyColumnFamilyHandle(claim.second);
  for (rocksdb::ColumnFamilyHandle* handle : other_cfs_) db_->DestroyColumnFamilyHandle(handle);
  if (raft_cf_ != nullptr) db_->DestroyColumnFamilyHandle(raft_cf_);
  if (registry_cf_ != nullptr) db_->DestroyColumnFamilyHandle(registry_cf_);
  // Close() waits for background work; its status only reports what the
  // next Open will recover from the WAL anyway.
  db_->Close().PermitUncheckedError();
  delete db_;
}

std::shared_ptr<const PartitionCf> Engine::Share(uint64_t partition_id, uint64_t generation,
                                                 rocksdb::ColumnFamilyHandle* handle) {
  live_cfs_.fetch_add(1);
  auto* cf = new PartitionCf{.partition_id = partition_id, .generation = generation,
                             .handle = handle};
  return std::shared_ptr<const PartitionCf>(cf, [this](const PartitionCf* released) {
    RKV_CHECK_OK(FromRocks(db_->DestroyColumnFamilyHandle(released->handle),
                           "releasing a column family handle"));
    delete released;
    live_cfs_.fetch_sub(1);
  });
}

std::vector<uint64_t> Engine::PartitionIds() const {
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> ids;
  ids.reserve(partitions_.size());
  for (const auto& [partition_id, slot] : partitions_) ids.push_back(partition_id);
  return ids;
}

bool Engine::HasPartition(uint64_t partition_id) const {
  absl::MutexLock lock(&mu_);
  return partitions_.contains(partition_id);
}

absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> Engine::CreateCfsTogether(
    const std::vector<std::string>& names) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      db_->CreateColumnFamilies(rocksdb::ColumnFamilyOptions(*partition_options_), names, &handles);
  if (!s.ok()) {
    // RocksDB may have created some of them.
    DropTogether(handles);
    for (rocksdb::ColumnFamilyHandle* handle : handles) db_->DestroyColumnFamilyHandle(handle);
    return FromRocks(s, absl::StrCat("creating ", names.size(), " column families, from ", names.front()));
  }
  return handles;
}

absl::StatusOr<std::vector<std::shared_ptr<const PartitionCf>>> Engine::NewCfs(
    const std::vector<std::pair<uint64_t, uint64_t>>& generations) {
  std::vector<std::string> names;
  for (const auto& [partition_id, generation] : generations) {
    names.push_back(keys::StateMachineCfName(partition_id, generation));
  }
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles = CreateCfsTogether(names);
  if (!handles.ok()) return handles.status();
  std::vector<std::shared_ptr<const PartitionCf>> cfs;
  for (size_t i = 0; i < handles->size(); ++i) {
    cfs.push_back(Share(generations[i].first, generations[i].second, (*handles)[i]));
  }
  return cfs;
}

absl::Status Engine::CreatePartition(uint64_t partition_id, const raft::ConfState& conf_state) {
  return CreatePartitions({{partition_id, conf_state}});
}

absl::Status Engine::CreatePartitions(const std::vector<std::pair<uint64_t, raft::ConfState>>& partitions) {
  if (partitions.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> ids;
  std::set<uint64_t> listed;
  for (const auto& [partition_id, conf_state] : partitions) {
    if (partitions_.contains(partition_id) || !listed.insert(partition_id).second) {
      return absl::AlreadyExistsError(absl::StrCat("partition ", partition_id, " already exists"));
    }
    ids.push_back(partition_id);
  }
  if (partitions_.size() + ids.size() > options_.max_partitions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot create ", ids.size() == 1 ? "partition " : "partitions from ", ids.front(),
        ": this node hosts ", partitions_.size(), " partitions; the limit is ", options_.max_partitions));
  }
  std::vector<std::pair<uint64_t, uint64_t>> generations;
  for (uint64_t partition_id : ids) generations.emplace_back(partition_id, next_generation_++);
  // Under mu_, so no one creates these partitions meanwhile; only bootstrap
  // and new replicas get here.
  absl::StatusOr<std::vector<std::shared_ptr<const PartitionCf>>> cfs = NewCfs(generations);
  if (!cfs.ok()) return cfs.status();
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < ids.size(); ++i) {
    const PartitionCf& cf = *(*cfs)[i];
    auto active_key = keys::ActiveCfKey(ids[i]);
    RKV_CHECK_OK(FromRocks(
        batch.Put(registry_cf_, ToSlice(active_key.view()), EncodeGeneration(cf.generation)), "batching"));
    RKV_CHECK_OK(FromRocks(batch.Put(cf.handle, ToSlice(keys::kConfStateKey),
                                     EncodeConfStateRecord(partitions[i].second)),
                           "batching"));
  }
  if (absl::Status s = Write(&batch, /*sync=*/true,
                             ids.size() == 1 ? absl::StrCat("creating partition ", ids.front())
                                             : absl::StrCat("creating ", ids.size(), " partitions"));
      !s.ok()) {
    for (const auto& cf : *cfs) DropCf(cf);
    return s;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    partitions_[ids[i]] = Slot{.active = std::move((*cfs)[i]), .pending = nullptr, .pending_index = 0};
  }
  return absl::OkStatus();
}

absl::Status Engine::DropPartition(uint64_t partition_id) {
  absl::MutexLock lock(&mu_);
  auto found = partitions_.find(partition_id);
  if (found == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("partition ", partition_id, " does not exist"));
  }
  rocksdb::WriteBatch batch;
  auto active_key = keys::ActiveCfKey(partition_id);
  auto pending_key = keys::PendingCfKey(partition_id);
  auto log_begin = keys::PartitionLogBegin(partition_id);
  auto log_end = keys::PartitionLogEnd(partition_id);
  RKV_CHECK_OK(FromRocks(batch.Delete(registry_cf_, ToSlice(active_key.view())), "batching"));
  RKV_CHECK_OK(FromRocks(batch.Delete(registry_cf_, ToSlice(pending_key.view())), "batching"));
  RKV_CHECK_OK(
      FromRocks(batch.DeleteRange(raft_cf_, ToSlice(log_begin.view()), ToSlice(log_end.view())), "batching"));
  if (absl::Status s = Write(&batch, /*sync=*/true,
                             absl::StrCat("dropping partition ", partition_id));
      !s.ok()) {
    return s;
  }
  DropCf(found->second.active);
  if (found->second.pending != nullptr) DropCf(found->second.pending);
  partitions_.erase(found);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const PartitionCf>> Engine::ActiveCf(uint64_t partition_id) const {
  absl::MutexLock lock(&mu_);
  auto found = partitions_.find(partition_id);
  if (found == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("partition ", partition_id, " does not exist"));
  }
  return found->second.active;
}

absl::StatusOr<std::shared_ptr<const PartitionCf>> Engine::NewestCf(uint64_t partition_id) const {
  absl::MutexLock lock(&mu_);
  auto found = partitions_.find(partition_id);
  if (found == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("partition ", partition_id, " does not exist"));
  }
  return found->second.pending != nullptr ? found->second.pending : found->second.active;
}

std::optional<uint64_t> Engine::PendingSnapshotIndex(uint64_t partition_id) const {
  absl::MutexLock lock(&mu_);
  auto found = partitions_.find(partition_id);
  if (found == partitions_.end() || found->second.pending == nullptr) return std::nullopt;
  return found->second.pending_index;
}

absl::Status Engine::Write(rocksdb::WriteBatch* batch, bool sync, absl::string_view what) {
  // A synced write is an unsynced write followed by SyncWAL, not
  // WriteOptions::sync: RocksDB's write queue holds every later writer (the
  // apply worker's state-machine writes) behind a sync write until its
  // fdatasync returns, whereas SyncWAL syncs outside the queue. The caller
  // still returns only once the batch is durable; that the batch is readable
  // a moment earlier is harmless, because only the driver reads the log and
  // it acts on its own writes after this returns.
  if (absl::Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), batch), what);
      !s.ok() || !sync) {
    return s;
  }
  synced_writes_.fetch_add(1);
  const rocksdb::Status synced = db_->SyncWAL();
  // The message is built only on failure: this runs once per group commit.
  if (!synced.ok()) return FromRocks(synced, absl::StrCat(what, " (syncing the WAL)"));
  return absl::OkStatus();
}

absl::Status Engine::WriteUnlogged(rocksdb::WriteBatch* batch, absl::string_view what) {
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  return FromRocks(db_->Write(options, batch), what);
}

absl::Status Engine::Flush(const PartitionCf& cf, bool wait) {
  rocksdb::FlushOptions options;
  options.wait = wait;
  // Never wait for a write stall to clear: the flush is what clears it.
  options.allow_write_stall = true;
  return FromRocks(db_->Flush(options, cf.handle),
                   absl::StrCat("flushing the state machine of partition ", cf.partition_id));
}

absl::Status Engine::WriteWithSwitches(rocksdb::WriteBatch* batch,
                                       const std::vector<PendingSwitch>& switches) {
  if (switches.empty()) return Write(batch, /*sync=*/true, "committing a log batch");
  absl::MutexLock lock(&mu_);
  for (const PendingSwitch& pending : switches) {
    uint64_t partition_id = pending.cf->partition_id;
    if (!partitions_.contains(partition_id)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot install a snapshot into partition ", partition_id, ": it was dropped"));
    }
    auto key = keys::PendingCfKey(partition_id);
    RKV_CHECK_OK(FromRocks(
        batch->Put(registry_cf_, ToSlice(key.view()),
                   EncodePending(pending.cf->generation, pending.snapshot_index)),
        "batching"));
  }
  if (absl::Status s = Write(batch, /*sync=*/true, "committing a log batch with a snapshot");
      !s.ok()) {
    return s;
  }
  for (const PendingSwitch& pending : switches) {
    Slot& slot = partitions_[pending.cf->partition_id];
    if (slot.pending != nullptr) DropCf(slot.pending);
    slot.pending = pending.cf;
    slot.pending_index = pending.snapshot_index;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Engine::MaybeActivatePending(uint64_t partition_id,
                                                  uint64_t applied_index) {
  absl::MutexLock lock(&mu_);
  auto found = partitions_.find(partition_id);
  if (found == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("partition ", partition_id, " does not exist"));
  }
  bool activated = false;
  if (absl::Status s = ActivateLocked(partition_id, &found->second, applied_index, &activated);
      !s.ok()) {
    return s;
  }
  return activated;
}

absl::Status Engine::ActivateLocked(uint64_t partition_id, Slot* slot, uint64_t applied_index,
                                    bool* activated) {
  *activated = false;
  if (slot->pending == nullptr) return absl::OkStatus();
  // Equal: the same state (Raft state-machine safety); switching is harmless.
  bool take = slot->pending_index >= applied_index;
  if (!take) {
    // The raft log already starts after the snapshot (LogBatch), so the state
    // kept must never fall back below it, but its latest applied index may be
    // in memtables only (WriteUnlogged): make it durable before the pending
    // generation, the other way back, is forgotten.
    if (absl::Status s = Flush(*slot->active, /*wait=*/true); !s.ok()) return s;
  }
  rocksdb::WriteBatch batch;
  auto active_key = keys::ActiveCfKey(partition_id);
  auto pending_key = keys::PendingCfKey(partition_id);
  if (take) {
    RKV_CHECK_OK(FromRocks(
        batch.Put(registry_cf_, ToSlice(active_key.view()), EncodeGeneration(slot->pending->generation)),
        "batching"));
  }
  RKV_CHECK_OK(FromRocks(batch.Delete(registry_cf_, ToSlice(pending_key.view())), "batching"));
  if (absl::Status s = Write(&batch, /*sync=*/true,
                             absl::StrCat("activating the snapshot of partition ", partition_id));
      !s.ok()) {
    return s;
  }
  if (take) {
    DropCf(slot->active);
    slot->active = std::move(slot->pending);
    *activated = true;
  } else {
    DropCf(slot->pending);
  }
  slot->pending = nullptr;
  slot->pending_index = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const PartitionCf>> Engine::CreateStagingCf(
    uint64_t partition_id) {
  absl::MutexLock lock(&spare_mu_);
  if (spares_.empty()) {
    if (absl::Status s = AddSpares(); !s.ok()) return s;
  }
  const auto [generation, handle] = spares_.front();
  spares_.pop_front();
  return Share(partition_id, generation, handle);
}

absl::Status Engine::AddSpares() {
  std::vector<uint64_t> generations;
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < kSpareBatch; ++i) {
      generations.push_back(next_generation_++);
      names.push_back(keys::SpareCfName(generations.back()));
    }
  }
  // Without mu_, which a group commit installing a snapshot and the apply
  // thread activating one need: with thousands of partitions this takes most
  // of a second, for the whole batch (DropCf says why).
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles = CreateCfsTogether(names);
  if (!handles.ok()) return handles.status();
  for (size_t i = 0; i < handles->size(); ++i) spares_.emplace_back(generations[i], (*handles)[i]);
  return absl::OkStatus();
}

void Engine::DiscardStagingCf(const std::shared_ptr<const PartitionCf>& cf) { DropCf(cf); }

void Engine::DropCf(const std::shared_ptr<const PartitionCf>& cf) {
  absl::MutexLock lock(&drop_mu_);
  outstanding_drops_.fetch_add(1);
  drops_.push_back(cf);
}

void Engine::RunDropper() {
  pthread_setname_np(pthread_self(), "rkv-cf-drop");
  while (true) {
    std::vector<std::shared_ptr<const PartitionCf>> cfs;
    {
      absl::MutexLock lock(&drop_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(drop_mu_) { return stop_dropping_ || !drops_.empty(); };
      drop_mu_.Await(absl::Condition(&ready));
      // Stopping drains the queue first: a clean shutdown leaves no orphans.
      if (drops_.empty()) return;
      // Drops come in bursts (a node catching up by snapshots, replicas
      // removed together): linger so that a burst becomes one call, which
      // holds writes back once instead of once per column family. Only a
      // background cleanup waits; a wall-clock step can lengthen the wait,
      // and stopping ends it.
      drop_mu_.AwaitWithTimeout(absl::Condition(&stop_dropping_), kDropLinger);
      cfs.assign(std::make_move_iterator(drops_.begin()), std::make_move_iterator(drops_.end()));
      drops_.clear();
    }
    // The switches or removals that retired these column families are
    // already durable; if a drop fails (or never runs, after a crash) the
    // column family is an orphan, dropped by the next Open.
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    for (const auto& cf : cfs) handles.push_back(cf->handle);
    DropTogether(handles);
    outstanding_drops_.fetch_sub(handles.size());
  }
}

void Engine::StopDropper() {
  {
    absl::MutexLock lock(&drop_mu_);
    stop_dropping_ = true;
  }
  dropper_.join();
}

}  // namespace rkv::storage
