// rkvctl's key-value commands: put, get, del, range (alias scan) and txn.
// Not thread-safe; main thread only.
#pragma once

#include "cli/command.h"

namespace rkv::cli {

// Adds the commands to app and their runners to commands. The flag storage
// lives as long as the runners.
void AddKvCommands(CLI::App& app, CommandSet& commands);

}  // namespace rkv::cli
