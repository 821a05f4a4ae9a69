// SimNode: one simulated replica: its persisted state (a raft::MemoryLog), its
// durable state machine, and, while it is up, its RawNode. HandleReady is the
// node's driver iteration and follows the contract in raft/ready.h exactly:
// persist (one synced write), then send, then apply, then Advance (a leader's
// appends and heartbeats may go first, see set_leader_traffic_before_persist).
//
// Crashes: Crash() drops the RawNode and with it everything not persisted
// through a Ready. HandleReady can also stop part-way at a CrashPoint, to model
// a process dying between the steps of the contract; the caller then calls
// Crash(). The MemoryLog and the state machine survive; Start() recreates the
// RawNode from them with Config::applied set to the state machine's applied
// index.
//
// Snapshots: after each Ready the node may record a snapshot of its state
// machine at its applied index and compact its log (SnapshotPolicy), so that
// lagging and new followers must be sent snapshots. It also records one right
// after applying a membership change that adds a node, because a node ignores
// a snapshot whose membership lacks it. A snapshot handed out in a Ready is
// installed into both the MemoryLog and the state machine.
//
// Not thread-safe; owned by a Cluster.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "raft/config.h"
#include "raft/memory_log.h"
#include "raft/raw_node.h"
#include "raft/types.h"
#include "tests/raft/sim/event_log.h"
#include "tests/raft/sim/invariants.h"
#include "tests/raft/sim/state_machine.h"

namespace rkv::raft::sim {

// Where in a driver iteration a crash strikes.
enum class CrashStage {
  kBeforePersist,  // the Ready is lost entirely
  kAfterPersist,   // persisted, but no message sent
  kAfterSend,      // sent, nothing applied
  kMidApply,       // some committed entries applied (each durably)
  kBeforeAdvance,  // everything done but Advance
};
const char* CrashStageName(CrashStage stage);

struct CrashPoint {
  CrashStage stage = CrashStage::kBeforePersist;
  // For kMidApply: how many committed entries are applied before the crash.
  size_t entries_applied = 0;
};

struct SnapshotPolicy {
  // Snapshot once this many entries were applied past the last snapshot.
  uint64_t every_entries = 10;
  // Entries kept below the snapshot index when compacting, so that a slightly
  // lagging follower still gets appends rather than a snapshot.
  uint64_t keep_entries = 0;
  // Also snapshot right after applying every membership change, so that the
  // held snapshot's membership is always the one at its index even when
  // MemoryLog::SetConfState rewrites it (see SimulationOptions).
  bool on_membership_change = false;
};

// What one Ready produced that the cluster acts on.
struct ReadyOutput {
  std::vector<Message> messages;
  std::vector<ReadState> read_states;
  // (index, membership after it) for each membership change applied.
  std::vector<std::pair<uint64_t, ConfState>> conf_changes;
  // A vote for another node was persisted.
  bool voted = false;

  void Clear() {
    messages.clear();
    read_states.clear();
    conf_changes.clear();
    voted = false;
  }
};

class SimNode final {
 public:
  // A node with an empty MemoryLog, not started. `config` is the template of
  // every incarnation's Config (id, applied and seed are filled in here).
  // `events` and `now` must outlive the node.
  SimNode(const Config& config, const SnapshotPolicy& policy, EventLog* events,
          const uint64_t* now);
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;

  NodeId id() const { return config_.id; }
  bool up() const { return raw_ != nullptr; }
  // REQUIRES: up().
  RawNode& raw() const { return *raw_; }
  const MemoryLog& log() const { return log_; }
  const SimStateMachine& state_machine() const { return state_machine_; }
  // Increments at every Start(); messages carry the incarnation that sent them.
  uint64_t incarnation() const { return incarnation_; }

  // Persists the bootstrap state of an initial member of a new group
  // (raft::Bootstrap), as a real deployment does before its first start.
  // REQUIRES: never started.
  void Bootstrap(const ConfState& conf);
  // Creates the RawNode from the persisted state. REQUIRES: !up().
  absl::Status Start(uint64_t seed);
  // Drops the RawNode and everything it had not handed out and had persisted.
  void Crash();

  // One driver iteration: TakeReady, persist, send, apply, Advance, then maybe
  // snapshot. Stops at `crash` if given. Returns a violation found by
  // `invariants`. REQUIRES: up() and raw().HasReady().
  absl::Status HandleReady(Invariants* invariants, ReadyOutput* out,
                           std::optional<CrashPoint> crash = std::nullopt);
  // Send a leader's appends and heartbeats before persisting, as rkvd's
  // driver does (raft/ready.h allows it), so a crash before the sync can
  // leave followers with entries the leader lost.
  void set_leader_traffic_before_persist(bool on) { leader_traffic_before_persist_ = on; }

 private:
  absl::Status Persist(const Ready& ready, Invariants* invariants, ReadyOutput* out);
  absl::Status Apply(const Entry& entry, Invariants* invariants, ReadyOutput* out);
  // Records a snapshot of the state machine at its applied index.
  absl::Status TakeSnapshot();
  // Takes a snapshot and compacts the log when SnapshotPolicy says so.
  absl::Status MaybeSnapshot();

  Config config_;
  SnapshotPolicy policy_;
  bool leader_traffic_before_persist_ = false;
  EventLog* events_;
  const uint64_t* now_;
  MemoryLog log_;
  SimStateMachine state_machine_;
  std::unique_ptr<RawNode> raw_;
  uint64_t incarnation_ = 0;
  // Index of the snapshot log_ holds (0: none yet, for a joining node).
  uint64_t snapshot_index_ = 0;
};

}  // namespace rkv::raft::sim
