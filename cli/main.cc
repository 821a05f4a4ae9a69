// rkvctl: the rkv command line. Parses global flags and one command with
// CLI11, then runs it; prints results on stdout (table or JSON) and errors on
// stderr, and exits with the codes of exit_codes.h. CLI11 reports bad usage by
// throwing; those exceptions are caught here, at the edge, and nowhere else.
#include <cstdio>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "cli/bench_command.h"
#include "cli/cluster_commands.h"
#include "cli/command.h"
#include "cli/kv_commands.h"

namespace rkv::cli {
namespace {

constexpr char kDescription[] =
    "rkvctl: command line for rkv, a Raft-replicated key-value database.\n"
    "Exit codes: 0 ok, 1 request failed, 2 usage, 3 key not found, 4 txn compare failed,\n"
    "5 cluster unavailable (a write was not applied), 6 write outcome unknown, 7 unhealthy.";

int Main(int argc, char** argv) {
  CLI::App app(kDescription, "rkvctl");
  app.require_subcommand(1);
  // Global flags may also follow the command (subcommands inherit this).
  app.fallthrough();
  GlobalFlags flags;
  app.add_option("--endpoints", flags.endpoints, "Comma-separated host:port of nodes")
      ->envname("RKV_ENDPOINTS")
      ->capture_default_str();
  app.add_option("-o,--output", flags.output, "table or json")->capture_default_str();
  app.add_option("--timeout", flags.timeout, "Deadline of each request")->capture_default_str();
  app.add_option("--dial-timeout", flags.dial_timeout, "How long to wait for a connection")
      ->capture_default_str();
  app.add_option("--routing", flags.routing,
                 "on: send each key to its partition's leader (learns the cluster first); "
                 "off: any node forwards. Default: off, on for bench");
  CommandSet commands;
  AddKvCommands(app, commands);
  AddClusterCommands(app, commands);
  AddBenchCommand(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  absl::StatusOr<Globals> globals = ResolveGlobals(flags);
  if (!globals.ok()) return ReportUsage("flags", globals.status().message());
  return commands.RunParsed(*globals);
}

}  // namespace
}  // namespace rkv::cli

int main(int argc, char** argv) {
  // As in rkvd: Debian's Abseil checks every absl::Mutex (gRPC's too) for
  // deadlock cycles, which costs the load generator CPU it shares with the
  // servers it measures.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return rkv::cli::Main(argc, argv);
}
