// Quorum arithmetic: the committed index and the vote result of a majority
// configuration and of a joint configuration (two majorities, thesis §4.3).
// Pure functions over sorted id sets; no state of their own.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "absl/functional/function_ref.h"
#include "raft/types.h"

namespace rkv::raft {

enum class VoteResult { kPending, kLost, kWon };

// Answers "what index has this voter acknowledged?"; false when unknown.
using AckedIndexFn = absl::FunctionRef<bool(NodeId, uint64_t*)>;
// Answers "how did this voter vote?": 1 yes, 0 no, -1 not yet.
using VoteOfFn = absl::FunctionRef<int(NodeId)>;

class MajorityConfig {
 public:
  MajorityConfig() = default;
  explicit MajorityConfig(std::set<NodeId> ids) : ids_(std::move(ids)) {}

  // The largest index acknowledged by a majority. An empty configuration
  // returns UINT64_MAX so that it never limits a joint configuration.
  uint64_t CommittedIndex(AckedIndexFn acked) const;
  // kWon once a majority voted yes, kLost once a majority cannot be reached.
  // An empty configuration wins (it never blocks a joint configuration).
  VoteResult Vote(VoteOfFn vote_of) const;

  const std::set<NodeId>& ids() const { return ids_; }
  std::set<NodeId>& mutable_ids() { return ids_; }
  bool Contains(NodeId id) const { return ids_.count(id) > 0; }
  bool empty() const { return ids_.empty(); }
  size_t size() const { return ids_.size(); }
  std::string ToString() const;

 private:
  std::set<NodeId> ids_;
};

// The voters: incoming alone, or incoming and outgoing while joint. A decision
// needs a majority of each (thesis §4.3).
struct JointConfig {
  MajorityConfig incoming;
  MajorityConfig outgoing;

  uint64_t CommittedIndex(AckedIndexFn acked) const;
  VoteResult Vote(VoteOfFn vote_of) const;
  bool IsJoint() const { return !outgoing.empty(); }
  bool Contains(NodeId id) const { return incoming.Contains(id) || outgoing.Contains(id); }
  // Union of both sides, sorted.
  std::set<NodeId> Ids() const;
  std::string ToString() const;
};

}  // namespace rkv::raft
