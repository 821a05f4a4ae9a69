#include "server/steady_mutex.h"

#include <chrono>
#include <thread>

#include "absl/time/clock.h"
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

TEST(SteadyDeadlineTest, KeepsTheTimeLeftAndClampsThePastAndTheInfinite) {
  const SteadyClock::time_point before = SteadyClock::now();
  const SteadyClock::time_point in_a_minute = SteadyDeadline(absl::Now() + absl::Minutes(1));
  EXPECT_GE(in_a_minute, before + std::chrono::seconds(59));
  EXPECT_LE(in_a_minute, SteadyClock::now() + std::chrono::seconds(60));
  const SteadyClock::time_point an_hour_ago = SteadyDeadline(absl::Now() - absl::Hours(1));
  EXPECT_LE(an_hour_ago, SteadyClock::now());
  EXPECT_EQ(SteadyDeadline(absl::InfiniteFuture()), SteadyClock::time_point::max());
}

TEST(SinceTest, MeasuresOnTheMonotonicClock) {
  const SteadyClock::time_point a_second_ago = SteadyClock::now() - std::chrono::seconds(1);
  const absl::Duration since = Since(a_second_ago);
  EXPECT_GE(since, absl::Seconds(1));
  EXPECT_LT(since, absl::Seconds(60));
}

}  // namespace
}  // namespace rkv::server
