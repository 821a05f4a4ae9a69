#include "cli/cluster_view.h"

#include <map>
#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace rkv::cli {
namespace {

v1::PartitionListResponse Parse(const std::string& text) {
  v1::PartitionListResponse message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

// What node `self` answers for partition 1 of members 1-3: its own replica
// in full, the others bare (with match indexes where it leads).
v1::PartitionListResponse OwnView(uint64_t self, const std::string& self_fields,
                                  uint64_t leader, const std::string& matches = "") {
  std::string text = "partitions { id: 1 leader_id: " + std::to_string(leader);
  for (uint64_t m = 1; m <= 3; ++m) {
    text += " replicas { member_id: " + std::to_string(m);
    if (m == self) text += " " + self_fields;
    text += " }";
  }
  text += " }";
  v1::PartitionListResponse answer = Parse(text);
  if (!matches.empty()) {
    v1::PartitionListResponse with_matches = Parse(matches);
    for (int i = 0; i < 3; ++i) {
      answer.mutable_partitions(0)->mutable_replicas(i)->set_match_index(
          with_matches.partitions(0).replicas(i).match_index());
    }
  }
  return answer;
}

TEST(ClusterViewTest, EachReplicaComesFromItsOwnMember) {
  const auto leader = OwnView(1, "role: LEADER term: 5 commit_index: 40 applied_index: 40", 1,
                              "partitions { replicas { match_index: 40 } replicas { match_index: "
                              "38 } replicas { match_index: 12 } }");
  const auto follower = OwnView(2, "role: FOLLOWER term: 5 commit_index: 38 applied_index: 37", 1);
  std::map<uint64_t, v1::PartitionListResponse> by_member = {{1, leader}, {2, follower}};
  // Member 3 did not answer: its replica stays as the base has it.
  const v1::PartitionListResponse merged = MergeReplicaViews(follower, by_member);
  const v1::Partition& p = merged.partitions(0);
  EXPECT_EQ(p.leader_id(), 1u);
  EXPECT_EQ(p.replicas(0).role(), v1::ReplicaStatus::LEADER);
  EXPECT_EQ(p.replicas(0).commit_index(), 40u);
  EXPECT_EQ(p.replicas(1).role(), v1::ReplicaStatus::FOLLOWER);
  EXPECT_EQ(p.replicas(1).applied_index(), 37u);
  EXPECT_EQ(p.replicas(1).match_index(), 38u);
  EXPECT_EQ(p.replicas(2).role(), v1::ReplicaStatus::ROLE_UNSPECIFIED);
  EXPECT_EQ(p.replicas(2).match_index(), 12u);
}

// A deposed leader that has not heard of the new term still says it leads;
// the leader at the higher term wins.
TEST(ClusterViewTest, TheLeaderAtTheHighestTermWins) {
  const auto old_leader = OwnView(1, "role: LEADER term: 4 commit_index: 30", 1);
  const auto new_leader = OwnView(3, "role: LEADER term: 6 commit_index: 33", 3);
  const auto follower = OwnView(2, "role: FOLLOWER term: 6 commit_index: 33", 3);
  std::map<uint64_t, v1::PartitionListResponse> by_member = {
      {1, old_leader}, {2, follower}, {3, new_leader}};
  EXPECT_EQ(MergeReplicaViews(old_leader, by_member).partitions(0).leader_id(), 3u);
}

}  // namespace
}  // namespace rkv::cli
