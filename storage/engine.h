// Engine: the node's one RocksDB. Owns the database, its shared block cache and
// write-buffer manager, the `raft` column family (every partition's log), and
// the registry (in the `default` column family) that says which column family
// holds each partition's state machine. Does not interpret logs or state
// machines: RaftLogStore, LogBatch, StateMachine and the snapshot classes do.
//
// Partition column families are named sm-<partition>-<generation>. A snapshot
// install creates a fresh generation and switches to it in two durable steps:
//   1. LogBatch::Commit records "partition P: pending generation G at snapshot
//      index S" in the same synced write as the raft log's snapshot metadata.
//   2. StateMachine::MaybeActivateSnapshot (in apply order) records "P: active
//      G" with a synced write and drops the old column family.
// Open() finishes a step 2 that a crash interrupted and drops every column
// family the registry does not name (staged but never committed, or replaced).
//
// Thread-safe. Every object that holds a PartitionCf (StateMachine,
// SnapshotReader, StagedSnapshot) must be destroyed before the Engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "raft/types.h"
#include "storage/engine_options.h"
#include "storage/row_cache.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
struct Options;
}  // namespace rocksdb

namespace rkv::storage {

struct SharedResources;

// One state-machine column family. Shared: a reader (a snapshot being
// streamed) keeps it readable after a switch or a drop; the handle is released
// with the last reference.
struct PartitionCf {
  uint64_t partition_id = 0;
  uint64_t generation = 0;
  rocksdb::ColumnFamilyHandle* handle = nullptr;
};

// A staged generation to record as pending for its partition.
struct PendingSwitch {
  std::shared_ptr<const PartitionCf> cf;
  uint64_t snapshot_index = 0;
};

class Engine final {
 public:
  // Opens (creating if needed) the database under options.dir, finishes any
  // interrupted snapshot switch and drops orphan column families. Returns
  // INVALID_ARGUMENT for bad options, DATA_LOSS when the registry names a
  // column family that does not exist, or RocksDB's error.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The partitions with a state machine on this node, in increasing order.
  std::vector<uint64_t> PartitionIds() const;
  bool HasPartition(uint64_t partition_id) const;

  // Creates a partition replica: a state-machine column family holding
  // conf_state (applied index 0) and its registry entry, with one synced
  // write. A new group's bootstrap membership goes here; a replica that will
  // receive a snapshot passes an empty ConfState. Returns ALREADY_EXISTS, or
  // RESOURCE_EXHAUSTED past EngineOptions::max_partitions.
  absl::Status CreatePartition(uint64_t partition_id, const raft::ConfState& conf_state);
  // The same for many partitions at once, all or none: one column-family
  // creation and one synced write. RocksDB rewrites its OPTIONS file, which
  // lists every column family, each time it creates column families, so
  // creating them one at a time costs time quadratic in the partitions
  // (1,024 took about 100 s to bootstrap; 4,096 would write 70 GB).
  absl::Status CreatePartitions(const std::vector<std::pair<uint64_t, raft::ConfState>>& partitions);

  // Removes a partition replica: its registry entry and its whole raft log
  // (entries, hard state, snapshot metadata) in one synced write, then drops
  // its column families. REQUIRES: its RaftLogStore and StateMachine are no
  // longer used. Returns NOT_FOUND for an unknown partition.
  absl::Status DropPartition(uint64_t partition_id);

  // The column family the partition's state machine uses now. NOT_FOUND for an
  // unknown partition.
  absl::StatusOr<std::shared_ptr<const PartitionCf>> ActiveCf(uint64_t partition_id) const;
  // The pending generation if a snapshot install awaits activation, else the
  // active one: the state the raft log's snapshot metadata refers to.
  absl::StatusOr<std::shared_ptr<const PartitionCf>> NewestCf(uint64_t partition_id) const;
  // The snapshot index of the pending generation, if any.
  std::optional<uint64_t> PendingSnapshotIndex(uint64_t partition_id) const;

  // Writes batch atomically; with sync, durably (fdatasync of the WAL) before
  // returning. `what` names the write in errors. An error of a synced write is
  // fatal for the node: the caller must not retry it (fsync semantics).
  absl::Status Write(rocksdb::WriteBatch* batch, bool sync, absl::string_view what);

  // Writes batch to the memtables only, with no WAL record: it becomes
  // durable when its column family is flushed, and a crash before that loses
  // it whole. For state-machine batches, which the raft log can replay
  // (StateMachine::Apply). REQUIRES: batch writes one column family (a flush
  // is per column family, so a crash could keep part of a batch spanning
  // several).
  absl::Status WriteUnlogged(rocksdb::WriteBatch* batch, absl::string_view what);

  // Flushes cf's memtables to disk: afterwards what WriteUnlogged wrote there
  // is durable. With wait, returns once it is; without, only starts it.
  absl::Status Flush(const PartitionCf& cf, bool wait);
  // Memtable flushes completed so far, of any column family. What is durable
  // changes only when this does, so a caller tracking a durable position
  // re-reads it only then.
  uint64_t flush_count() const { return flushes_->load(); }

  // Writes batch with one synced write that also records each switch as its
  // partition's pending generation (replacing and dropping an earlier pending
  // one). Returns FAILED_PRECONDITION, writing nothing, if a switch's
  // partition no longer exists.
  absl::Status WriteWithSwitches(rocksdb::WriteBatch* batch,
                                 const std::vector<PendingSwitch>& switches);

  // If the partition has a pending generation, makes it active with a synced
  // write and drops the old column family; returns whether it did. A pending
  // generation whose snapshot index is below applied_index is discarded
  // instead (it would take the state machine back). NOT_FOUND for an unknown
  // partition.
  absl::StatusOr<bool> MaybeActivatePending(uint64_t partition_id, uint64_t applied_index);

  // A fresh, unregistered column family for a snapshot being received: a
  // spare, made kSpareBatch at a time (see spares_).
  absl::StatusOr<std::shared_ptr<const PartitionCf>> CreateStagingCf(uint64_t partition_id);
  // Drops a staging column family that will not be committed.
  void DiscardStagingCf(const std::shared_ptr<const PartitionCf>& cf);

  rocksdb::DB* db() const { return db_; }
  // Records of recently read keys, in the block cache (storage/row_cache.h).
  RowCache& row_cache() const { return *rows_; }
  rocksdb::ColumnFamilyHandle* raft_cf() const { return raft_cf_; }
  rocksdb::ColumnFamilyHandle* registry_cf() const { return registry_cf_; }
  // Where SnapshotReceiver writes SST files (same filesystem as the database,
  // so ingestion moves them instead of copying).
  const std::string& staging_dir() const { return staging_dir_; }
  // A number unique within this Engine, to name staging files.
  uint64_t NewStagingId() { return next_staging_id_.fetch_add(1); }
  // Options of partition column families, for SstFileWriter.
  const rocksdb::Options& partition_options() const { return *partition_options_; }
  const EngineOptions& options() const { return options_; }

  // Synced writes made so far (each is one WAL fdatasync).
  uint64_t synced_write_count() const { return synced_writes_.load(); }
  // Column-family drops that failed after their switch was durable; the
  // column families are orphans that the next Open drops.
  uint64_t failed_drop_count() const { return failed_drops_.load(); }
  // Column families handed to the dropper thread and not yet dropped.
  uint64_t outstanding_drop_count() const { return outstanding_drops_.load(); }

 private:
  struct Slot {
    std::shared_ptr<const PartitionCf> active;
    std::shared_ptr<const PartitionCf> pending;
    uint64_t pending_index = 0;
  };

  struct RegistryRecord {
    std::optional<uint64_t> active;
    std::optional<uint64_t> pending;
    uint64_t pending_index = 0;
  };

  explicit Engine(const EngineOptions& options);
  absl::Status OpenDatabase();
  absl::StatusOr<std::map<uint64_t, RegistryRecord>> ReadRegistry() const;
  // Loads the registry, finishes interrupted switches, drops orphans.
  absl::Status LoadRegistry();
  // Takes the column family of a registry entry out of unclaimed_.
  absl::StatusOr<std::shared_ptr<const PartitionCf>> Claim(uint64_t partition_id,
                                                           uint64_t generation,
                                                           absl::string_view role)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropOrphans() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const PartitionCf> Share(uint64_t partition_id, uint64_t generation,
                                           rocksdb::ColumnFamilyHandle* handle);
  // Creates the column families of (partition, generation) pairs together,
  // all or none. It rewrites RocksDB's OPTIONS file (see DropCf), so callers
  // other than bootstrap reserve generations under mu_ and call it without.
  // Creates partition column families named names in one RocksDB call (one
  // OPTIONS rewrite, see DropCf), all or none.
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> CreateCfsTogether(
      const std::vector<std::string>& names);
  absl::StatusOr<std::vector<std::shared_ptr<const PartitionCf>>> NewCfs(
      const std::vector<std::pair<uint64_t, uint64_t>>& generations);
  // Creates kSpareBatch spare column families in one RocksDB call.
  absl::Status AddSpares() ABSL_EXCLUSIVE_LOCKS_REQUIRED(spare_mu_);
  absl::Status ActivateLocked(uint64_t partition_id, Slot* slot, uint64_t applied_index,
                              bool* activated) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands cf to the dropper thread. RocksDB rewrites its OPTIONS file, which
  // lists every column family, on each drop: with thousands of partitions
  // that takes most of a second, which the caller (the apply thread
  // activating a snapshot, for one) must not wait for.
  void DropCf(const std::shared_ptr<const PartitionCf>& cf);
  // Drops handles in one RocksDB call; false (every one counted as failed)
  // if it failed. The handles stay to be destroyed by the caller.
  bool DropTogether(const std::vector<rocksdb::ColumnFamilyHandle*>& handles);
  static constexpr absl::Duration kDropLinger = absl::Milliseconds(200);
  void RunDropper();
  void StopDropper();

  const EngineOptions options_;
  const std::string db_dir_;
  const std::string staging_dir_;
  std::unique_ptr<SharedResources> shared_;
  std::unique_ptr<RowCache> rows_;
  std::unique_ptr<rocksdb::Options> partition_options_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* registry_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* raft_cf_ = nullptr;
  // Column families that are neither ours nor orphans (left untouched).
  std::vector<rocksdb::ColumnFamilyHandle*> other_cfs_;
  // State-machine column families found at open and not yet claimed by the
  // registry, by generation (with their partition).
  std::map<uint64_t, std::pair<uint64_t, rocksdb::ColumnFamilyHandle*>> unclaimed_;
  // PartitionCf objects alive; must be 0 when the Engine is destroyed.
  std::atomic<int64_t> live_cfs_{0};
  std::atomic<uint64_t> failed_drops_{0};
  std::atomic<uint64_t> outstanding_drops_{0};
  // Staging column families are taken from spares made kSpareBatch at a
  // time: creating a column family rewrites RocksDB's OPTIONS file while
  // every write waits (DropCf), so a batch pays that once for kSpareBatch
  // snapshot installs. Spares left at a crash are orphans Open drops.
  static constexpr size_t kSpareBatch = 8;
  // The partition of a spare in unclaimed_: any may claim it.
  static constexpr uint64_t kSparePartition = ~uint64_t{0};
  absl::Mutex spare_mu_;
  std::deque<std::pair<uint64_t, rocksdb::ColumnFamilyHandle*>> spares_ ABSL_GUARDED_BY(spare_mu_);
  absl::Mutex drop_mu_;
  std::deque<std::shared_ptr<const PartitionCf>> drops_ ABSL_GUARDED_BY(drop_mu_);
  bool stop_dropping_ ABSL_GUARDED_BY(drop_mu_) = false;
  std::thread dropper_;
  std::atomic<uint64_t> synced_writes_{0};
  // Counted by a RocksDB listener, which may outlive the Engine briefly.
  std::shared_ptr<std::atomic<uint64_t>> flushes_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::atomic<uint64_t> next_staging_id_{1};

  mutable absl::Mutex mu_;
  std::map<uint64_t, Slot> partitions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace rkv::storage
