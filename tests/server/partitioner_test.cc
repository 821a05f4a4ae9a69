#include "server/partitioner.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace rkv::server {
namespace {

// DESIGN §4: only the first non-empty {tag} is hashed (Redis Cluster rules).
TEST(PartitionerTest, HashedPartFollowsRedisHashTagRules) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"user:1000", "user:1000"},
      {"{user:1000}.following", "user:1000"},
      {"foo{bar}{zap}", "bar"},
      {"foo{}{bar}", "foo{}{bar}"},
      {"foo{{bar}}zap", "{bar"},
      {"foo{bar", "foo{bar"},
      {"}{x}", "x"},
      {"", ""},
  };
  for (const auto& [key, want] : cases) EXPECT_EQ(Partitioner::HashedPart(key), want) << key;
}

TEST(PartitionerTest, KeysSharingATagShareAPartition) {
  Partitioner p(64);
  const uint64_t partition = p.PartitionOf("{account:7}.balance");
  for (const char* key : {"{account:7}.history", "{account:7}", "x{account:7}y"}) {
    EXPECT_EQ(p.PartitionOf(key), partition) << key;
  }
}

// The ranges tile the hash space exactly, and a key's partition is the one
// whose range holds its hash.
TEST(PartitionerTest, RangesTileTheHashSpaceAndContainTheirKeys) {
  for (uint64_t count : {1, 2, 3, 7, 8, 1000}) {
    Partitioner p(count);
    EXPECT_EQ(p.RangeOf(1).start, 0u);
    EXPECT_EQ(p.RangeOf(count).end, UINT64_MAX);
    for (uint64_t i = 1; i < count; ++i) {
      EXPECT_EQ(p.RangeOf(i).end + 1, p.RangeOf(i + 1).start) << count << " " << i;
    }
    for (int k = 0; k < 200; ++k) {
      const std::string key = absl::StrCat("key-", k);
      const uint64_t partition = p.PartitionOf(key);
      ASSERT_GE(partition, 1u);
      ASSERT_LE(partition, count);
      const uint64_t hash = Partitioner::KeyHash(key);
      EXPECT_GE(hash, p.RangeOf(partition).start);
      EXPECT_LE(hash, p.RangeOf(partition).end);
    }
  }
}

TEST(PartitionerTest, SpreadsKeysEvenly) {
  Partitioner p(8);
  std::map<uint64_t, int> counts;
  constexpr int kKeys = 80000;
  for (int k = 0; k < kKeys; ++k) ++counts[p.PartitionOf(absl::StrCat("k", k))];
  ASSERT_EQ(counts.size(), 8u);
  for (const auto& [partition, n] : counts) {
    EXPECT_NEAR(n, kKeys / 8, kKeys / 8 / 10) << "partition " << partition;
  }
}

// Each node prefers about 1/N of the partitions, whatever order the voters
// are listed in, so balanced leadership needs no coordination.
TEST(PreferredLeaderTest, SpreadsPartitionsRoundRobinOverTheSortedVoters) {
  std::map<uint64_t, int> led;
  for (uint64_t partition = 0; partition < 9; ++partition) {
    const uint64_t preferred = PreferredLeader(partition, {3, 1, 2});
    EXPECT_EQ(preferred, PreferredLeader(partition, {1, 2, 3})) << partition;
    ++led[preferred];
  }
  EXPECT_EQ(led, (std::map<uint64_t, int>{{1, 3}, {2, 3}, {3, 3}}));
  EXPECT_EQ(PreferredLeader(0, {7, 5}), 5u);
  EXPECT_EQ(PreferredLeader(1, {7, 5}), 7u);
  EXPECT_EQ(PreferredLeader(4, {}), 0u);
}

}  // namespace
}  // namespace rkv::server
