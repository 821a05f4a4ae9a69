#include "cli/bench_report.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace rkv::cli {
namespace {

struct Quantile {
  const char* name;
  double q;
};
constexpr Quantile kQuantiles[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p99_9", 0.999}};

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

double PerSecond(uint64_t ops, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(ops) / seconds : 0.0;
}

// CPU microseconds per successful operation.
double MicrosPerOp(absl::Duration cpu, uint64_t ops) {
  return ops == 0 ? 0.0 : absl::ToDoubleMicroseconds(cpu) / static_cast<double>(ops);
}

absl::Duration TotalServerCpu(const BenchResult& result, bool* all_known) {
  absl::Duration total;
  *all_known = true;
  for (const ProcessCpu& p : result.server_cpu) {
    if (p.cpu.ok()) {
      total += *p.cpu;
    } else {
      *all_known = false;
    }
  }
  return total;
}

std::string Shape(const BenchConfig& c) {
  std::string reads;
  if (c.workload == Workload::kMixed) {
    reads = absl::StrFormat(" (%.0f%% reads%s)", c.read_fraction * 100,
                            c.serializable ? ", serializable" : "");
  } else if (c.workload == Workload::kRead) {
    reads = c.serializable ? " (serializable)" : " (linearizable)";
  }
  return absl::StrCat(WorkloadName(c.workload), reads, ", ", c.clients, " clients, ", c.connections,
                      " connections per node, routing ",
                      c.routing && c.workload != Workload::kEcho ? "on" : "off");
}

std::string JsonText(const BenchResult& r) {
  const BenchConfig& c = r.config;
  JsonWriter json;
  json.BeginObject();
  json.Key("workload").String(WorkloadName(c.workload));
  json.Key("clients").Int(c.clients);
  json.Key("connections").Int(c.connections);
  json.Key("key_bytes").Uint(c.key_bytes);
  json.Key("value_bytes").Uint(c.value_bytes);
  json.Key("key_space").Uint(c.key_space);
  json.Key("read_fraction")
      .Double(c.workload == Workload::kMixed  ? c.read_fraction
              : c.workload == Workload::kRead ? 1.0
                                              : 0.0);
  json.Key("serializable").Bool(c.serializable);
  json.Key("routing").Bool(c.routing && c.workload != Workload::kEcho);
  json.Key("prefilled").Uint(r.prefilled);
  json.Key("elapsed_s").Double(absl::ToDoubleSeconds(r.elapsed));
  json.Key("ops").Uint(r.ops);
  json.Key("errors").Uint(r.errors);
  json.Key("errors_by_code").BeginObject();
  for (const auto& [code, count] : r.errors_by_code) json.Key(code).Uint(count);
  json.EndObject();
  json.Key("ops_per_s").Double(PerSecond(r.ops, r.elapsed));
  if (c.workload == Workload::kRead || c.workload == Workload::kMixed) {
    json.Key("reads").Uint(r.reads);
    json.Key("reads_found").Uint(r.reads_found);
  }
  json.Key("latency_ms").BeginObject();
  json.Key("min").Double(Ms(r.latency.min()));
  json.Key("mean").Double(r.latency.mean() / 1e6);
  for (const Quantile& q : kQuantiles) json.Key(q.name).Double(Ms(r.latency.ValueAtQuantile(q.q)));
  json.Key("max").Double(Ms(r.latency.max()));
  json.EndObject();
  json.Key("server_cpu").BeginObject();
  json.Key("processes").BeginArray();
  for (const ProcessCpu& p : r.server_cpu) {
    json.BeginObject();
    json.Key("pid").Int(p.pid);
    if (p.cpu.ok()) {
      json.Key("cpu_s").Double(absl::ToDoubleSeconds(*p.cpu));
    } else {
      json.Key("error").String(p.cpu.status().message());
    }
    json.EndObject();
  }
  json.EndArray();
  bool all_known = true;
  const absl::Duration server_cpu = TotalServerCpu(r, &all_known);
  json.Key("total_cpu_s").Double(absl::ToDoubleSeconds(server_cpu));
  json.Key("cpu_us_per_op").Double(MicrosPerOp(server_cpu, r.ops));
  json.Key("complete").Bool(all_known);
  json.EndObject();
  json.Key("bench_cpu_s").Double(absl::ToDoubleSeconds(r.bench_cpu));
  json.Key("bench_cpu_us_per_op").Double(MicrosPerOp(r.bench_cpu, r.ops));
  json.EndObject();
  return json.Take();
}

}  // namespace

std::string RenderBench(const BenchResult& r, OutputFormat format) {
  if (format == OutputFormat::kJson) return JsonText(r);
  const BenchConfig& c = r.config;
  Table table({"", ""});
  auto row = [&](std::string name, std::string value) {
    table.AddRow({std::move(name), std::move(value)});
  };
  row("workload", Shape(c));
  if (c.workload == Workload::kEcho) {
    row("payload", absl::StrCat(c.value_bytes, " B"));
  } else {
    row("keys",
        absl::StrCat(
            c.key_space, " keys of ", c.key_bytes, " B, values of ", c.value_bytes, " B",
            r.prefilled > 0 ? absl::StrCat(" (", r.prefilled, " prefilled)") : std::string()));
  }
  row("elapsed",
      absl::StrFormat("%.2f s%s", absl::ToDoubleSeconds(r.elapsed),
                      c.warmup > absl::ZeroDuration()
                          ? absl::StrCat(" after ", absl::FormatDuration(c.warmup), " of warmup")
                          : std::string()));
  row("operations", absl::StrCat(r.ops, " ok, ", r.errors, " failed"));
  row("throughput", absl::StrFormat("%.0f ops/s", PerSecond(r.ops, r.elapsed)));
  std::vector<std::string> latency = {absl::StrFormat("min %.3f", Ms(r.latency.min()))};
  for (const Quantile& q : kQuantiles) {
    std::string name = q.name;
    if (name == "p99_9") name = "p99.9";
    latency.push_back(absl::StrFormat("%s %.3f", name, Ms(r.latency.ValueAtQuantile(q.q))));
  }
  latency.push_back(absl::StrFormat("max %.3f", Ms(r.latency.max())));
  row("latency (ms)", absl::StrCat(absl::StrJoin(latency, "  "),
                                   absl::StrFormat("  (mean %.3f)", r.latency.mean() / 1e6)));
  if (c.workload == Workload::kRead || c.workload == Workload::kMixed) {
    row("reads", absl::StrFormat("%d, %.1f%% found", r.reads,
                                 r.reads == 0 ? 0.0 : 100.0 * r.reads_found / r.reads));
  }
  if (!r.errors_by_code.empty()) {
    std::vector<std::string> codes;
    for (const auto& [code, count] : r.errors_by_code)
      codes.push_back(absl::StrCat(code, " ", count));
    row("errors", absl::StrJoin(codes, ", "));
  }
  if (!r.server_cpu.empty()) {
    std::vector<std::string> parts;
    for (const ProcessCpu& p : r.server_cpu) {
      parts.push_back(
          p.cpu.ok() ? absl::StrFormat("pid %d %.2f s", p.pid, absl::ToDoubleSeconds(*p.cpu))
                     : absl::StrFormat("pid %d unknown (%s)", p.pid, p.cpu.status().message()));
    }
    bool all_known = true;
    const absl::Duration total = TotalServerCpu(r, &all_known);
    row("server cpu", absl::StrFormat("%s; total %.2f s = %.1f us/op%s", absl::StrJoin(parts, ", "),
                                      absl::ToDoubleSeconds(total), MicrosPerOp(total, r.ops),
                                      all_known ? "" : " (incomplete)"));
  }
  row("bench cpu", absl::StrFormat("%.2f s = %.1f us/op", absl::ToDoubleSeconds(r.bench_cpu),
                                   MicrosPerOp(r.bench_cpu, r.ops)));
  // The two-column table without its empty header line.
  std::string text = table.Render();
  return text.substr(text.find('\n') + 1);
}

}  // namespace rkv::cli
