#include "server/inbox.h"

#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace rkv::server {
namespace {

TEST(InboxTest, AnItemPushedWithoutWakingWaitsForTheDeadline) {
  Inbox<int> inbox(8);
  ASSERT_TRUE(inbox.PushWithoutWaking(1));
  std::vector<int> out;
  const absl::Duration wait = absl::Milliseconds(50);
  const absl::Time start = absl::Now();
  inbox.TakeAll(start + wait, &out);
  EXPECT_GE(absl::Now() - start, wait);
  EXPECT_EQ(out, std::vector<int>({1}));
}

TEST(InboxTest, APushWakesTheTakerAndBringsTheUnhurriedItemsAlong) {
  Inbox<int> inbox(8);
  ASSERT_TRUE(inbox.PushWithoutWaking(1));
  std::vector<int> out;
  std::thread taker([&] { inbox.TakeAll(absl::InfiniteFuture(), &out); });
  ASSERT_TRUE(inbox.Push(2));
  taker.join();
  EXPECT_EQ(out, std::vector<int>({1, 2}));
}

TEST(InboxTest, BothKindsOfItemCountAgainstTheCapacity) {
  Inbox<int> inbox(2);
  EXPECT_TRUE(inbox.PushWithoutWaking(1));
  EXPECT_TRUE(inbox.Push(2));
  EXPECT_FALSE(inbox.Push(3));
  EXPECT_FALSE(inbox.PushWithoutWaking(4));
  std::vector<int> out;
  inbox.TakeAll(absl::InfinitePast(), &out);
  EXPECT_EQ(out, std::vector<int>({1, 2}));
  EXPECT_TRUE(inbox.PushWithoutWaking(5));
}

TEST(InboxTest, AClosedInboxRefusesBothKindsOfPush) {
  Inbox<int> inbox(8);
  inbox.Close();
  EXPECT_FALSE(inbox.Push(1));
  EXPECT_FALSE(inbox.PushWithoutWaking(2));
  std::vector<int> out;
  inbox.TakeAll(absl::InfiniteFuture(), &out);  // returns at once: closed
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace rkv::server
