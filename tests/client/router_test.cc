#include "client/router.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::client {
namespace {

constexpr uint64_t kMax = ~uint64_t{0};
constexpr uint64_t kHalf = kMax / 2;
const absl::Time kNow = absl::FromUnixSeconds(1000);

// Members 1..3 at m1..m3; partition 1 owns the low half (leader 1), partition
// 2 the high half (leader second_leader; 0: the map does not know it, as when
// the node that answered does not host partition 2).
Topology TwoPartitions(uint64_t second_leader = 2) {
  v1::MemberListResponse members;
  for (int i = 1; i <= 3; ++i) {
    v1::Member* m = members.add_members();
    m->set_id(i);
    m->set_client_address("m" + std::to_string(i));
  }
  v1::PartitionListResponse partitions;
  for (int i = 1; i <= 2; ++i) {
    v1::Partition* p = partitions.add_partitions();
    p->set_id(i);
    p->set_hash_start(i == 1 ? 0 : kHalf + 1);
    p->set_hash_end(i == 1 ? kHalf : kMax);
    p->set_leader_id(i == 1 ? 1 : second_leader);
    for (int r = 1; r <= 3; ++r) p->add_replicas()->set_member_id(r);
  }
  absl::StatusOr<Topology> topology = Topology::Build(members, partitions);
  EXPECT_TRUE(topology.ok());
  return *std::move(topology);
}

Router MakeRouter(bool route_to_leader = true) {
  return Router({"seed-a", "seed-b"}, route_to_leader, absl::Milliseconds(100), absl::Seconds(1));
}

v1::ErrorDetail Hint(uint64_t leader_id, uint64_t partition_id, std::string address = "") {
  v1::ErrorDetail detail;
  detail.set_not_proposed(true);
  detail.set_leader_id(leader_id);
  detail.set_partition_id(partition_id);
  detail.set_leader_address(std::move(address));
  return detail;
}

// Issue #4: each key goes to its partition's leader.
TEST(RouterTest, RoutesKeysToTheirPartitionLeader) {
  Router router = MakeRouter();
  router.Update(TwoPartitions());
  Route low = router.Pick(10, false, 0, 0, kNow);
  EXPECT_EQ(low.address, "m1");
  EXPECT_EQ(low.partition_id, 1u);
  EXPECT_TRUE(low.to_leader);
  Route high = router.Pick(kMax - 1, false, 0, 0, kNow);
  EXPECT_EQ(high.address, "m2");
  EXPECT_EQ(high.partition_id, 2u);
}

// Without a topology, a key, or routing, calls go to the endpoints in turn.
TEST(RouterTest, FallsBackToEndpointsRotatingByAttempt) {
  Router empty = MakeRouter();
  EXPECT_EQ(empty.Pick(10, false, 0, 0, kNow).address, "seed-a");
  EXPECT_EQ(empty.Pick(10, false, 0, 1, kNow).address, "seed-b");
  EXPECT_EQ(empty.Pick(10, false, 1, 1, kNow).address, "seed-a");

  Router routed = MakeRouter();
  routed.Update(TwoPartitions());
  EXPECT_EQ(routed.Pick(std::nullopt, false, 0, 0, kNow).address, "seed-a");

  Router plain = MakeRouter(/*route_to_leader=*/false);
  plain.Update(TwoPartitions());
  Route route = plain.Pick(10, false, 1, 0, kNow);
  EXPECT_EQ(route.address, "seed-b");
  EXPECT_FALSE(route.to_leader);
}

// ErrorDetail leader hints: the cached leader follows the hint, by the
// member's client address when the topology knows it.
TEST(RouterTest, FollowsLeaderHints) {
  Router router = MakeRouter();
  router.Update(TwoPartitions());
  Route first = router.Pick(10, false, 0, 0, kNow);
  const v1::ErrorDetail hint = Hint(3, 1, "ignored-when-member-known");
  EXPECT_TRUE(router.OnFailure(first, &hint, false, kNow));
  EXPECT_EQ(router.Pick(10, false, 0, 1, kNow).address, "m3");
  // The other partition is untouched.
  EXPECT_EQ(router.Pick(kMax, false, 0, 0, kNow).address, "m2");
  // A member the topology does not know: the hint's address, and a refresh.
  const v1::ErrorDetail unknown = Hint(9, 1, "m9");
  EXPECT_TRUE(router.OnFailure(router.Pick(10, false, 0, 0, kNow), &unknown, false, kNow));
  EXPECT_EQ(router.Pick(10, false, 0, 0, kNow).address, "m9");
  EXPECT_TRUE(router.MaybeBeginRefresh(absl::Now()));
}

// A hint naming the node just tried does not count as moving the call.
TEST(RouterTest, HintToTheSameNodeIsNotAMove) {
  Router router = MakeRouter();
  router.Update(TwoPartitions());
  const v1::ErrorDetail hint = Hint(1, 1);
  EXPECT_FALSE(router.OnFailure(router.Pick(10, false, 0, 0, kNow), &hint, false, kNow));
  EXPECT_EQ(router.Pick(10, false, 0, 1, kNow).address, "m1");
}

// A failure without a hint drops the cached leader (the next attempt goes
// through an endpoint, which forwards) and asks for a refresh.
TEST(RouterTest, FailureWithoutHintDropsTheLeaderAndWantsRefresh) {
  Router router = MakeRouter();
  router.Update(TwoPartitions());
  EXPECT_FALSE(router.MaybeBeginRefresh(absl::Now()));
  Route route = router.Pick(10, false, 0, 0, kNow);
  EXPECT_FALSE(router.OnFailure(route, nullptr, false, kNow));
  EXPECT_FALSE(router.CachedLeader(1).has_value());
  EXPECT_EQ(router.CachedLeader(2), "m2");
  EXPECT_EQ(router.Pick(10, false, 0, 1, kNow).address, "seed-b");
  EXPECT_TRUE(router.MaybeBeginRefresh(absl::Now()));
  // A fresh topology restores the leader.
  router.Update(TwoPartitions());
  router.EndRefresh(true);
  EXPECT_EQ(router.Pick(10, false, 0, 0, kNow).address, "m1");
}

// A node that could not be reached is avoided for down_period even if the
// cluster map still names it leader; endpoints that are down are skipped.
TEST(RouterTest, UnreachableNodesAreAvoidedForDownPeriod) {
  Router router = MakeRouter();
  router.Update(TwoPartitions());
  EXPECT_FALSE(router.OnFailure(router.Pick(10, false, 0, 0, kNow), nullptr, true, kNow));
  router.Update(TwoPartitions());  // the map still says m1 leads partition 1
  EXPECT_EQ(router.CachedLeader(1), "m1");
  EXPECT_EQ(router.Pick(10, false, 0, 0, kNow).address, "seed-a");
  EXPECT_EQ(router.Pick(10, false, 0, 0, kNow + absl::Seconds(1)).address, "m1");

  Route seed = router.Pick(std::nullopt, false, 0, 0, kNow);
  EXPECT_EQ(seed.address, "seed-a");
  router.OnFailure(seed, nullptr, true, kNow);
  EXPECT_EQ(router.Pick(std::nullopt, false, 0, 0, kNow).address, "seed-b");
  EXPECT_EQ(router.Pick(std::nullopt, false, 0, 1, kNow).address, "seed-b");
  router.OnFailure(router.Pick(std::nullopt, false, 0, 0, kNow), nullptr, true, kNow);
  // All down: the turn's own endpoint.
  EXPECT_EQ(router.Pick(std::nullopt, false, 0, 0, kNow).address, "seed-a");
}

// Refreshes: one at a time, at most one per min_refresh_interval; a failed
// one stays wanted.
TEST(RouterTest, RefreshIsRateLimitedAndSingleFlight) {
  Router router = MakeRouter();
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  router.WantRefresh();
  EXPECT_TRUE(router.MaybeBeginRefresh(t0));
  router.WantRefresh();
  EXPECT_FALSE(router.MaybeBeginRefresh(t0 + absl::Seconds(1)));  // one in flight
  router.EndRefresh(false);
  EXPECT_FALSE(router.MaybeBeginRefresh(t0 + absl::Milliseconds(50)));  // too soon
  EXPECT_TRUE(router.MaybeBeginRefresh(t0 + absl::Milliseconds(100)));
  router.EndRefresh(true);
  EXPECT_FALSE(router.MaybeBeginRefresh(t0 + absl::Seconds(10)));  // not wanted
}

// Serializable reads: the first attempt spreads over the replicas, retries
// go to the leader.
TEST(RouterTest, AnyReplicaSpreadsFirstAttempts) {
  Router router = MakeRouter();
  router.Update(TwoPartitions());
  std::set<std::string> seen;
  for (uint64_t salt = 0; salt < 3; ++salt)
    seen.insert(router.Pick(10, true, salt, 0, kNow).address);
  EXPECT_EQ(seen, (std::set<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(router.Pick(10, true, 2, 1, kNow).address, "m1");
}

// A partition the cluster map gives no leader for learns it from the header
// of an answer (a forwarded call); a cached leader is only replaced by a
// failure's hint, never by an answer.
TEST(RouterTest, AnswersTeachLeadersTheMapLacks) {
  Router router = MakeRouter();
  router.Update(TwoPartitions(/*second_leader=*/0));
  Route through_endpoint = router.Pick(kMax, false, 0, 0, kNow);
  EXPECT_EQ(through_endpoint.address, "seed-a");
  EXPECT_FALSE(through_endpoint.to_leader);
  EXPECT_FALSE(router.OnAnswer(2, 0));  // the answering node did not know either
  EXPECT_FALSE(router.CachedLeader(2).has_value());
  EXPECT_FALSE(router.OnAnswer(2, 9));  // a member the topology does not know
  EXPECT_FALSE(router.CachedLeader(2).has_value());
  EXPECT_TRUE(router.OnAnswer(2, 3));
  Route direct = router.Pick(kMax, false, 0, 0, kNow);
  EXPECT_EQ(direct.address, "m3");
  EXPECT_TRUE(direct.to_leader);
  // An answer naming another leader (a replica with an older view) is ignored.
  EXPECT_FALSE(router.OnAnswer(2, 1));
  EXPECT_EQ(router.CachedLeader(2), "m3");
  EXPECT_FALSE(router.OnAnswer(1, 2));
  EXPECT_EQ(router.CachedLeader(1), "m1");
  // Partition 0 is not a key's partition; without routing nothing is cached.
  EXPECT_FALSE(router.OnAnswer(0, 1));
  EXPECT_FALSE(router.CachedLeader(0).has_value());
  Router plain = MakeRouter(/*route_to_leader=*/false);
  plain.Update(TwoPartitions(/*second_leader=*/0));
  EXPECT_FALSE(plain.OnAnswer(2, 3));
  EXPECT_FALSE(plain.CachedLeader(2).has_value());
}

}  // namespace
}  // namespace rkv::client
