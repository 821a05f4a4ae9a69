#include "raft/quorum.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rkv::raft {

uint64_t MajorityConfig::CommittedIndex(AckedIndexFn acked) const {
  if (ids_.empty()) return std::numeric_limits<uint64_t>::max();
  // Voter counts are small; a stack array avoids allocating on every ack.
  constexpr size_t kStackVoters = 16;
  uint64_t stack[kStackVoters];
  std::vector<uint64_t> heap;
  uint64_t* indexes = stack;
  if (ids_.size() > kStackVoters) {
    heap.resize(ids_.size());
    indexes = heap.data();
  }
  size_t n = 0;
  for (NodeId id : ids_) {
    uint64_t index = 0;
    if (!acked(id, &index)) index = 0;
    indexes[n++] = index;
  }
  std::sort(indexes, indexes + n);
  // The smallest index that a majority (n/2 + 1 voters) has reached.
  return indexes[n - (n / 2 + 1)];
}

VoteResult MajorityConfig::Vote(VoteOfFn vote_of) const {
  if (ids_.empty()) return VoteResult::kWon;
  size_t yes = 0;
  size_t missing = 0;
  for (NodeId id : ids_) {
    int v = vote_of(id);
    if (v < 0) {
      ++missing;
    } else if (v > 0) {
      ++yes;
    }
  }
  const size_t quorum = ids_.size() / 2 + 1;
  if (yes >= quorum) return VoteResult::kWon;
  if (yes + missing >= quorum) return VoteResult::kPending;
  return VoteResult::kLost;
}

std::string MajorityConfig::ToString() const { return absl::StrCat("(", absl::StrJoin(ids_, " "), ")"); }

uint64_t JointConfig::CommittedIndex(AckedIndexFn acked) const {
  return std::min(incoming.CommittedIndex(acked), outgoing.CommittedIndex(acked));
}

VoteResult JointConfig::Vote(VoteOfFn vote_of) const {
  VoteResult in = incoming.Vote(vote_of);
  VoteResult out = outgoing.Vote(vote_of);
  if (in == out) return in;
  if (in == VoteResult::kLost || out == VoteResult::kLost) return VoteResult::kLost;
  return VoteResult::kPending;
}

std::set<NodeId> JointConfig::Ids() const {
  std::set<NodeId> ids = incoming.ids();
  ids.insert(outgoing.ids().begin(), outgoing.ids().end());
  return ids;
}

std::string JointConfig::ToString() const {
  if (!IsJoint()) return incoming.ToString();
  return absl::StrCat(incoming.ToString(), "&&", outgoing.ToString());
}

}  // namespace rkv::raft
