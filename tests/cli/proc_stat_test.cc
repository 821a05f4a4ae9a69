#include "cli/proc_stat.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace rkv::cli {
namespace {

// /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after the
// command name, which may hold spaces and parentheses (proc(5)).
TEST(ProcStatTest, ParsesUtimePlusStime) {
  EXPECT_EQ(*ParseCpuTicks("1234 (rkvd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 "
                           "0 1000 100000 200"),
            300u);
  EXPECT_EQ(*ParseCpuTicks("77 (a (weird) name) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0"), 10u);
  EXPECT_EQ(ParseCpuTicks("no parenthesis").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCpuTicks("1 (x) S 1 2").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCpuTicks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProcStatTest, ReadsThisProcessAndReportsMissingOnes) {
  absl::StatusOr<absl::Duration> self = ProcessCpuTime(getpid());
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_GE(*self, absl::ZeroDuration());
  // pid_max is at most 2^22 on Linux, so this pid cannot exist.
  EXPECT_EQ(ProcessCpuTime(1 << 23).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(TicksToDuration(0), absl::ZeroDuration());
}

}  // namespace
}  // namespace rkv::cli
