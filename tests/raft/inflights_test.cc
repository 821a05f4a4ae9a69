#include "raft/inflights.h"

#include "gtest/gtest.h"

namespace rkv::raft {
namespace {

// The pipelining window is bounded in messages and in bytes (DESIGN §2).
TEST(InflightsTest, FullByCountOrBytesAndFreedByAcknowledgement) {
  Inflights by_count(3, 0);
  by_count.Add(1, 10);
  by_count.Add(2, 10);
  EXPECT_FALSE(by_count.Full());
  by_count.Add(5, 10);
  EXPECT_TRUE(by_count.Full());
  by_count.FreeLE(2);
  EXPECT_EQ(by_count.count(), 1u);
  EXPECT_FALSE(by_count.Full());

  Inflights by_bytes(100, 25);
  by_bytes.Add(1, 10);
  EXPECT_FALSE(by_bytes.Full());
  by_bytes.Add(2, 20);
  EXPECT_TRUE(by_bytes.Full());
  by_bytes.FreeLE(1);
  EXPECT_EQ(by_bytes.bytes(), 20u);
  EXPECT_FALSE(by_bytes.Full());
}

TEST(InflightsTest, FreeFirstReleasesTheOldestSlotOnly) {
  Inflights w(2, 0);
  w.Add(4, 1);
  w.Add(9, 1);
  w.FreeFirst();
  EXPECT_EQ(w.count(), 1u);
  w.FreeLE(8);
  EXPECT_EQ(w.count(), 1u);
  w.FreeLE(9);
  EXPECT_EQ(w.count(), 0u);
  w.FreeFirst();  // Empty: nothing to do.
  EXPECT_EQ(w.count(), 0u);
}

}  // namespace
}  // namespace rkv::raft
