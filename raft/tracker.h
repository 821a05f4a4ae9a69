// ProgressTracker: the current membership (voters, joint or not, learners) and
// the leader's Progress for each member, plus the votes of an election. Not
// thread-safe; owned by Consensus.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "raft/progress.h"
#include "raft/quorum.h"
#include "raft/types.h"

namespace rkv::raft {

// A membership configuration (thesis §4.3 for the joint form).
struct MembershipConfig {
  JointConfig voters;
  // Learners receive the log but never vote or count for commit. A node is never
  // a voter and a learner at once.
  std::set<NodeId> learners;
  // Outgoing voters that become learners when the joint configuration is left.
  std::set<NodeId> learners_next;
  // Leave the joint configuration automatically once it is applied.
  bool auto_leave = false;

  ConfState ToConfState() const;
  std::string ToString() const;
};

using ProgressMap = std::map<NodeId, Progress>;

class ProgressTracker final {
 public:
  ProgressTracker(uint64_t max_inflight_msgs, uint64_t max_inflight_bytes)
      : max_inflight_msgs_(max_inflight_msgs), max_inflight_bytes_(max_inflight_bytes) {}

  const MembershipConfig& config() const { return config_; }
  const ProgressMap& progress() const { return progress_; }
  ProgressMap& mutable_progress() { return progress_; }
  Progress* Find(NodeId id);
  const Progress* Find(NodeId id) const;
  void Reset(MembershipConfig config, ProgressMap progress);
  Progress MakeProgress(uint64_t next) const {
    return Progress(next, max_inflight_msgs_, max_inflight_bytes_);
  }

  // The largest index a quorum of voters has persisted (Raft paper §5.3).
  uint64_t Committed() const;
  // True when a quorum of voters was heard from recently (check-quorum, thesis §6.2).
  bool QuorumActive() const;

  void ResetVotes() { votes_.clear(); }
  void RecordVote(NodeId id, bool granted) { votes_.emplace(id, granted); }
  VoteResult TallyVotes(size_t* granted, size_t* rejected) const;
  // For ReadIndex: did a quorum acknowledge? `acks` are the ids that did.
  bool QuorumAcked(const std::set<NodeId>& acks) const;

 private:
  uint64_t max_inflight_msgs_;
  uint64_t max_inflight_bytes_;
  MembershipConfig config_;
  ProgressMap progress_;
  std::map<NodeId, bool> votes_;
};

}  // namespace rkv::raft
