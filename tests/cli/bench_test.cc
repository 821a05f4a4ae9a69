#include "cli/bench.h"

#include <string>
#include <vector>

#include "cli/bench_command.h"
#include "cli/bench_report.h"
#include "gtest/gtest.h"
#include "tests/client/scripted_server.h"

namespace rkv::cli {
namespace {

TEST(BenchConfigTest, ValidateNamesTheBadFlag) {
  struct Case {
    void (*change)(BenchConfig&);
    const char* message;  // empty: valid
  };
  const std::vector<Case> cases = {
      {[](BenchConfig&) {}, ""},
      {[](BenchConfig& c) { c.clients = 0; }, "--clients is 0"},
      {[](BenchConfig& c) { c.connections = 65; }, "--connections is 65"},
      {[](BenchConfig& c) { c.key_bytes = 8; }, "--key-size is 8"},
      {[](BenchConfig& c) { c.key_space = 0; }, "--key-space must be at least 1"},
      {[](BenchConfig& c) { c.value_bytes = (1 << 20) + 1; }, "--value-size"},
      {[](BenchConfig& c) { c.duration = absl::ZeroDuration(); }, "--duration or a --total"},
      {[](BenchConfig& c) {
         c.total = 10;
         c.warmup = absl::Seconds(1);
       },
       "--warmup needs --duration"},
      {[](BenchConfig& c) { c.read_fraction = 1.5; }, "--read-fraction"},
      {[](BenchConfig& c) { c.serializable = true; }, "--serializable applies to reads"},
      {[](BenchConfig& c) {
         c.workload = Workload::kEcho;
         c.prefill = true;
       },
       "--prefill"},
      {[](BenchConfig& c) {
         c.key_space = 100'000'000;
         c.key_bytes = 4096;
       },
       "the limit is 1073741824"},
  };
  for (const Case& c : cases) {
    BenchConfig config;
    c.change(config);
    const absl::Status status = config.Validate();
    if (std::string(c.message).empty()) {
      EXPECT_TRUE(status.ok()) << status;
      continue;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(std::string(status.message()).find(c.message), std::string::npos) << status;
  }
}

TEST(BenchConfigTest, ParseWorkloadAndPids) {
  EXPECT_EQ(*ParseWorkload("mixed"), Workload::kMixed);
  EXPECT_EQ(ParseWorkload("scan").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParsePids("1, 22,333"), (std::vector<int>{1, 22, 333}));
  EXPECT_TRUE(ParsePids("")->empty());
  EXPECT_EQ(ParsePids("1,x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePids("0").status().code(), absl::StatusCode::kInvalidArgument);
}

BenchResult SampleResult() {
  BenchResult r;
  r.config.workload = Workload::kMixed;
  r.config.clients = 256;
  r.config.server_pids = {10, 11};
  r.elapsed = absl::Seconds(2);
  r.ops = 40000;
  r.errors = 3;
  r.errors_by_code["UNAVAILABLE"] = 3;
  r.reads = 20000;
  r.reads_found = 19000;
  for (int i = 1; i <= 1000; ++i) r.latency.Record(static_cast<uint64_t>(i) * 10000);
  r.server_cpu.push_back({10, absl::Seconds(1)});
  r.server_cpu.push_back({11, absl::NotFoundError("process 11 not found")});
  r.bench_cpu = absl::Milliseconds(400);
  return r;
}

// The figures the issue asks for: ops/s, p50/p90/p99/p99.9/max and server
// CPU per operation. Percentiles are bucket upper edges (histogram.h), so
// 5 ms reads as 5.0135 ms.
TEST(BenchReportTest, JsonCarriesEveryFigure) {
  const std::string json = RenderBench(SampleResult(), OutputFormat::kJson);
  for (const char* part :
       {"\"workload\":\"mixed\"", "\"clients\":256", "\"ops\":40000", "\"errors\":3",
        "\"errors_by_code\":{\"UNAVAILABLE\":3}", "\"ops_per_s\":20000", "\"reads_found\":19000",
        "\"p50\":5.0", "\"p90\":9.0", "\"p99\":9.9", "\"p99_9\":10,", "\"max\":10}",
        "{\"pid\":10,\"cpu_s\":1}", "{\"pid\":11,\"error\":\"process 11 not found\"}",
        "\"total_cpu_s\":1", "\"cpu_us_per_op\":25", "\"complete\":false",
        "\"bench_cpu_us_per_op\":10"}) {
    EXPECT_NE(json.find(part), std::string::npos) << part << "\n" << json;
  }
}

TEST(BenchReportTest, TableHasOneLinePerFigure) {
  const std::string table = RenderBench(SampleResult(), OutputFormat::kTable);
  for (const char* part :
       {"throughput    20000 ops/s", "p50 5.014", "p99.9 10.000", "max 10.000",
        "reads         20000, 95.0% found", "errors        UNAVAILABLE 3",
        "server cpu    pid 10 1.00 s, pid 11 unknown (process 11 not found); total 1.00 s = 25.0 "
        "us/op (incomplete)",
        "bench cpu     0.40 s = 10.0 us/op"}) {
    EXPECT_NE(table.find(part), std::string::npos) << part << "\n" << table;
  }
}

class BenchRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok());
    client::testing::SetOnePartitionMap(server_, {server_.address()}, 1);
    options_.endpoints = {server_.address()};
  }

  BenchConfig Config(Workload workload) {
    BenchConfig config;
    config.workload = workload;
    config.clients = 16;
    config.connections = 2;
    config.key_space = 100;
    config.total = 500;
    config.server_pids = {getpid()};
    return config;
  }

  client::testing::ScriptedServer server_;
  client::Options options_;
};

// End to end against a scripted server on loopback: the run issues exactly
// --total operations, measures each, and reads this process's CPU time.
TEST_F(BenchRunTest, EchoRunsTotalOperations) {
  absl::StatusOr<BenchResult> result = RunBench(Config(Workload::kEcho), options_, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->ops, 500u);
  EXPECT_EQ(result->errors, 0u);
  EXPECT_EQ(result->latency.count(), 500u);
  EXPECT_EQ(server_.echoes(), 500);
  EXPECT_GT(result->elapsed, absl::ZeroDuration());
  ASSERT_EQ(result->server_cpu.size(), 1u);
  EXPECT_TRUE(result->server_cpu[0].cpu.ok());
}

TEST_F(BenchRunTest, MixedWithPrefillAndRouting) {
  BenchConfig config = Config(Workload::kMixed);
  config.prefill = true;
  config.read_fraction = 0.5;
  absl::StatusOr<BenchResult> result = RunBench(config, options_, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->prefilled, 100u);
  EXPECT_EQ(result->ops, 500u);
  EXPECT_EQ(server_.calls(), 600);
  // Seeded: about half are reads, and every scripted Get finds its key.
  EXPECT_GT(result->reads, 150u);
  EXPECT_LT(result->reads, 350u);
  EXPECT_EQ(result->reads_found, result->reads);
  // Prefill writes every key once, in order.
  const std::vector<std::string> keys = server_.keys();
  EXPECT_EQ(keys[0].substr(0, 6), "bench/");
}

// Failed operations are counted by code, not fatal; the run still ends.
TEST_F(BenchRunTest, ErrorsAreCountedByCode) {
  server_.Script(std::vector<client::testing::Reply>(
      5, client::testing::Status(grpc::StatusCode::RESOURCE_EXHAUSTED)));
  BenchConfig config = Config(Workload::kWrite);
  config.routing = false;
  config.error_pause = absl::Milliseconds(1);
  absl::StatusOr<BenchResult> result = RunBench(config, options_, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->ops + result->errors, 500u);
  EXPECT_EQ(result->errors, 5u);
  EXPECT_EQ(result->errors_by_code.at("RESOURCE_EXHAUSTED"), 5u);
}

// A timed run stops near its duration.
TEST_F(BenchRunTest, DurationBoundsTheRun) {
  BenchConfig config = Config(Workload::kEcho);
  config.total = 0;
  config.duration = absl::Milliseconds(300);
  config.warmup = absl::Milliseconds(100);
  absl::StatusOr<BenchResult> result = RunBench(config, options_, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->ops, 0u);
  EXPECT_EQ(result->latency.count(), result->ops);
  EXPECT_LT(result->elapsed, absl::Seconds(5));
}

}  // namespace
}  // namespace rkv::cli
