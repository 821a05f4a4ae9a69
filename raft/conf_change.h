// Membership changes (thesis §4): computes the configuration that results from
// a ConfChange, validating it first. Learners, single voter changes applied
// directly, and joint consensus (enter, then leave) for anything larger.
// Pure: works on copies and returns the new configuration and progress map.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/tracker.h"
#include "raft/types.h"

namespace rkv::raft {

struct ConfigAndProgress {
  MembershipConfig config;
  ProgressMap progress;
};

class ConfChanger final {
 public:
  // `last_index` seeds the next index of the progress of new members.
  ConfChanger(const ProgressTracker& tracker, uint64_t last_index)
      : tracker_(tracker), last_index_(last_index) {}

  // Enters a joint configuration: the current voters become the outgoing half,
  // the changes are applied to the incoming half. INVALID_ARGUMENT when already
  // joint, when the config has no voters, or when a change cannot apply.
  absl::StatusOr<ConfigAndProgress> EnterJoint(bool auto_leave,
                                               const std::vector<ConfChangeSingle>& changes) const;
  // Leaves a joint configuration. INVALID_ARGUMENT when not joint.
  absl::StatusOr<ConfigAndProgress> LeaveJoint() const;
  // Applies changes that alter at most one voter. INVALID_ARGUMENT when joint,
  // when more than one voter changes, or when no voter would remain.
  absl::StatusOr<ConfigAndProgress> Simple(const std::vector<ConfChangeSingle>& changes) const;

  // Applies a ConfChange as proposed: LeaveJoint for an empty change list,
  // EnterJoint for several changes or an explicit joint transition, else Simple.
  absl::StatusOr<ConfigAndProgress> Apply(const ConfChange& change) const;

 private:
  absl::Status ApplyChanges(ConfigAndProgress* cp,
                            const std::vector<ConfChangeSingle>& changes) const;
  void MakeVoter(ConfigAndProgress* cp, NodeId id) const;
  void MakeLearner(ConfigAndProgress* cp, NodeId id) const;
  void Remove(ConfigAndProgress* cp, NodeId id) const;
  void InitProgress(ConfigAndProgress* cp, NodeId id, bool is_learner) const;
  absl::StatusOr<ConfigAndProgress> CheckedCopy() const;

  const ProgressTracker& tracker_;
  uint64_t last_index_;
};

// True when the change enters a joint configuration; *auto_leave says whether
// it is left automatically.
bool EntersJoint(const ConfChange& change, bool* auto_leave);
bool LeavesJoint(const ConfChange& change);

// Rebuilds the configuration a ConfState describes, by replaying it as
// changes from an empty configuration. INVALID_ARGUMENT for an impossible state.
absl::StatusOr<ConfigAndProgress> RestoreConfig(const ConfState& conf_state,
                                                const ProgressTracker& empty_tracker,
                                                uint64_t last_index);

// INVALID_ARGUMENT unless the configuration is internally consistent.
absl::Status CheckInvariants(const MembershipConfig& config, const ProgressMap& progress);

}  // namespace rkv::raft
