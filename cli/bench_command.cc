#include "cli/bench_command.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "cli/bench.h"
#include "cli/bench_report.h"

namespace rkv::cli {
namespace {

struct BenchFlags {
  std::string workload;
  BenchConfig config;
  std::string duration = "10s";
  std::string warmup = "0s";
  std::string op_timeout = "5s";
  std::string server_pids;
  bool no_progress = false;
};

// rkvctl is the host process, so the load generator may tune process-wide
// settings; the client library never does.
void TuneProcessForLoad() {
  // Debian's Abseil checks the lock order of every absl::Mutex, which gRPC
  // uses many times per call: a graph update on each lock is a measurable
  // share of the client's CPU per operation.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int RunBenchCommand(const BenchFlags& flags, const Globals& globals) {
  BenchConfig config = flags.config;
  absl::StatusOr<Workload> workload = ParseWorkload(flags.workload);
  if (!workload.ok()) return ReportUsage("bench", workload.status().message());
  config.workload = *workload;
  absl::StatusOr<absl::Duration> duration = ParsePositiveDuration("--duration", flags.duration);
  if (!duration.ok()) return ReportUsage("bench", duration.status().message());
  config.duration = *duration;
  if (!absl::ParseDuration(flags.warmup, &config.warmup)) {
    return ReportUsage("bench", absl::StrCat("--warmup \"", flags.warmup, "\" is not a duration"));
  }
  absl::StatusOr<absl::Duration> op_timeout =
      ParsePositiveDuration("--op-timeout", flags.op_timeout);
  if (!op_timeout.ok()) return ReportUsage("bench", op_timeout.status().message());
  config.op_timeout = *op_timeout;
  absl::StatusOr<std::vector<int>> pids = ParsePids(flags.server_pids);
  if (!pids.ok()) return ReportUsage("bench", pids.status().message());
  config.server_pids = *std::move(pids);
  config.routing = globals.routing.empty() || globals.routing == "on";
  if (absl::Status s = config.Validate(); !s.ok()) return ReportUsage("bench", s.message());

  TuneProcessForLoad();
  std::FILE* progress = !flags.no_progress && isatty(STDERR_FILENO) ? stderr : nullptr;
  absl::StatusOr<BenchResult> result = RunBench(config, globals.options, progress);
  if (!result.ok()) return ReportError("bench", result.status());
  const std::string text = RenderBench(*result, globals.format);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return result->errors == 0 ? kExitOk : kExitError;
}

}  // namespace

absl::StatusOr<std::vector<int>> ParsePids(absl::string_view text) {
  std::vector<int> pids;
  if (absl::StripAsciiWhitespace(text).empty()) return pids;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int pid = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &pid) || pid <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--server-pids entry \"", part, "\" is not a process id"));
    }
    pids.push_back(pid);
  }
  return pids;
}

void AddBenchCommand(CLI::App& app, CommandSet& commands) {
  auto flags = std::make_shared<BenchFlags>();
  BenchConfig& c = flags->config;
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Load generator: write, read, mixed or echo (Maintenance.Echo, the ceiling of one\n"
      "unary call per operation). Prints ops/s, latency p50/p90/p99/p99.9/max and, with\n"
      "--server-pids, the servers' CPU time per operation. Exit code 1 if any operation failed.");
  bench->add_option("workload,--workload", flags->workload, "write, read, mixed or echo")
      ->required();
  bench->add_option("--clients", c.clients, "Requests in flight at once (closed loop)")
      ->capture_default_str();
  bench->add_option("--connections", c.connections, "gRPC connections per node")
      ->capture_default_str();
  bench->add_option("--key-size", c.key_bytes, "Key bytes")->capture_default_str();
  bench->add_option("--value-size", c.value_bytes, "Value (or echo payload) bytes")
      ->capture_default_str();
  bench->add_option("--key-space", c.key_space, "Distinct keys, chosen uniformly")
      ->capture_default_str();
  bench->add_option("--duration", flags->duration, "Measure this long")->capture_default_str();
  bench->add_option("--total", c.total, "Or stop after this many operations")
      ->capture_default_str();
  bench->add_option("--warmup", flags->warmup, "Run this long before measuring")
      ->capture_default_str();
  bench->add_option("--read-fraction", c.read_fraction, "mixed: the fraction of reads")
      ->capture_default_str();
  bench->add_flag("--serializable", c.serializable, "Serializable reads (any replica)");
  bench->add_flag("--prefill", c.prefill, "Write every key once before measuring");
  bench->add_option("--server-pids", flags->server_pids,
                    "Comma-separated server pids whose CPU time per operation to report");
  bench->add_option("--seed", c.seed, "Seeds keys, values and choices")->capture_default_str();
  bench->add_option("--op-timeout", flags->op_timeout, "Deadline of each operation")
      ->capture_default_str();
  bench->add_flag("--no-progress", flags->no_progress, "No progress line on the terminal");
  commands.Add(bench, [flags](const Globals& g) { return RunBenchCommand(*flags, g); });
}

}  // namespace rkv::cli
