// rkvctl bench: a closed-loop load generator. `clients` slots each keep one
// request outstanding (a new one starts when the last answers), all driven
// by gRPC's callback API from gRPC's few threads. Keys and values are made
// before the run; each slot reuses its request and response messages, so an
// operation allocates nothing of its own. Each slot records latencies in its
// own Histogram (no sharing, no locks); they are merged after the run. With
// routing, each key goes straight to its partition's leader (learned as the
// client library does). The CPU time of given server processes is read from
// /proc before and after the measured window to give CPU per operation.
// RunBench blocks its caller; not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/histogram.h"
#include "client/options.h"

namespace rkv::cli {

enum class Workload { kWrite, kRead, kMixed, kEcho };

// "write", "read", "mixed" or "echo"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Workload> ParseWorkload(absl::string_view text);
const char* WorkloadName(Workload workload);

// Bounds on a run's shape.
inline constexpr int kMaxBenchClients = 10000;
inline constexpr int kMaxBenchConnections = 64;
inline constexpr uint64_t kMaxBenchKeySpaceBytes = uint64_t{1} << 30;

struct BenchConfig {
  Workload workload = Workload::kWrite;
  // Requests in flight at once (closed loop).
  int clients = 64;
  // gRPC channels (TCP connections) per node.
  int connections = 2;
  size_t key_bytes = 16;
  size_t value_bytes = 100;
  // Keys are key_prefix + a zero-padded number in [0, key_space).
  uint64_t key_space = 100000;
  std::string key_prefix = "bench/";
  // Run this long (after warmup), or until `total` operations when total > 0.
  absl::Duration duration = absl::Seconds(10);
  uint64_t total = 0;
  // Operations started during the first `warmup` are not measured.
  absl::Duration warmup = absl::ZeroDuration();
  // mixed: the fraction of operations that are reads.
  double read_fraction = 0.5;
  // Reads are serializable (served by any replica, possibly stale).
  bool serializable = false;
  // Write every key once before measuring (for read and mixed runs).
  bool prefill = false;
  // Send each key to its partition's leader; else to the endpoints.
  bool routing = true;
  std::vector<int> server_pids;
  uint64_t seed = 1;
  absl::Duration op_timeout = absl::Seconds(5);
  // After a failed operation a slot waits this long before its next one.
  absl::Duration error_pause = absl::Milliseconds(10);

  // INVALID_ARGUMENT naming the first bad field.
  absl::Status Validate() const;
};

struct ProcessCpu {
  int pid = 0;
  // CPU time (user + system) over the measured window, or why it is unknown.
  absl::StatusOr<absl::Duration> cpu;
};

struct BenchResult {
  BenchConfig config;
  // From the start of measuring to the last measured answer.
  absl::Duration elapsed;
  // Measured operations that succeeded, and that failed (by code name).
  uint64_t ops = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_code;
  uint64_t reads = 0;
  uint64_t reads_found = 0;
  // Latency of the successful measured operations.
  Histogram latency;
  std::vector<ProcessCpu> server_cpu;
  // rkvctl's own CPU time over the measured window.
  absl::Duration bench_cpu;
  // Keys written by --prefill.
  uint64_t prefilled = 0;
};

// Runs the benchmark against options.endpoints (options.connections_per_endpoint
// and route_to_leader are taken from config). Prints a progress line to
// `progress` about once a second when it is not null. Errors: INVALID_ARGUMENT
// for a bad config, UNAVAILABLE when the cluster cannot be reached or learned.
// Failed operations do not fail the run: they are counted in the result.
absl::StatusOr<BenchResult> RunBench(const BenchConfig& config, const client::Options& options,
                                     std::FILE* progress);

}  // namespace rkv::cli
