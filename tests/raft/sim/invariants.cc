#include "tests/raft/sim/invariants.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/raw_node.h"
#include "tests/raft/sim/event_log.h"

namespace rkv::raft::sim {
namespace {

uint64_t EntryHash(const Entry& entry) {
  return HashBytes(entry.data()) ^ (static_cast<uint64_t>(entry.type()) * 0x9e3779b97f4a7c15ULL);
}

}  // namespace

absl::Status Violation(const char* property, const std::string& detail) {
  return absl::InternalError(absl::StrCat("invariant violated (", property, "): ", detail));
}

absl::Status ContractViolation(const std::string& detail) {
  return absl::InternalError(absl::StrCat("contract violated: ", detail));
}

Invariants::Invariants(const ConfState& initial_conf) : committed_(kBootstrapIndex + 1) {
  conf_history_[0] = CanonicalConf(initial_conf);
  // Every initial member starts from the bootstrap snapshot (raft::Bootstrap).
  Committed& bootstrap = committed_[kBootstrapIndex];
  bootstrap.term = kBootstrapTerm;
  bootstrap.commit_term = kBootstrapTerm;
  bootstrap.has_digest = true;
  bootstrap.digest = BootstrapStateMachine(initial_conf).digest;
}

Invariants::Committed& Invariants::CommittedSlot(uint64_t index) {
  RKV_CHECK_GT(index, 0u);
  if (index >= committed_.size()) committed_.resize(index + 1);
  return committed_[index];
}

uint64_t Invariants::CommittedTerm(uint64_t index) const {
  return index < committed_.size() ? committed_[index].term : 0;
}

std::string Invariants::ConfAt(uint64_t index) const {
  auto it = conf_history_.upper_bound(index);
  RKV_CHECK(it != conf_history_.begin());
  return std::prev(it)->second;
}

absl::Status Invariants::RecordCommitted(NodeId node, uint64_t index, uint64_t term,
                                         uint64_t commit_term) {
  Committed& slot = CommittedSlot(index);
  if (slot.term == 0) {
    slot.term = term;
    slot.witness = node;
  } else if (slot.term != term) {
    return Violation(
        "state machine safety",
        absl::StrCat("node ", node, " holds term ", term, " at committed index ", index,
                     " but node ", slot.witness, " committed term ", slot.term, " there"));
  }
  slot.commit_term = std::min(slot.commit_term, commit_term);
  return absl::OkStatus();
}

absl::Status Invariants::CheckEntryIdentity(NodeId node, const Entry& entry,
                                            uint64_t previous_term) {
  auto [it, inserted] = entry_ids_.try_emplace(std::make_pair(entry.index(), entry.term()),
                                               LogEntryId{EntryHash(entry), previous_term, node});
  if (inserted) return absl::OkStatus();
  const LogEntryId& seen = it->second;
  if (seen.data_hash != EntryHash(entry)) {
    return Violation("log matching", absl::StrCat("node ", node, " and node ", seen.witness,
                                                  " hold different entries with index ",
                                                  entry.index(), " and term ", entry.term()));
  }
  if (seen.previous_term != previous_term) {
    return Violation("log matching",
                     absl::StrCat("entry ", entry.index(), " term ", entry.term(), " follows term ",
                                  previous_term, " on node ", node, " but term ",
                                  seen.previous_term, " on node ", seen.witness));
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckAppend(NodeId node, const MemoryLog& log,
                                     const std::vector<Entry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  const uint64_t first = entries.front().index();
  const uint64_t new_last = entries.back().index();
  for (size_t k = 0; k < entries.size(); ++k) {
    if (entries[k].index() != first + k) {
      return ContractViolation(absl::StrCat("node ", node,
                                            " got entries to persist that are not "
                                            "contiguous: ",
                                            SummarizeEntries(entries)));
    }
    if (k > 0 && entries[k].term() < entries[k - 1].term()) {
      return Violation("log matching", absl::StrCat("node ", node,
                                                    " got entries whose terms "
                                                    "decrease at index ",
                                                    entries[k].index()));
    }
  }
  if (first < log.FirstIndex() || first > log.LastIndex() + 1) {
    return ContractViolation(absl::StrCat("node ", node, " got entries ", SummarizeEntries(entries),
                                          " that do not fit its "
                                          "persisted log [",
                                          log.FirstIndex(), "..", log.LastIndex(), "]"));
  }
  absl::StatusOr<uint64_t> previous_term = log.Term(first - 1);
  RKV_CHECK_OK(previous_term.status());
  if (*previous_term > entries.front().term()) {
    return Violation("log matching",
                     absl::StrCat("node ", node, " appends term ", entries.front().term(),
                                  " at index ", first, " after term ", *previous_term));
  }

  // A node never replaces or truncates an entry at or below its own commit
  // index: it learned that index from a leader that holds those entries.
  // (Another node's committed entry may legitimately be replaced on a node
  // that never learned it was committed, by a leader of an older term.)
  const uint64_t own_commit = log.hard_state().commit();
  const uint64_t check_to = std::min(log.LastIndex(), own_commit);
  for (uint64_t i = first; i <= check_to; ++i) {
    absl::StatusOr<uint64_t> old_term = log.Term(i);
    RKV_CHECK_OK(old_term.status());
    if (i > new_last) {
      return Violation("no lost commit",
                       absl::StrCat("node ", node, " truncates entry ", i, " (term ", *old_term,
                                    "), below its commit index ", own_commit, ", by appending ",
                                    SummarizeEntries(entries)));
    }
    if (entries[i - first].term() != *old_term) {
      return Violation("no lost commit",
                       absl::StrCat("node ", node, " replaces entry ", i, " (term ", *old_term,
                                    "), below its commit index ", own_commit, ", with term ",
                                    entries[i - first].term()));
    }
  }
  uint64_t previous = *previous_term;
  for (const Entry& entry : entries) {
    const uint64_t index = entry.index();
    // An entry of a term later than the one a different entry was committed
    // in at this index was created by a leader that lacked the committed one.
    if (index < committed_.size() && committed_[index].term != 0 &&
        committed_[index].term != entry.term() && entry.term() > committed_[index].commit_term) {
      return Violation("leader completeness",
                       absl::StrCat("node ", node, " persists term ", entry.term(), " at index ",
                                    index, " where term ", committed_[index].term,
                                    " was committed by term ", committed_[index].commit_term));
    }
    if (absl::Status s = CheckEntryIdentity(node, entry, previous); !s.ok()) return s;
    previous = entry.term();
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckHardState(NodeId node, const HardState& previous,
                                        const HardState& next) {
  if (next.term() < previous.term()) {
    return Violation("persisted state", absl::StrCat("node ", node, " persists term ", next.term(),
                                                     " after term ", previous.term()));
  }
  if (next.term() == previous.term() && previous.vote() != kNoNode &&
      next.vote() != previous.vote()) {
    return Violation("election safety",
                     absl::StrCat("node ", node, " changes its vote in term ", next.term(),
                                  " from ", previous.vote(), " to ", next.vote()));
  }
  if (next.commit() < previous.commit()) {
    return Violation("persisted state", absl::StrCat("node ", node, " persists commit index ",
                                                     next.commit(), " after ", previous.commit()));
  }
  return absl::OkStatus();
}

absl::Status Invariants::RecordCommit(NodeId node, uint64_t previous_commit, const MemoryLog& log) {
  const HardState& hard_state = log.hard_state();
  if (hard_state.commit() > log.LastIndex()) {
    return ContractViolation(absl::StrCat("node ", node, " persists commit index ",
                                          hard_state.commit(),
                                          " beyond its persisted log, "
                                          "which ends at ",
                                          log.LastIndex()));
  }
  // Entries below the snapshot are gone from this log; they were recorded by
  // the nodes that applied them.
  uint64_t from = std::max(previous_commit + 1, log.FirstIndex() - 1);
  from = std::max<uint64_t>(from, 1);
  for (uint64_t i = from; i <= hard_state.commit(); ++i) {
    absl::StatusOr<uint64_t> term = log.Term(i);
    RKV_CHECK_OK(term.status());
    if (absl::Status s = RecordCommitted(node, i, *term, hard_state.term()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckLeader(NodeId node, uint64_t term) {
  auto [it, inserted] = leaders_.try_emplace(term, node);
  if (!inserted && it->second != node) {
    return Violation("election safety",
                     absl::StrCat("term ", term, " has two leaders: ", it->second, " and ", node));
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckLeaderCompleteness(NodeId node, uint64_t term, const MemoryLog& log) {
  if (absl::Status s = CheckLeader(node, term); !s.ok()) return s;
  if (!completeness_checked_terms_.insert(term).second) return absl::OkStatus();
  const uint64_t snapshot_index = log.FirstIndex() - 1;
  for (uint64_t i = std::max<uint64_t>(snapshot_index, 1); i <= max_committed_index(); ++i) {
    const Committed& c = committed_[i];
    // Only entries committed in an earlier term must be present (§5.4.1).
    if (c.term == 0 || c.commit_term >= term) continue;
    if (i > log.LastIndex()) {
      return Violation("leader completeness",
                       absl::StrCat("node ", node, " leads term ", term, " but its log ends at ",
                                    log.LastIndex(), " without committed entry ", i, " (term ",
                                    c.term, ", committed by term ", c.commit_term, ")"));
    }
    absl::StatusOr<uint64_t> have = log.Term(i);
    RKV_CHECK_OK(have.status());
    if (*have != c.term) {
      return Violation(
          "leader completeness",
          absl::StrCat("node ", node, " leads term ", term, " with term ", *have, " at index ", i,
                       " where term ", c.term, " was committed by term ", c.commit_term));
    }
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckSnapshotNewer(NodeId node, const SimStateMachine& sm,
                                            const Snapshot& snapshot) {
  if (snapshot.metadata().index() <= sm.applied_index) {
    return Violation("state machine safety",
                     absl::StrCat("node ", node, " is handed snapshot ",
                                  snapshot.metadata().index(), " but has applied up to ",
                                  sm.applied_index, "; installing it would roll back"));
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckSnapshotInstalled(NodeId node, const SimStateMachine& sm,
                                                const ConfState& conf) {
  const uint64_t index = sm.applied_index;
  if (index == 0)
    return ContractViolation(absl::StrCat("node ", node,
                                          " installs a snapshot "
                                          "at index 0"));
  Committed& slot = CommittedSlot(index);
  if (slot.term == 0) {
    slot.term = sm.applied_term;
    slot.witness = node;
  } else if (slot.term != sm.applied_term) {
    return Violation("state machine safety",
                     absl::StrCat("node ", node, " installs a snapshot at index ", index, " term ",
                                  sm.applied_term, " but node ", slot.witness, " committed term ",
                                  slot.term, " there"));
  }
  if (!slot.has_digest) {
    slot.has_digest = true;
    slot.digest = sm.digest;
  } else if (slot.digest != sm.digest) {
    return Violation("state machine safety",
                     absl::StrCat("node ", node, " installs a snapshot at index ", index,
                                  " whose state differs from what the nodes that applied up to "
                                  "it hold"));
  }
  std::string expected = ConfAt(index);
  std::string got = CanonicalConf(conf);
  if (expected != got) {
    return Violation(
        "state machine safety",
        absl::StrCat("node ", node, " installs a snapshot at index ", index, " with membership ",
                     got, " but the membership there is ", expected));
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckApplied(NodeId node, const Entry& entry, uint64_t digest,
                                      uint64_t node_term) {
  if (absl::Status s = RecordCommitted(node, entry.index(), entry.term(), node_term); !s.ok()) {
    return s;
  }
  Committed& slot = committed_[entry.index()];
  if (!slot.has_digest) {
    slot.has_digest = true;
    slot.digest = digest;
  } else if (slot.digest != digest) {
    return Violation(
        "state machine safety",
        absl::StrCat("node ", node, " applied entry ", entry.index(), " (term ", entry.term(),
                     ") and now holds a state that differs from the "
                     "other nodes' at that index"));
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckConfApplied(NodeId node, uint64_t index, const ConfState& conf) {
  std::string got = CanonicalConf(conf);
  auto [it, inserted] = conf_history_.try_emplace(index, got);
  if (!inserted && it->second != got) {
    return Violation("state machine safety",
                     absl::StrCat("node ", node, " reaches membership ", got, " at index ", index,
                                  " where another node reached ", it->second));
  }
  return absl::OkStatus();
}

absl::Status Invariants::CheckLogsMatch(
    const std::vector<std::pair<NodeId, const MemoryLog*>>& logs) const {
  for (size_t a = 0; a < logs.size(); ++a) {
    for (size_t b = a + 1; b < logs.size(); ++b) {
      const MemoryLog& x = *logs[a].second;
      const MemoryLog& y = *logs[b].second;
      uint64_t lo = std::max(x.FirstIndex(), y.FirstIndex());
      uint64_t hi = std::min(x.LastIndex(), y.LastIndex());
      if (lo > hi) continue;
      absl::StatusOr<std::vector<Entry>> xs = x.Entries(lo, hi + 1, UINT64_MAX);
      absl::StatusOr<std::vector<Entry>> ys = y.Entries(lo, hi + 1, UINT64_MAX);
      RKV_CHECK_OK(xs.status());
      RKV_CHECK_OK(ys.status());
      RKV_CHECK_EQ(xs->size(), hi - lo + 1);
      RKV_CHECK_EQ(ys->size(), hi - lo + 1);
      // Once the logs agree on a term at some index, they must agree on
      // everything below it.
      bool matched = false;
      for (size_t k = xs->size(); k-- > 0;) {
        const Entry& ex = (*xs)[k];
        const Entry& ey = (*ys)[k];
        if (!matched && ex.term() != ey.term()) continue;
        matched = true;
        if (ex.term() != ey.term() || ex.type() != ey.type() || ex.data() != ey.data()) {
          return Violation("log matching",
                           absl::StrCat("nodes ", logs[a].first, " and ", logs[b].first,
                                        " agree on a later entry but differ at index ", ex.index(),
                                        " (terms ", ex.term(), " and ", ey.term(), ")"));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace rkv::raft::sim
