// What rkvctl bench prints: the run's shape, throughput, latency percentiles
// (p50, p90, p99, p99.9, max), errors by code, and CPU time per operation of
// the given server processes and of rkvctl itself; as a table or JSON.
// Pure function; thread-safe.
#pragma once

#include <string>

#include "cli/bench.h"
#include "cli/output.h"

namespace rkv::cli {

std::string RenderBench(const BenchResult& result, OutputFormat format);

}  // namespace rkv::cli
