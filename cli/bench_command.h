// `rkvctl bench`: flags, run and report (bench.h does the work). Not
// thread-safe; main thread only.
#pragma once

#include "cli/command.h"

namespace rkv::cli {

void AddBenchCommand(CLI::App& app, CommandSet& commands);

// "1,2,3" -> {1, 2, 3}; INVALID_ARGUMENT naming a bad entry. Empty -> {}.
absl::StatusOr<std::vector<int>> ParsePids(absl::string_view text);

}  // namespace rkv::cli
