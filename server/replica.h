// Replica: one partition hosted on this node: its RawNode, its raft log store,
// its state machine, and the client requests waiting on it. The driver thread
// owns everything here except the state machine (shared with the apply worker
// and readers, see storage/state_machine.h), ReplicaInfo (atomics that
// services read from any thread) and the read lease's Covers().
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/raw_node.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/read_lease.h"
#include "server/requests.h"
#include "storage/raft_log_store.h"
#include "storage/snapshot.h"
#include "storage/state_machine.h"

namespace rkv::server {

// Published by the driver after every iteration; read by services.
struct ReplicaInfo {
  std::atomic<uint64_t> leader{0};
  std::atomic<uint64_t> term{0};
  std::atomic<uint64_t> commit{0};
  std::atomic<bool> is_leader{false};
};

class Replica final {
 public:
  Replica(uint64_t partition_id, std::unique_ptr<storage::RaftLogStore> log_store,
          std::shared_ptr<storage::StateMachine> state_machine,
          std::unique_ptr<RaftLogger> logger, PartitionMetrics* metrics, int64_t read_lease_ns)
      : partition_id_(partition_id),
        log_store_(std::move(log_store)),
        state_machine_(std::move(state_machine)),
        logger_(std::move(logger)),
        metrics_(metrics),
        lease_(read_lease_ns) {}
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Creates the RawNode over the log store. REQUIRES: called once, before use.
  absl::Status StartRaft(raft::Config config);

  uint64_t partition_id() const { return partition_id_; }
  raft::RawNode& raw() { return *raw_; }
  storage::RaftLogStore& log_store() { return *log_store_; }
  const std::shared_ptr<storage::StateMachine>& state_machine() const { return state_machine_; }
  ReplicaInfo& info() { return info_; }
  const ReplicaInfo& info() const { return info_; }
  // The leader's read lease; Covers() from any thread, the rest driver only.
  ReadLease& lease() { return lease_; }
  // nullptr when metrics are off.
  PartitionMetrics* metrics() const { return metrics_; }

  // Proposals in the log, by index, waiting for their entry to commit.
  std::map<uint64_t, PendingProposal>& proposals() { return proposals_; }
  // Reads waiting for the next ReadIndex request, and reads whose ReadIndex
  // request (by context) is in flight.
  std::vector<PendingRead>& reads_to_request() { return reads_to_request_; }
  std::map<std::string, std::vector<PendingRead>>& reads_in_flight() { return reads_in_flight_; }
  // Whether the driver listed this replica to check for a Ready this pass.
  bool touched() const { return touched_; }
  void set_touched(bool touched) { touched_ = touched; }
  // The driver tick at which the latest ReadIndex request went out.
  uint64_t read_requested_tick() const { return read_requested_tick_; }
  void set_read_requested_tick(uint64_t tick) { read_requested_tick_ = tick; }

  // A received snapshot waiting for raft to accept it (at most one: a newer
  // one replaces it).
  std::unique_ptr<storage::StagedSnapshot>& staged_snapshot() { return staged_snapshot_; }

  // The membership as of applied indexes, for log compaction; the apply
  // worker reports changes through the driver.
  std::map<uint64_t, raft::ConfState>& conf_history() { return conf_history_; }
  uint64_t applied_index() const { return applied_index_; }
  void set_applied_index(uint64_t index) { applied_index_ = index; }
  // The applied index at which log compaction last asked for the state
  // machine to be flushed.
  uint64_t flush_requested_at() const { return flush_requested_at_; }
  void set_flush_requested_at(uint64_t index) { flush_requested_at_ = index; }

 private:
  const uint64_t partition_id_;
  std::unique_ptr<storage::RaftLogStore> log_store_;
  std::shared_ptr<storage::StateMachine> state_machine_;
  std::unique_ptr<RaftLogger> logger_;
  PartitionMetrics* const metrics_;
  std::unique_ptr<raft::RawNode> raw_;
  ReplicaInfo info_;
  ReadLease lease_;

  std::map<uint64_t, PendingProposal> proposals_;
  std::vector<PendingRead> reads_to_request_;
  std::map<std::string, std::vector<PendingRead>> reads_in_flight_;
  uint64_t read_requested_tick_ = 0;
  bool touched_ = false;
  std::unique_ptr<storage::StagedSnapshot> staged_snapshot_;
  std::map<uint64_t, raft::ConfState> conf_history_;
  uint64_t applied_index_ = 0;
  uint64_t flush_requested_at_ = 0;
};

}  // namespace rkv::server
