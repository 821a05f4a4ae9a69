#include "server/inbox.h"

#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::server {
namespace {

TEST(InboxTest, AnItemPushedWithoutWakingWaitsForTheDeadline) {
  Inbox<int> inbox(8);
  ASSERT_TRUE(inbox.PushWithoutWaking(1));
  std::vector<int> out;
  const auto wait = std::chrono::milliseconds(50);
  const SteadyClock::time_point start = SteadyClock::now();
  inbox.TakeAll(start + wait, &out);
  EXPECT_GE(SteadyClock::now() - start, wait);
  EXPECT_EQ(out, std::vector<int>({1}));
}

TEST(InboxTest, APushWakesTheTakerAndBringsTheUnhurriedItemsAlong) {
  Inbox<int> inbox(8);
  ASSERT_TRUE(inbox.PushWithoutWaking(1));
  std::vector<int> out;
  std::thread taker([&] { inbox.TakeAll(SteadyClock::time_point::max(), &out); });
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
  inbox.TakeAllNow(&out);
  EXPECT_EQ(out, std::vector<int>({1, 2}));
  EXPECT_TRUE(inbox.PushWithoutWaking(5));
}

TEST(InboxTest, AClosedInboxRefusesBothKindsOfPush) {
  Inbox<int> inbox(8);
  inbox.Close();
  EXPECT_FALSE(inbox.Push(1));
  EXPECT_FALSE(inbox.PushWithoutWaking(2));
  std::vector<int> out;
  inbox.TakeAll(SteadyClock::time_point::max(), &out);  // returns at once: closed
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace rkv::server
