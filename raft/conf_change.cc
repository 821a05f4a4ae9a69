#include "raft/conf_change.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/check.h"

namespace rkv::raft {
namespace {

ConfChangeSingle Change(rkv::internal::ConfChangeType type, NodeId id) {
  ConfChangeSingle c;
  c.set_type(type);
  c.set_node_id(id);
  return c;
}

size_t SymmetricDifference(const std::set<NodeId>& a, const std::set<NodeId>& b) {
  size_t n = 0;
  for (NodeId id : a) n += b.count(id) ? 0 : 1;
  for (NodeId id : b) n += a.count(id) ? 0 : 1;
  return n;
}

}  // namespace

absl::Status CheckInvariants(const MembershipConfig& config, const ProgressMap& progress) {
  auto has_progress = [&progress](NodeId id) { return progress.count(id) > 0; };
  for (NodeId id : config.voters.Ids()) {
    if (!has_progress(id)) return absl::InvalidArgumentError(absl::StrCat("voter ", id, " has no progress"));
  }
  for (NodeId id : config.learners) {
    if (!has_progress(id)) return absl::InvalidArgumentError(absl::StrCat("learner ", id, " has no progress"));
    if (config.voters.Contains(id)) {
      return absl::InvalidArgumentError(absl::StrCat("node ", id, " is both a learner and a voter"));
    }
    if (!progress.at(id).is_learner()) {
      return absl::InvalidArgumentError(absl::StrCat("learner ", id, " is not marked as one"));
    }
  }
  for (NodeId id : config.learners_next) {
    if (!has_progress(id)) return absl::InvalidArgumentError(absl::StrCat("learner ", id, " has no progress"));
    if (!config.voters.outgoing.Contains(id)) {
      return absl::InvalidArgumentError(absl::StrCat("next learner ", id, " is not an outgoing voter"));
    }
    if (progress.at(id).is_learner()) {
      return absl::InvalidArgumentError(absl::StrCat("next learner ", id, " is already a learner"));
    }
  }
  if (!config.voters.IsJoint()) {
    if (!config.learners_next.empty()) {
      return absl::InvalidArgumentError("next learners exist outside a joint configuration");
    }
    if (config.auto_leave) return absl::InvalidArgumentError("auto-leave set outside a joint configuration");
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfigAndProgress> ConfChanger::CheckedCopy() const {
  ConfigAndProgress cp{tracker_.config(), tracker_.progress()};
  if (absl::Status s = CheckInvariants(cp.config, cp.progress); !s.ok()) return s;
  return cp;
}

absl::StatusOr<ConfigAndProgress> ConfChanger::EnterJoint(
    bool auto_leave, const std::vector<ConfChangeSingle>& changes) const {
  absl::StatusOr<ConfigAndProgress> cp = CheckedCopy();
  if (!cp.ok()) return cp.status();
  if (cp->config.voters.IsJoint()) {
    return absl::InvalidArgumentError("the configuration is already joint; leave it first");
  }
  if (cp->config.voters.incoming.empty()) {
    return absl::InvalidArgumentError("a configuration without voters cannot become joint");
  }
  cp->config.voters.outgoing = cp->config.voters.incoming;
  if (absl::Status s = ApplyChanges(&*cp, changes); !s.ok()) return s;
  cp->config.auto_leave = auto_leave;
  if (absl::Status s = CheckInvariants(cp->config, cp->progress); !s.ok()) return s;
  return cp;
}

absl::StatusOr<ConfigAndProgress> ConfChanger::LeaveJoint() const {
  absl::StatusOr<ConfigAndProgress> cp = CheckedCopy();
  if (!cp.ok()) return cp.status();
  MembershipConfig& config = cp->config;
  if (!config.voters.IsJoint()) {
    return absl::InvalidArgumentError("the configuration is not joint; there is nothing to leave");
  }
  for (NodeId id : config.learners_next) {
    config.learners.insert(id);
    cp->progress.at(id).set_is_learner(true);
  }
  config.learners_next.clear();
  for (NodeId id : config.voters.outgoing.ids()) {
    if (!config.voters.incoming.Contains(id) && !config.learners.count(id)) cp->progress.erase(id);
  }
  config.voters.outgoing = MajorityConfig();
  config.auto_leave = false;
  if (absl::Status s = CheckInvariants(config, cp->progress); !s.ok()) return s;
  return cp;
}

absl::StatusOr<ConfigAndProgress> ConfChanger::Simple(
    const std::vector<ConfChangeSingle>& changes) const {
  absl::StatusOr<ConfigAndProgress> cp = CheckedCopy();
  if (!cp.ok()) return cp.status();
  if (cp->config.voters.IsJoint()) {
    return absl::InvalidArgumentError("a simple change cannot apply to a joint configuration");
  }
  if (absl::Status s = ApplyChanges(&*cp, changes); !s.ok()) return s;
  if (SymmetricDifference(tracker_.config().voters.incoming.ids(),
                          cp->config.voters.incoming.ids()) > 1) {
    return absl::InvalidArgumentError(
        "more than one voter changes; use a joint change to replace several voters");
  }
  if (absl::Status s = CheckInvariants(cp->config, cp->progress); !s.ok()) return s;
  return cp;
}

absl::StatusOr<ConfigAndProgress> ConfChanger::Apply(const ConfChange& change) const {
  if (LeavesJoint(change)) return LeaveJoint();
  std::vector<ConfChangeSingle> changes(change.changes().begin(), change.changes().end());
  bool auto_leave = false;
  if (EntersJoint(change, &auto_leave)) return EnterJoint(auto_leave, changes);
  return Simple(changes);
}

absl::Status ConfChanger::ApplyChanges(ConfigAndProgress* cp,
                                       const std::vector<ConfChangeSingle>& changes) const {
  for (const ConfChangeSingle& c : changes) {
    if (c.node_id() == kNoNode) return absl::InvalidArgumentError("a change names node id 0");
    switch (c.type()) {
      case rkv::internal::CONF_CHANGE_ADD_VOTER:
        MakeVoter(cp, c.node_id());
        break;
      case rkv::internal::CONF_CHANGE_ADD_LEARNER:
        MakeLearner(cp, c.node_id());
        break;
      case rkv::internal::CONF_CHANGE_REMOVE_NODE:
        Remove(cp, c.node_id());
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("unknown change type ", c.type()));
    }
  }
  if (cp->config.voters.incoming.empty()) {
    return absl::InvalidArgumentError("the change removes every voter");
  }
  return absl::OkStatus();
}

void ConfChanger::MakeVoter(ConfigAndProgress* cp, NodeId id) const {
  auto it = cp->progress.find(id);
  if (it == cp->progress.end()) {
    InitProgress(cp, id, /*is_learner=*/false);
    return;
  }
  it->second.set_is_learner(false);
  cp->config.learners.erase(id);
  cp->config.learners_next.erase(id);
  cp->config.voters.incoming.mutable_ids().insert(id);
}

void ConfChanger::MakeLearner(ConfigAndProgress* cp, NodeId id) const {
  auto it = cp->progress.find(id);
  if (it == cp->progress.end()) {
    InitProgress(cp, id, /*is_learner=*/true);
    return;
  }
  if (it->second.is_learner()) return;
  Progress progress = it->second;
  Remove(cp, id);
  cp->progress.insert_or_assign(id, progress);
  // An outgoing voter cannot be a learner until the joint config is left: it
  // still votes in the outgoing half (thesis §4.3).
  if (cp->config.voters.outgoing.Contains(id)) {
    cp->config.learners_next.insert(id);
  } else {
    cp->progress.at(id).set_is_learner(true);
    cp->config.learners.insert(id);
  }
}

void ConfChanger::Remove(ConfigAndProgress* cp, NodeId id) const {
  if (!cp->progress.count(id)) return;
  cp->config.voters.incoming.mutable_ids().erase(id);
  cp->config.learners.erase(id);
  cp->config.learners_next.erase(id);
  // An outgoing voter keeps its progress: it still counts until the joint config is left.
  if (!cp->config.voters.outgoing.Contains(id)) cp->progress.erase(id);
}

void ConfChanger::InitProgress(ConfigAndProgress* cp, NodeId id, bool is_learner) const {
  if (is_learner) {
    cp->config.learners.insert(id);
  } else {
    cp->config.voters.incoming.mutable_ids().insert(id);
  }
  Progress progress = tracker_.MakeProgress(std::max<uint64_t>(last_index_, 1));
  progress.set_is_learner(is_learner);
  // A new member counts as active so that check-quorum does not depose the
  // leader before the member had a chance to answer.
  progress.set_recent_active(true);
  cp->progress.insert_or_assign(id, progress);
}

bool EntersJoint(const ConfChange& change, bool* auto_leave) {
  const bool joint = change.transition() != rkv::internal::CONF_TRANSITION_AUTO ||
                     change.changes_size() > 1;
  if (joint) {
    *auto_leave = change.transition() != rkv::internal::CONF_TRANSITION_JOINT_EXPLICIT;
  }
  return joint;
}

bool LeavesJoint(const ConfChange& change) { return change.changes_size() == 0; }

absl::StatusOr<ConfigAndProgress> RestoreConfig(const ConfState& cs,
                                                const ProgressTracker& empty_tracker,
                                                uint64_t last_index) {
  std::vector<ConfChangeSingle> outgoing;
  std::vector<ConfChangeSingle> incoming;
  for (NodeId id : cs.voters_outgoing()) {
    outgoing.push_back(Change(rkv::internal::CONF_CHANGE_ADD_VOTER, id));
    // Entering joint from the outgoing set: voters not in the incoming set are removed.
    incoming.push_back(Change(rkv::internal::CONF_CHANGE_REMOVE_NODE, id));
  }
  for (NodeId id : cs.voters()) incoming.push_back(Change(rkv::internal::CONF_CHANGE_ADD_VOTER, id));
  for (NodeId id : cs.learners()) incoming.push_back(Change(rkv::internal::CONF_CHANGE_ADD_LEARNER, id));
  for (NodeId id : cs.learners_next()) {
    incoming.push_back(Change(rkv::internal::CONF_CHANGE_ADD_LEARNER, id));
  }

  // Replays one change at a time from an empty configuration; each step is a
  // valid simple change, so every intermediate state passes the checks.
  ProgressTracker tracker = empty_tracker;
  tracker.Reset(MembershipConfig(), ProgressMap());
  auto step = [&](absl::StatusOr<ConfigAndProgress> next) -> absl::Status {
    if (!next.ok()) return next.status();
    tracker.Reset(std::move(next->config), std::move(next->progress));
    return absl::OkStatus();
  };
  if (outgoing.empty()) {
    for (const ConfChangeSingle& c : incoming) {
      ConfChanger changer(tracker, last_index);
      if (absl::Status s = step(changer.Simple({c})); !s.ok()) return s;
    }
  } else {
    for (const ConfChangeSingle& c : outgoing) {
      ConfChanger changer(tracker, last_index);
      if (absl::Status s = step(changer.Simple({c})); !s.ok()) return s;
    }
    ConfChanger changer(tracker, last_index);
    if (absl::Status s = step(changer.EnterJoint(cs.auto_leave(), incoming)); !s.ok()) return s;
  }
  return ConfigAndProgress{tracker.config(), tracker.progress()};
}

}  // namespace rkv::raft
