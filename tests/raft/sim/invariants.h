// Invariants: the simulator's record of everything the cluster has committed,
// applied and elected, and the checks of Raft's safety properties against it
// (Raft paper §5.2-5.4 and Figure 3; thesis §4 for membership):
//
//   election safety     at most one leader per term;
//   log matching        entries with the same index and term are identical and
//                       are preceded by identical entries;
//   leader completeness a leader holds every entry committed in earlier terms;
//   state machine safety no two nodes apply different entries at one index,
//                       and every node ends up with the same membership;
//   no lost commit      no committed entry is ever overwritten or truncated,
//                       across crashes and restarts.
//
// The checks are incremental: each is made when a node persists or applies
// something, so the cost per step stays small. It also checks the parts of
// the Ready contract (ready.h) a caller depends on, such as entries fitting
// the persisted log. A violation is returned as an INTERNAL status whose
// message starts with "invariant" or "contract" and names the nodes, indexes
// and terms involved.
//
// Not thread-safe; owned by a Cluster.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "raft/memory_log.h"
#include "raft/types.h"
#include "tests/raft/sim/state_machine.h"

namespace rkv::raft::sim {

class Invariants final {
 public:
  // `initial_conf` is the membership the group was bootstrapped with
  // (raft::Bootstrap).
  explicit Invariants(const ConfState& initial_conf);
  Invariants(const Invariants&) = delete;
  Invariants& operator=(const Invariants&) = delete;

  // Before `entries` from a Ready are appended to `node`'s persisted `log`:
  // they must be contiguous, with terms that never decrease, and start inside
  // the log; they must not replace or truncate anything at or below the
  // node's commit index; no entry may contradict a committed one in a term
  // after it was committed; and every (index, term) must name one entry with
  // one predecessor in every log (log matching, §5.3).
  absl::Status CheckAppend(NodeId node, const MemoryLog& log, const std::vector<Entry>& entries);

  // Before a Ready's `next` hard state replaces the persisted `previous` one:
  // the term never decreases, a vote is never changed within a term (§5.2:
  // one vote per term), and the commit index never decreases.
  absl::Status CheckHardState(NodeId node, const HardState& previous, const HardState& next);

  // After `node` persisted a hard state whose commit index rose from
  // `previous_commit`: records the entries up to it as committed, in term
  // hard_state.term() at the latest. REQUIRES: log holds that hard state.
  absl::Status RecordCommit(NodeId node, uint64_t previous_commit, const MemoryLog& log);

  // `node` believes it leads `term`. Election safety (§5.2).
  absl::Status CheckLeader(NodeId node, uint64_t term);
  // After `node`, leader of `term`, persisted a Ready, so `log` is its whole
  // log: it must hold every entry committed in an earlier term (§5.4.1). Made
  // once per term.
  absl::Status CheckLeaderCompleteness(NodeId node, uint64_t term, const MemoryLog& log);

  // Before a snapshot is installed on a node whose state is `sm`: it must be
  // newer than what the node applied, or installing it would roll back.
  absl::Status CheckSnapshotNewer(NodeId node, const SimStateMachine& sm, const Snapshot& snapshot);
  // After a snapshot is installed: its state (`sm`, decoded from its data) and
  // membership must equal what the nodes that applied up to its index hold.
  absl::Status CheckSnapshotInstalled(NodeId node, const SimStateMachine& sm,
                                      const ConfState& conf);
  // After `node` applied `entry` (its state digest is now `digest`), in term
  // `node_term`: state machine safety, and records the entry as committed.
  absl::Status CheckApplied(NodeId node, const Entry& entry, uint64_t digest, uint64_t node_term);
  // After `node` applied the membership change at `index`, giving `conf`:
  // every node must reach the same membership there.
  absl::Status CheckConfApplied(NodeId node, uint64_t index, const ConfState& conf);

  // Compares whole persisted logs pairwise: where two logs hold an entry with
  // the same index and term, they must be identical up to it. O(nodes^2 x log
  // length): made at the end of a run, not every step.
  absl::Status CheckLogsMatch(const std::vector<std::pair<NodeId, const MemoryLog*>>& logs) const;

  // The highest index known to be committed (0 if none).
  uint64_t max_committed_index() const { return committed_.size() - 1; }
  // The term of the committed entry at `index`, or 0 when it is not known.
  uint64_t CommittedTerm(uint64_t index) const;
  // The membership in force at `index`, as recorded from applied changes.
  std::string ConfAt(uint64_t index) const;
  // How many distinct terms had a leader.
  size_t leader_terms() const { return leaders_.size(); }

 private:
  struct Committed {
    uint64_t term = 0;  // 0: not known (committed through a snapshot only)
    // An upper bound on the term in which the entry was committed: the
    // smallest term any node was in when it learned the entry was committed.
    uint64_t commit_term = UINT64_MAX;
    bool has_digest = false;
    uint64_t digest = 0;  // state digest after applying this entry
    NodeId witness = kNoNode;
  };
  struct LogEntryId {
    uint64_t data_hash = 0;
    uint64_t previous_term = 0;
    NodeId witness = kNoNode;
  };

  Committed& CommittedSlot(uint64_t index);
  absl::Status RecordCommitted(NodeId node, uint64_t index, uint64_t term, uint64_t commit_term);
  absl::Status CheckEntryIdentity(NodeId node, const Entry& entry, uint64_t previous_term);

  // Index 0 is a placeholder so that committed_[i] is log index i.
  std::vector<Committed> committed_;
  // Every (index, term) seen in any persisted log: one entry per pair.
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, LogEntryId> entry_ids_;
  // term -> the only node that led it.
  std::map<uint64_t, NodeId> leaders_;
  std::set<uint64_t> completeness_checked_terms_;
  // index of an applied membership change -> CanonicalConf of its result.
  std::map<uint64_t, std::string> conf_history_;
};

// An INTERNAL status for a broken Raft property: "invariant violated
// (<property>): <detail>".
absl::Status Violation(const char* property, const std::string& detail);
// An INTERNAL status for a broken Ready contract: "contract violated: <detail>".
absl::Status ContractViolation(const std::string& detail);

}  // namespace rkv::raft::sim
