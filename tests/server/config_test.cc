#include "server/config.h"

#include "gtest/gtest.h"

namespace rkv::server {
namespace {

TEST(NodeConfigTest, ReadLeaseIsTheGuaranteedElectionTimeoutLessATenth) {
  NodeConfig config;  // 10 election ticks of 100 ms
  EXPECT_EQ(config.ReadLeaseNanos(), 720'000'000);
  config.tick_ms = 50;
  EXPECT_EQ(config.ReadLeaseNanos(), 360'000'000);
  config.election_ticks = 3;
  EXPECT_EQ(config.ReadLeaseNanos(), 45'000'000);
}

TEST(NodeConfigTest, NoReadLeaseWhenOffOrWhenTheElectionTimeoutGuaranteesNothing) {
  NodeConfig config;
  config.read_lease = false;
  EXPECT_EQ(config.ReadLeaseNanos(), 0);
  config.read_lease = true;
  config.election_ticks = 2;
  config.heartbeat_ticks = 1;
  EXPECT_EQ(config.ReadLeaseNanos(), 0);
}

}  // namespace
}  // namespace rkv::server
