// Cluster: the simulated Raft group: its nodes, the network between them, the
// invariant checker watching them, and logical time. It offers the primitives
// a Simulation composes (tick, pump messages and Readies, crash, restart,
// propose, read, change membership) and keeps the group's membership in step
// with what is committed:
//
//   - the initial members persist raft::Bootstrap's state before starting;
//   - a node id that a committed (applied) membership change adds gets a new
//     node with an empty MemoryLog and no membership; it learns everything
//     from the leader, starting with a snapshot;
//   - a node that a committed change removes entirely is stopped for good,
//     once every remaining member has applied that change (as an operator
//     waits before shutting a removed server down: until then the remaining
//     members may still need it to learn that the change committed). Ids are
//     never reused.
//
// Transport feedback follows a real transport: a delivered snapshot is
// reported to the sender with RawNode::ReportSnapshot(true), a lost one with
// false, and an append lost on a cut link with ReportUnreachable.
//
// Not thread-safe; owned by a Simulation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "raft/config.h"
#include "raft/types.h"
#include "tests/raft/sim/event_log.h"
#include "tests/raft/sim/invariants.h"
#include "tests/raft/sim/network.h"
#include "tests/raft/sim/node.h"
#include "tests/raft/sim/sim_random.h"

namespace rkv::raft::sim {

struct ClusterOptions {
  size_t initial_nodes = 3;
  // Seeds every node's election-timeout generator.
  uint64_t seed = 1;
  // The template of every node's Config; id and applied are filled in.
  Config raft;
  SnapshotPolicy snapshots;
  // Model the read leases rkvd's driver keeps (server/read_lease.h) and check
  // that no other node becomes leader while one holds. REQUIRES: raft has
  // check_quorum and ignore_votes_at_start, and nobody calls Campaign().
  bool read_leases = false;
  // Leaders send appends and heartbeats before persisting, as rkvd's driver
  // does (SimNode::set_leader_traffic_before_persist).
  bool leader_traffic_before_persist = false;
};

struct ClusterStats {
  uint64_t messages_sent = 0;
  uint64_t messages_lost = 0;
  uint64_t snapshots_delivered = 0;
  uint64_t step_errors = 0;  // messages the core refused
  uint64_t reads_completed = 0;
  uint64_t reads_answered_under_lease = 0;  // followers' reads a leader answered without a round
  uint64_t nodes_added = 0;
  uint64_t nodes_removed = 0;
};

class Cluster final {
 public:
  // Rounds of "handle every Ready, deliver every due message" per tick; what
  // is left waits for the next tick (STYLE §1.6: every loop has a bound).
  static constexpr int kMaxRoundsPerTick = 32;
  // A healthy group sends tens of messages per tick. It sends thousands while
  // a follower catches up over a reordering network with small messages and a
  // wide in-flight window (pipelining goes back to the first gap each time:
  // seeds 94610 and 22550), but then replicas apply entries. Far more than
  // this with no replica applying anything means replicas feed each other's
  // messages without end (a livelock), reported as a failure rather than
  // left to run for ever.
  static constexpr uint64_t kMaxMessagesPerTick = 20'000;

  // `random` and `events` must outlive the cluster.
  Cluster(const ClusterOptions& options, SimRandom* random, EventLog* events);
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Bootstraps nodes 1..initial_nodes as the voters of a new group and starts them.
  absl::Status Start();

  uint64_t now() const { return now_; }
  // Ticks every node that is up.
  void Tick();
  // Handles Readies and delivers due messages until nothing is left to do or
  // kMaxRoundsPerTick rounds passed. Returns the first violation found.
  absl::Status Pump();
  // Checks election safety on every node that is up, stops removed nodes
  // that are no longer needed, then advances time.
  absl::Status EndTick();

  // Crashes a node that is up. Without a crash point it crashes now, between
  // driver iterations. With one, it crashes part-way through the next Ready
  // it handles in this tick's Pump, at that point; if it has no Ready before
  // the tick ends, it crashes at EndTick.
  void Crash(NodeId id, std::optional<CrashPoint> crash);
  // Restarts a crashed node from its persisted state.
  absl::Status Restart(NodeId id);

  // Workload. Each returns the core's answer (which may be a refusal) or a
  // violation found while handling it.
  absl::Status Propose(NodeId id, std::vector<std::string> data);
  absl::Status ProposeConfChange(NodeId id, const ConfChange& change);
  // Starts a read whose answer must reflect every entry committed by now.
  void ReadIndex(NodeId id, std::string context);
  bool ReadCompleted(const std::string& context) const {
    return completed_reads_.count(context) > 0;
  }

  Network& network() { return network_; }
  const Invariants& invariants() const { return invariants_; }
  const ClusterStats& stats() const { return stats_; }

  // The node with this id. REQUIRES: it was created and never removed.
  SimNode& node(NodeId id) const;
  bool IsUp(NodeId id) const;
  bool IsRemoved(NodeId id) const { return removed_.count(id) > 0; }
  // Members of the latest committed membership that have been created,
  // ascending.
  std::vector<NodeId> Members() const;
  std::vector<NodeId> UpMembers() const;
  // Nodes that are down and not removed for good (members, and removed nodes
  // that are not yet stopped), ascending.
  std::vector<NodeId> CrashedNodes() const;
  // Nodes that are up and believe they lead (more than one across terms is
  // allowed), ascending.
  std::vector<NodeId> Leaders() const;
  // The membership as of the highest index any node applied.
  const ConfState& latest_conf() const { return latest_conf_; }
  // Nodes that persisted a vote for another node in the last tick: crashing
  // them now tests that a vote survives a restart (§5.2: one vote per term).
  const std::vector<NodeId>& recent_voters() const { return recent_voters_; }
  // Nodes that answered a leader's lease round in the last tick: crashing
  // them now tests that their promise to ignore rivals survives a restart.
  const std::vector<NodeId>& recent_lease_ackers() const { return recent_lease_ackers_; }
  // A node id never used before.
  NodeId AllocateNodeId() { return next_node_id_++; }

  // Pairwise comparison of every member's whole log.
  absl::Status CheckLogsMatch() const;
  std::string Describe() const;

 private:
  // A node configured from options_, not yet started.
  std::unique_ptr<SimNode> NewNode(NodeId id);
  absl::Status HandleReady(SimNode& node, std::optional<CrashPoint> crash);
  absl::Status Deliver(Envelope& envelope);
  void Lose(const Envelope& envelope);
  absl::Status UpdateMembership(uint64_t index, const ConfState& conf);
  void MaybeStopRemovedNodes();
  // The sum of every running node's applied index: it grows while the group
  // makes progress.
  uint64_t TotalApplied() const;
  absl::Status CheckRead(NodeId id, const ReadState& read);
  SimNode* FindLive(NodeId id, uint64_t incarnation) const;
  // Read leases, as the driver keeps them: revoked before a Ready's messages
  // leave when the node stops leading, changes term or applies a membership
  // change, and for the rest of the term when it sends a TimeoutNow; extended
  // when a round started since confirms.
  void UpdateLease(SimNode& node);
  absl::Status CheckLeases() const;
  // Whether node leads under a lease that covers now (the driver's check).
  bool HoldsLease(const SimNode& node) const;

  struct LeaseRound {
    NodeId node = kNoNode;
    uint64_t term = 0;
    uint64_t epoch = 0;
    uint64_t started = 0;
  };
  struct Lease {
    uint64_t incarnation = 0;
    uint64_t term = 0;
    uint64_t epoch = 0;  // counts revocations
    uint64_t expiry = 0;  // the first tick it no longer covers
    uint64_t forbidden_term = 0;  // a TimeoutNow went out in it
  };

  struct PendingRead {
    NodeId node = kNoNode;
    // The highest index known committed when the read was asked: the answer
    // must not be below it (linearizability, thesis §6.4).
    uint64_t min_index = 0;
  };

  ClusterOptions options_;
  SimRandom* random_;
  EventLog* events_;
  uint64_t now_ = 0;
  Network network_;
  Invariants invariants_;
  std::map<NodeId, std::unique_ptr<SimNode>> nodes_;
  std::set<NodeId> removed_;
  // Nodes the latest membership excludes, not yet stopped -> the index of
  // the change that excluded them.
  std::map<NodeId, uint64_t> leaving_;
  NodeId next_node_id_;
  ConfState latest_conf_;
  uint64_t latest_conf_index_ = 0;
  std::map<std::string, PendingRead> pending_reads_;
  std::set<std::string> completed_reads_;
  std::map<std::string, LeaseRound> lease_rounds_;
  std::map<NodeId, Lease> leases_;
  ClusterStats stats_;
  uint64_t messages_sent_at_tick_start_ = 0;
  uint64_t applied_at_tick_start_ = 0;
  // Crashes that strike within the next Ready of the node this tick.
  std::map<NodeId, CrashPoint> pending_crashes_;
  std::vector<NodeId> voters_this_tick_;
  std::vector<NodeId> recent_voters_;
  std::vector<NodeId> lease_ackers_this_tick_;
  std::vector<NodeId> recent_lease_ackers_;
  // Reused across rounds to avoid reallocating.
  ReadyOutput output_;
  std::vector<Envelope> due_;
};

// Every node id in `conf`, ascending and without duplicates.
std::vector<NodeId> MemberIds(const ConfState& conf);

}  // namespace rkv::raft::sim
