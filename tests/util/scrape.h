// Scrape and Sum: read a node's /metrics (Prometheus text format) in tests.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/util/http_get.h"

namespace rkv::testing {

// Parses the Prometheus text format into "name{labels}" -> value.
inline std::map<std::string, double> Scrape(const std::string& address) {
  std::map<std::string, double> out;
  std::optional<HttpResponse> r = HttpGet(address, "/metrics");
  if (!r || r->status != 200) return out;
  for (absl::string_view line : absl::StrSplit(r->body, '\n', absl::SkipEmpty())) {
    if (line.front() == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    out[std::string(line.substr(0, space))] = std::stod(std::string(line.substr(space + 1)));
  }
  return out;
}

// The sum of every series of a metric whose labels contain all of `parts`.
inline double Sum(const std::map<std::string, double>& metrics, const std::string& name,
                  const std::vector<std::string>& parts = {}) {
  double total = 0;
  for (const auto& [series, value] : metrics) {
    if (series.rfind(name + "{", 0) != 0 && series != name) continue;
    bool match = true;
    for (const std::string& p : parts) match &= series.find(p) != std::string::npos;
    if (match) total += value;
  }
  return total;
}

}  // namespace rkv::testing
