#include "server/steady_mutex.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace rkv::server {
namespace {

TEST(StopSignalTest, AWaitWithoutNotifyTimesOutAfterTheTimeout) {
  StopSignal stop;
  const SteadyClock::time_point start = SteadyClock::now();
  EXPECT_FALSE(stop.WaitFor(absl::Milliseconds(30)));
  EXPECT_GE(SteadyClock::now() - start, std::chrono::milliseconds(30));
}

TEST(StopSignalTest, NotifyWakesAWaiterAndLaterWaitsReturnAtOnce) {
  StopSignal stop;
  bool woken = false;
  std::thread waiter([&] { woken = stop.WaitFor(absl::Hours(1)); });
  stop.Notify();
  waiter.join();
  EXPECT_TRUE(woken);
  EXPECT_TRUE(stop.WaitFor(absl::Hours(1)));
}

TEST(SteadyMutexTest, AwaitUntilAPastDeadlineChecksOnceWithoutWaiting) {
  SteadyMutex mu;
  SteadyMutexLock lock(&mu);
  EXPECT_FALSE(mu.AwaitUntil([] { return false; }, SteadyClock::time_point::min()));
  EXPECT_TRUE(mu.AwaitUntil([] { return true; }, SteadyClock::time_point::min()));
}

}  // namespace
}  // namespace rkv::server
