#include "cli/proc_stat.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rkv::cli {

absl::StatusOr<uint64_t> ParseCpuTicks(absl::string_view stat) {
  const size_t close = stat.rfind(')');
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError("stat text has no \")\" after the command name");
  }
  // Fields from 3 (state) on; utime and stime are fields 14 and 15.
  std::vector<absl::string_view> fields =
      absl::StrSplit(stat.substr(close + 1), ' ', absl::SkipEmpty());
  constexpr size_t kUtime = 14 - 3;
  constexpr size_t kStime = 15 - 3;
  uint64_t utime = 0;
  uint64_t stime = 0;
  if (fields.size() <= kStime || !absl::SimpleAtoi(fields[kUtime], &utime) ||
      !absl::SimpleAtoi(fields[kStime], &stime)) {
    return absl::InvalidArgumentError("stat text has no numeric utime and stime (fields 14, 15)");
  }
  return utime + stime;
}

absl::StatusOr<absl::Duration> ProcessCpuTime(int pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("process ", pid, " not found (", path, ")"));
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<uint64_t> ticks = ParseCpuTicks(text.str());
  if (!ticks.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", ticks.status().message()));
  }
  return TicksToDuration(*ticks);
}

absl::Duration TicksToDuration(uint64_t ticks) {
  static const long kTicksPerSecond = sysconf(_SC_CLK_TCK);
  const long per_second = kTicksPerSecond > 0 ? kTicksPerSecond : 100;
  return absl::Seconds(static_cast<double>(ticks) / static_cast<double>(per_second));
}

}  // namespace rkv::cli
