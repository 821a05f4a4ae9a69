#include "server/stall_watch.h"

#include <atomic>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/util/wait_for.h"

namespace rkv::server {
namespace {

using ::rkv::testing::WaitFor;

TEST(ProgressWatchTest, AStallIsTakenOncePerWatchedCallAndNeverOutsideOne) {
  ProgressWatch watch;
  EXPECT_FALSE(watch.TakeStall(absl::ZeroDuration())) << "no call is in progress";
  for (int call = 0; call < 2; ++call) {
    watch.Watched([&] {
      EXPECT_TRUE(WaitFor([&] { return watch.TakeStall(absl::Milliseconds(5)); }, absl::Seconds(10)));
      // The stall was taken: a watchdog asking again gets nothing.
      EXPECT_FALSE(watch.TakeStall(absl::ZeroDuration()));
      return 0;
    });
  }
  EXPECT_FALSE(watch.TakeStall(absl::ZeroDuration()));
}

TEST(PeriodicThreadTest, RunsTheCheckRepeatedlyUntilStopped) {
  std::atomic<int> runs{0};
  PeriodicThread thread("rkv-test-tick", absl::Milliseconds(1), [&] { ++runs; });
  EXPECT_TRUE(WaitFor([&] { return runs.load() >= 3; }, absl::Seconds(10)));
  thread.Stop();
  const int after_stop = runs.load();
  thread.Stop();  // a second Stop is harmless
  EXPECT_EQ(runs.load(), after_stop);
}

}  // namespace
}  // namespace rkv::server
