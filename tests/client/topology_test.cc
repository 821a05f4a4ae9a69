#include "client/topology.h"

#include <string>
#include <vector>

#include "client/key_hash.h"
#include "gtest/gtest.h"

namespace rkv::client {
namespace {

struct Range {
  uint64_t id;
  uint64_t start;
  uint64_t end;
  uint64_t leader;
};

v1::PartitionListResponse Partitions(const std::vector<Range>& ranges) {
  v1::PartitionListResponse response;
  for (const Range& r : ranges) {
    v1::Partition* p = response.add_partitions();
    p->set_id(r.id);
    p->set_hash_start(r.start);
    p->set_hash_end(r.end);
    p->set_leader_id(r.leader);
    for (uint64_t member = 1; member <= 3; ++member) p->add_replicas()->set_member_id(member);
  }
  return response;
}

v1::MemberListResponse Members(int count) {
  v1::MemberListResponse response;
  for (int i = 1; i <= count; ++i) {
    v1::Member* m = response.add_members();
    m->set_id(i);
    m->set_client_address("10.0.0." + std::to_string(i) + ":7001");
  }
  return response;
}

constexpr uint64_t kMax = ~uint64_t{0};

// DESIGN §4: a key's partition is the one whose [hash_start, hash_end] holds
// the key's hash; partition 0 (meta) owns no keys.
TEST(TopologyTest, FindsThePartitionHoldingEachHash) {
  const uint64_t q = kMax / 4;
  absl::StatusOr<Topology> topology =
      Topology::Build(Members(3), Partitions({{0, 0, kMax, 1},  // meta: must be ignored
                                              {3, 2 * q + 1, 3 * q, 3},
                                              {1, 0, q, 1},
                                              {2, q + 1, 2 * q, 2},
                                              {4, 3 * q + 1, kMax, 1}}));
  ASSERT_TRUE(topology.ok()) << topology.status();
  ASSERT_EQ(topology->partitions().size(), 4u);
  struct Case {
    uint64_t hash;
    uint64_t want_partition;
  };
  const std::vector<Case> cases = {
      {0, 1}, {q, 1}, {q + 1, 2}, {2 * q, 2}, {2 * q + 1, 3}, {3 * q, 3}, {3 * q + 1, 4}, {kMax, 4},
  };
  for (const Case& c : cases) {
    const PartitionInfo* p = topology->FindByHash(c.hash);
    ASSERT_NE(p, nullptr) << c.hash;
    EXPECT_EQ(p->partition_id, c.want_partition) << c.hash;
  }
  EXPECT_EQ(topology->FindById(0), nullptr);
  ASSERT_NE(topology->FindById(3), nullptr);
  EXPECT_EQ(topology->FindById(3)->leader_id, 3u);
  ASSERT_NE(topology->AddressOf(2), nullptr);
  EXPECT_EQ(*topology->AddressOf(2), "10.0.0.2:7001");
  EXPECT_EQ(topology->AddressOf(9), nullptr);
}

// Hash tags (kv.proto): keys sharing a {tag} share a partition.
TEST(TopologyTest, KeysWithOneHashTagShareAPartition) {
  const uint64_t half = kMax / 2;
  absl::StatusOr<Topology> topology =
      Topology::Build(Members(3), Partitions({{1, 0, half, 1}, {2, half + 1, kMax, 2}}));
  ASSERT_TRUE(topology.ok());
  const PartitionInfo* a = topology->FindByHash(KeyHash("{user42}:name"));
  const PartitionInfo* b = topology->FindByHash(KeyHash("{user42}:email"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->partition_id, b->partition_id);
  EXPECT_EQ(KeyHash("{user42}:name"), KeyHash("user42"));
}

// A gap in the hash space is not an error: keys there go to any node.
TEST(TopologyTest, HashesInAGapHaveNoPartition) {
  absl::StatusOr<Topology> topology =
      Topology::Build(Members(1), Partitions({{1, 100, 200, 1}, {2, 300, 400, 1}}));
  ASSERT_TRUE(topology.ok());
  EXPECT_EQ(topology->FindByHash(99), nullptr);
  EXPECT_EQ(topology->FindByHash(250), nullptr);
  EXPECT_EQ(topology->FindByHash(401), nullptr);
  EXPECT_NE(topology->FindByHash(300), nullptr);
}

// Data from the network is validated, never asserted (STYLE §3).
TEST(TopologyTest, MalformedAnswersAreInternalErrors) {
  struct Case {
    const char* name;
    v1::MemberListResponse members;
    v1::PartitionListResponse partitions;
    const char* message_part;
  };
  v1::MemberListResponse twice = Members(2);
  twice.mutable_members(1)->set_id(1);
  v1::MemberListResponse zero = Members(1);
  zero.mutable_members(0)->set_id(0);
  const std::vector<Case> cases = {
      {"overlap", Members(1), Partitions({{1, 0, 100, 1}, {2, 100, 200, 1}}), "overlapping"},
      {"inverted", Members(1), Partitions({{1, 200, 100, 1}}), "above hash_end"},
      {"duplicate partition", Members(1), Partitions({{1, 0, 10, 1}, {1, 20, 30, 1}}),
       "partition 1 twice"},
      {"duplicate member", twice, Partitions({}), "member 1 twice"},
      {"member id 0", zero, Partitions({}), "id 0"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Topology> topology = Topology::Build(c.members, c.partitions);
    ASSERT_FALSE(topology.ok()) << c.name;
    EXPECT_EQ(topology.status().code(), absl::StatusCode::kInternal) << c.name;
    EXPECT_NE(std::string(topology.status().message()).find(c.message_part), std::string::npos)
        << c.name << ": " << topology.status().message();
  }
}

}  // namespace
}  // namespace rkv::client
