// rkvctl's cluster commands: cluster status, member list, leader transfer,
// endpoint health/status/hash and log-level. Not thread-safe; main thread only.
#pragma once

#include "cli/command.h"

namespace rkv::cli {

// Adds the commands to app and their runners to commands.
void AddClusterCommands(CLI::App& app, CommandSet& commands);

}  // namespace rkv::cli
