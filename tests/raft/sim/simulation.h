// Simulation: one seeded run of a Raft group under faults, and the check that
// it stays safe and live. A run has two phases:
//
//   1. Fault phase, `steps` ticks. Each tick may inject faults (partitions and
//      heals, crashes at any point of a driver iteration, restarts) and
//      workload (proposals and batches, ReadIndex, leader transfers, forced
//      campaigns, membership changes: learners, promotions, removals, joint
//      changes), then ticks every node and pumps messages and Readies. The
//      network drops, delays, duplicates and reorders throughout.
//   2. Liveness phase. Every link heals, the network turns reliable, crashed
//      members restart. Within kLivenessElectionTimeouts election timeouts a
//      leader must commit a new entry, then a ReadIndex must complete, then
//      every member must apply the new entry.
//
// Safety is checked after every step (see Invariants); the whole logs are
// compared at the end. The per-seed profile (timeouts, pre-vote and
// check-quorum, flow-control limits, snapshot policy, fault and workload
// rates) is itself drawn from the seed, so seeds explore different regimes.
//
// A run is a pure function of its options. When one fails, Run() runs the
// seed again with event recording on, so LastEvents() shows what led up to
// the failure at no cost to passing runs.
//
// Not thread-safe; one Simulation per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "tests/raft/sim/cluster.h"
#include "tests/raft/sim/event_log.h"
#include "tests/raft/sim/sim_random.h"

namespace rkv::raft::sim {

struct SimulationOptions {
  uint64_t seed = 1;
  size_t nodes = 3;
  uint64_t steps = 1000;
  // Lines of events kept for LastEvents().
  size_t event_capacity = 200;
  // SnapshotPolicy::on_membership_change for every node. Off, nodes snapshot
  // only periodically and when a node joins, as the Ready contract allows.
  bool snapshot_on_membership_change = false;
  // Whether membership changes may remove or demote the leader that proposes
  // them. Off, the workload acts as an operator who transfers leadership away
  // first.
  bool remove_leader = true;
};

// What a run did, for summaries.
struct RunStats {
  uint64_t ticks = 0;
  uint64_t committed_index = 0;
  uint64_t leader_terms = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t proposals_accepted = 0;
  uint64_t membership_changes_accepted = 0;
  ClusterStats cluster;
};

class Simulation final {
 public:
  // Within this many election timeouts of the faults healing, the group must
  // elect a leader and commit an entry; the same again for the read and for
  // every member to catch up.
  static constexpr uint64_t kLivenessElectionTimeouts = 20;

  explicit Simulation(const SimulationOptions& options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Runs both phases. Returns OK, or the first violation (INTERNAL) or
  // liveness failure (DEADLINE_EXCEEDED), its message ending with the seed,
  // the profile, the cluster's state and the command that replays it.
  absl::Status Run();

  // The last `count` events before the failure (recorded only on the replay
  // of a failed run).
  std::string LastEvents(size_t count) const;
  // "build/bin/raft_sim --nodes 3 --steps 1000 --seed 42".
  std::string ReplayCommand() const;
  const RunStats& stats() const { return stats_; }

 private:
  struct Profile;

  absl::Status RunOnce(bool record_events);
  absl::Status RunFaultPhase();
  absl::Status RunLivenessPhase();
  absl::Status Step();
  absl::Status InjectFaults();
  absl::Status IssueWorkload();
  void Partition();
  void CrashSome();
  absl::Status ProposeSome();
  absl::Status ChangeMembership();
  // Runs ticks until done() or `ticks` pass; false on timeout.
  template <typename Done>
  absl::StatusOr<bool> RunUntil(uint64_t ticks, Done done);
  NodeId PickLeaderOrAny();
  std::string DescribeProfile() const;

  SimulationOptions options_;
  std::unique_ptr<Profile> profile_;
  std::unique_ptr<SimRandom> random_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<Cluster> cluster_;
  // Crashed node -> the tick it restarts at.
  std::map<NodeId, uint64_t> restart_at_;
  uint64_t next_payload_ = 0;
  uint64_t next_read_ = 0;
  RunStats stats_;
};

}  // namespace rkv::raft::sim
