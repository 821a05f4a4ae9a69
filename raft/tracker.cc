#include "raft/tracker.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rkv::raft {

ConfState MembershipConfig::ToConfState() const {
  ConfState cs;
  for (NodeId id : voters.incoming.ids()) cs.add_voters(id);
  for (NodeId id : voters.outgoing.ids()) cs.add_voters_outgoing(id);
  for (NodeId id : learners) cs.add_learners(id);
  for (NodeId id : learners_next) cs.add_learners_next(id);
  cs.set_auto_leave(auto_leave);
  return cs;
}

std::string MembershipConfig::ToString() const {
  std::string s = absl::StrCat("voters=", voters.ToString());
  if (!learners.empty()) absl::StrAppend(&s, " learners=(", absl::StrJoin(learners, " "), ")");
  if (!learners_next.empty()) {
    absl::StrAppend(&s, " learners_next=(", absl::StrJoin(learners_next, " "), ")");
  }
  if (auto_leave) absl::StrAppend(&s, " autoleave");
  return s;
}

Progress* ProgressTracker::Find(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::Find(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

void ProgressTracker::Reset(MembershipConfig config, ProgressMap progress) {
  config_ = std::move(config);
  progress_ = std::move(progress);
}

uint64_t ProgressTracker::Committed() const {
  return config_.voters.CommittedIndex([this](NodeId id, uint64_t* index) {
    auto it = progress_.find(id);
    if (it == progress_.end()) return false;
    *index = it->second.match();
    return true;
  });
}

bool ProgressTracker::QuorumActive() const {
  return config_.voters.Vote([this](NodeId id) {
           auto it = progress_.find(id);
           if (it == progress_.end() || it->second.is_learner()) return -1;
           return it->second.recent_active() ? 1 : 0;
         }) == VoteResult::kWon;
}

VoteResult ProgressTracker::TallyVotes(size_t* granted, size_t* rejected) const {
  *granted = 0;
  *rejected = 0;
  for (const auto& [id, vote] : votes_) {
    if (!config_.voters.Contains(id)) continue;
    if (vote) {
      ++*granted;
    } else {
      ++*rejected;
    }
  }
  return config_.voters.Vote([this](NodeId id) {
    auto it = votes_.find(id);
    if (it == votes_.end()) return -1;
    return it->second ? 1 : 0;
  });
}

bool ProgressTracker::QuorumAcked(const std::set<NodeId>& acks) const {
  return config_.voters.Vote([&acks](NodeId id) { return acks.count(id) ? 1 : -1; }) ==
         VoteResult::kWon;
}

}  // namespace rkv::raft
