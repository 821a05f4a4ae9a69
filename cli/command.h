// What every rkvctl command shares: the global flags resolved into client
// options, error reporting with exit codes, bounded input reading, and the
// table of leaf commands that main() dispatches to after CLI11 has parsed.
// Not thread-safe; used by the main thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/exit_codes.h"
#include "cli/output.h"
#include "client/client.h"
#include "client/options.h"

namespace CLI {
class App;
}  // namespace CLI

namespace rkv::cli {

// The global flags as typed.
struct GlobalFlags {
  std::string endpoints = "127.0.0.1:7001";
  std::string output = "table";
  std::string timeout = "5s";
  std::string dial_timeout = "2s";
  // "on", "off", or empty for the command's default.
  std::string routing;
};

// The global flags, checked.
struct Globals {
  client::Options options;
  OutputFormat format = OutputFormat::kTable;
  absl::Duration timeout;
  // The --routing value; empty when not given.
  std::string routing;

  absl::Time Deadline() const { return absl::Now() + timeout; }
  // Connects with routing on or off (by --routing, else default_routing).
  absl::StatusOr<std::unique_ptr<client::Client>> Connect(bool default_routing) const;
};

absl::StatusOr<Globals> ResolveGlobals(const GlobalFlags& flags);

// "a:1,b:2" -> {"a:1", "b:2"}; INVALID_ARGUMENT for an empty list or entry.
absl::StatusOr<std::vector<std::string>> ParseEndpoints(absl::string_view text);
// absl::ParseDuration with a message naming the flag; must be positive.
absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view flag,
                                                     absl::string_view text);

// Reads all of a file ("-" for stdin), at most max_bytes. INVALID_ARGUMENT
// when larger; NOT_FOUND when it cannot be opened.
absl::StatusOr<std::string> ReadInput(const std::string& path, size_t max_bytes);

// Prints "rkvctl <command>: <CODE>: <message>" on stderr and returns the
// status's exit code.
int ReportError(absl::string_view command, const absl::Status& status);
// The same for a usage error found before anything was sent: exit code 2.
int ReportUsage(absl::string_view command, absl::string_view message);

// Leaf commands: the CLI11 subcommand and what runs when it was parsed.
class CommandSet final {
 public:
  using Run = std::function<int(const Globals&)>;

  void Add(CLI::App* app, Run run);
  // Runs the one leaf that CLI11 parsed; kExitUsage when none was (CLI11's
  // require_subcommand normally reports that first).
  int RunParsed(const Globals& globals) const;

 private:
  std::vector<std::pair<CLI::App*, Run>> commands_;
};

}  // namespace rkv::cli
