#include "tests/raft/sim/node.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/random.h"

namespace rkv::raft::sim {
namespace {

bool Contains(const google::protobuf::RepeatedField<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool IsMember(const ConfState& conf, NodeId id) {
  return Contains(conf.voters(), id) || Contains(conf.learners(), id) ||
         Contains(conf.voters_outgoing(), id) || Contains(conf.learners_next(), id);
}

// Whether `after` has a member that `before` lacks.
bool AddsNode(const ConfState& before, const ConfState& after) {
  for (const auto* ids : {&after.voters(), &after.learners(), &after.learners_next()}) {
    for (NodeId id : *ids) {
      if (!IsMember(before, id)) return true;
    }
  }
  return false;
}

}  // namespace

const char* CrashStageName(CrashStage stage) {
  switch (stage) {
    case CrashStage::kBeforePersist:
      return "before-persist";
    case CrashStage::kAfterPersist:
      return "after-persist";
    case CrashStage::kAfterSend:
      return "after-send";
    case CrashStage::kMidApply:
      return "mid-apply";
    case CrashStage::kBeforeAdvance:
      return "before-advance";
  }
  return "?";
}

SimNode::SimNode(const Config& config, const SnapshotPolicy& policy, EventLog* events,
                 const uint64_t* now)
    : config_(config), policy_(policy), events_(events), now_(now) {
  RKV_CHECK_NE(config_.id, kNoNode);
  RKV_CHECK_GT(policy_.every_entries, 0u);
}

void SimNode::Bootstrap(const ConfState& conf) {
  RKV_CHECK_EQ(incarnation_, 0u);
  BootstrapState state = raft::Bootstrap(conf);
  RKV_CHECK_OK(log_.ApplySnapshot(state.snapshot));
  log_.SetHardState(state.hard_state);
  state_machine_ = BootstrapStateMachine(conf);
  snapshot_index_ = kBootstrapIndex;
}

absl::Status SimNode::Start(uint64_t seed) {
  RKV_CHECK(!up());
  ++incarnation_;
  Config config = config_;
  config.applied = state_machine_.applied_index;
  // Each incarnation draws different election timeouts, as a real restart
  // does. Hashed rather than XORed with a multiple of the incarnation: the
  // core XORs in a multiple of the node id, and the two would cancel out
  // (node 2's third start would time out exactly like node 3's second).
  config.seed = Random(seed ^ (incarnation_ << 32)).Next();
  absl::StatusOr<std::unique_ptr<RawNode>> raw = RawNode::Create(config, &log_);
  if (!raw.ok()) {
    return ContractViolation(absl::StrCat("node ", id(), " cannot restart with applied index ",
                                          config.applied, ": ", raw.status().ToString()));
  }
  raw_ = std::move(*raw);
  events_->Record(*now_, [&] {
    return absl::StrCat("n", id(), " start #", incarnation_, " applied=", config.applied, " log=[",
                        log_.FirstIndex(), "..", log_.LastIndex(), "] hs{t",
                        log_.hard_state().term(), " v", log_.hard_state().vote(), " c",
                        log_.hard_state().commit(), "} ", CanonicalConf(state_machine_.conf_state));
  });
  return absl::OkStatus();
}

void SimNode::Crash() {
  raw_.reset();
  events_->Record(*now_, [&] { return absl::StrCat("n", id(), " crash"); });
}

absl::Status SimNode::HandleReady(Invariants* invariants, ReadyOutput* out,
                                  std::optional<CrashPoint> crash) {
  RKV_CHECK(up());
  Ready ready = raw_->TakeReady();
  events_->Record(*now_, [&] {
    std::string line = absl::StrCat("n", id(), " ready");
    if (ready.soft_state) {
      absl::StrAppend(&line, " role=", RoleName(ready.soft_state->role),
                      " leader=", ready.soft_state->leader);
    }
    if (ready.hard_state) {
      absl::StrAppend(&line, " hs{t", ready.hard_state->term(), " v", ready.hard_state->vote(),
                      " c", ready.hard_state->commit(), "}");
    }
    if (ready.snapshot) absl::StrAppend(&line, " snapshot=", ready.snapshot->metadata().index());
    if (!ready.entries.empty())
      absl::StrAppend(&line, " persist=", SummarizeEntries(ready.entries));
    if (!ready.committed_entries.empty()) {
      absl::StrAppend(&line, " apply=", SummarizeEntries(ready.committed_entries));
    }
    if (!ready.messages.empty()) absl::StrAppend(&line, " msgs=", ready.messages.size());
    if (!ready.read_states.empty()) absl::StrAppend(&line, " reads=", ready.read_states.size());
    if (crash) absl::StrAppend(&line, " CRASH ", CrashStageName(crash->stage));
    return line;
  });
  auto crash_at = [&](CrashStage stage) { return crash.has_value() && crash->stage == stage; };

  // 0. A leader's appends and heartbeats may leave before the sync.
  if (leader_traffic_before_persist_) {
    std::vector<Message> after_persist;
    for (Message& message : ready.messages) {
      (MaySendBeforeSync(message) ? out->messages : after_persist).push_back(std::move(message));
    }
    ready.messages.swap(after_persist);
  }

  // 1. Persist, as one synced write.
  if (crash_at(CrashStage::kBeforePersist)) return absl::OkStatus();
  if (absl::Status s = Persist(ready, invariants, out); !s.ok()) return s;
  if (raw_->IsLeader()) {
    // Everything the leader had was handed out in this Ready, so its whole
    // log is now in log_.
    if (absl::Status s = invariants->CheckLeaderCompleteness(id(), raw_->Term(), log_); !s.ok()) {
      return s;
    }
  }

  // 2. Send, only now that what the messages promise is durable.
  if (crash_at(CrashStage::kAfterPersist)) return absl::OkStatus();
  // Advance reads neither messages nor read states, so they are moved out.
  if (out->messages.empty()) {
    out->messages.swap(ready.messages);
  } else {
    for (Message& message : ready.messages) out->messages.push_back(std::move(message));
  }
  for (ReadState& read_state : ready.read_states) out->read_states.push_back(std::move(read_state));

  // 3. Apply, in order.
  if (crash_at(CrashStage::kAfterSend)) return absl::OkStatus();
  for (size_t k = 0; k < ready.committed_entries.size(); ++k) {
    if (crash_at(CrashStage::kMidApply) && k == crash->entries_applied) return absl::OkStatus();
    if (absl::Status s = Apply(ready.committed_entries[k], invariants, out); !s.ok()) return s;
  }

  // 4. Advance.
  if (crash_at(CrashStage::kMidApply) || crash_at(CrashStage::kBeforeAdvance)) {
    return absl::OkStatus();
  }
  raw_->Advance();
  return MaybeSnapshot();
}

absl::Status SimNode::Persist(const Ready& ready, Invariants* invariants, ReadyOutput* out) {
  if (ready.snapshot.has_value()) {
    const Snapshot& snapshot = *ready.snapshot;
    if (absl::Status s = invariants->CheckSnapshotNewer(id(), state_machine_, snapshot); !s.ok()) {
      return s;
    }
    // The bootstrap snapshot carries no data: its state is the initial one.
    std::optional<SimStateMachine> restored =
        snapshot.data().empty() && snapshot.metadata().index() == kBootstrapIndex
            ? BootstrapStateMachine(snapshot.metadata().conf_state())
            : SimStateMachine::Decode(snapshot.data());
    if (!restored.has_value() || restored->applied_index != snapshot.metadata().index() ||
        restored->applied_term != snapshot.metadata().term()) {
      return ContractViolation(
          absl::StrCat("node ", id(), " is handed snapshot ", snapshot.metadata().index(), " term ",
                       snapshot.metadata().term(), " whose data does not match its metadata"));
    }
    if (absl::Status s = log_.ApplySnapshot(snapshot); !s.ok()) {
      return ContractViolation(absl::StrCat("node ", id(), " cannot install snapshot ",
                                            snapshot.metadata().index(), ": ", s.ToString()));
    }
    restored->conf_state = snapshot.metadata().conf_state();
    state_machine_ = std::move(*restored);
    snapshot_index_ = state_machine_.applied_index;
    if (absl::Status s =
            invariants->CheckSnapshotInstalled(id(), state_machine_, state_machine_.conf_state);
        !s.ok()) {
      return s;
    }
  }
  if (!ready.entries.empty()) {
    if (absl::Status s = invariants->CheckAppend(id(), log_, ready.entries); !s.ok()) return s;
    log_.Append(ready.entries);
  }
  if (ready.hard_state.has_value()) {
    HardState previous = log_.hard_state();
    if (absl::Status s = invariants->CheckHardState(id(), previous, *ready.hard_state); !s.ok()) {
      return s;
    }
    log_.SetHardState(*ready.hard_state);
    out->voted = ready.hard_state->vote() != kNoNode && ready.hard_state->vote() != id() &&
                 (ready.hard_state->vote() != previous.vote() ||
                  ready.hard_state->term() != previous.term());
    if (absl::Status s = invariants->RecordCommit(id(), previous.commit(), log_); !s.ok()) {
      return s;
    }
  }
  if (state_machine_.applied_index > log_.hard_state().commit()) {
    // A restart would then come back with an applied index past its commit
    // index.
    return ContractViolation(
        absl::StrCat("node ", id(), " installed a snapshot at ", state_machine_.applied_index,
                     " but its persisted commit index is ", log_.hard_state().commit()));
  }
  return absl::OkStatus();
}

absl::Status SimNode::Apply(const Entry& entry, Invariants* invariants, ReadyOutput* out) {
  if (entry.index() != state_machine_.applied_index + 1) {
    return ContractViolation(absl::StrCat("node ", id(), " is handed entry ", entry.index(),
                                          " to apply after applying ",
                                          state_machine_.applied_index));
  }
  if (entry.index() > log_.hard_state().commit()) {
    return ContractViolation(absl::StrCat("node ", id(), " is handed entry ", entry.index(),
                                          " to apply beyond its persisted commit index ",
                                          log_.hard_state().commit()));
  }
  absl::StatusOr<uint64_t> persisted_term = log_.Term(entry.index());
  if (!persisted_term.ok() || *persisted_term != entry.term()) {
    return ContractViolation(absl::StrCat("node ", id(), " is handed entry ", entry.index(),
                                          " term ", entry.term(),
                                          " to apply, which is not the entry it persisted"));
  }
  state_machine_.Apply(entry);
  if (absl::Status s = invariants->CheckApplied(id(), entry, state_machine_.digest, raw_->Term());
      !s.ok()) {
    return s;
  }
  if (entry.type() != rkv::internal::ENTRY_CONF_CHANGE) return absl::OkStatus();

  ConfChange change;
  if (!change.ParseFromString(entry.data())) {
    return ContractViolation(absl::StrCat("node ", id(), " applies entry ", entry.index(),
                                          ", a membership change that does not parse"));
  }
  ConfState conf = raw_->ApplyConfChange(change);
  const bool adds_node = AddsNode(state_machine_.conf_state, conf);
  // Persisted with the applied index, so a restart sees the membership as of
  // the applied index.
  log_.SetConfState(conf);
  state_machine_.conf_state = conf;
  if (adds_node || policy_.on_membership_change) {
    // A node ignores a snapshot whose membership lacks it, so the snapshot a
    // leader sends a new node must be at least this recent.
    if (absl::Status s = TakeSnapshot(); !s.ok()) return s;
  }
  events_->Record(*now_, [&] {
    return absl::StrCat("n", id(), " applied membership change at ", entry.index(), ": ",
                        CanonicalConf(conf));
  });
  if (absl::Status s = invariants->CheckConfApplied(id(), entry.index(), conf); !s.ok()) return s;
  out->conf_changes.emplace_back(entry.index(), std::move(conf));
  return absl::OkStatus();
}

absl::Status SimNode::TakeSnapshot() {
  const uint64_t applied = state_machine_.applied_index;
  if (absl::Status s =
          log_.CreateSnapshot(applied, state_machine_.conf_state, state_machine_.Encode());
      !s.ok()) {
    return ContractViolation(absl::StrCat("node ", id(), " cannot snapshot at applied index ",
                                          applied, ": ", s.ToString()));
  }
  snapshot_index_ = applied;
  return absl::OkStatus();
}

absl::Status SimNode::MaybeSnapshot() {
  const uint64_t applied = state_machine_.applied_index;
  if (applied < snapshot_index_ + policy_.every_entries) return absl::OkStatus();
  if (absl::Status s = TakeSnapshot(); !s.ok()) return s;
  // Compact(i) keeps entry i as the log's first, dummy position.
  const uint64_t compact_index =
      applied > policy_.keep_entries ? applied - policy_.keep_entries : 0;
  if (compact_index < log_.FirstIndex()) return absl::OkStatus();
  if (absl::Status s = log_.Compact(compact_index); !s.ok()) {
    return ContractViolation(
        absl::StrCat("node ", id(), " cannot compact to ", compact_index, ": ", s.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace rkv::raft::sim
