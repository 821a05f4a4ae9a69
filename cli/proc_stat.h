// CPU time of a process from /proc/<pid>/stat (utime + stime, in clock
// ticks), for rkvctl bench's CPU-per-operation figure. Linux only. Stateless;
// thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rkv::cli {

// utime + stime in clock ticks from the text of a /proc/<pid>/stat file. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'. INVALID_ARGUMENT when the text is malformed.
absl::StatusOr<uint64_t> ParseCpuTicks(absl::string_view stat);

// The CPU time used so far by process pid. NOT_FOUND when the process does
// not exist (any more); INVALID_ARGUMENT when its stat file is malformed.
absl::StatusOr<absl::Duration> ProcessCpuTime(int pid);

// Clock ticks to time (sysconf(_SC_CLK_TCK), usually 100 per second, so the
// resolution is 10 ms).
absl::Duration TicksToDuration(uint64_t ticks);

}  // namespace rkv::cli
