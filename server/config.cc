#include "server/config.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rkv::server {
namespace {

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" is not host:port"));
  }
  return std::make_pair(address.substr(0, colon), port);
}

absl::StatusOr<std::string> OffsetPort(const std::string& address, int offset) {
  absl::StatusOr<std::pair<std::string, int>> hp = SplitHostPort(address);
  if (!hp.ok()) return hp.status();
  const int port = hp->second + offset;
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("cannot derive a port from \"", address, "\""));
  }
  return absl::StrCat(hp->first, ":", port);
}

}  // namespace

absl::StatusOr<std::map<uint64_t, std::string>> ParseAddressList(const std::string& list) {
  std::map<uint64_t, std::string> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    std::vector<std::string> parts = absl::StrSplit(item, absl::MaxSplits('=', 1));
    uint64_t id = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &id) || id == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", std::string(item), "\" is not id=host:port with a positive id"));
    }
    if (absl::StatusOr<std::pair<std::string, int>> hp = SplitHostPort(parts[1]); !hp.ok()) {
      return hp.status();
    }
    if (!out.emplace(id, parts[1]).second) {
      return absl::InvalidArgumentError(absl::StrCat("member id ", id, " appears twice"));
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("the member list is empty");
  return out;
}

absl::StatusOr<std::map<uint64_t, MemberAddresses>> InitialMembers(const NodeConfig& config) {
  absl::StatusOr<std::map<uint64_t, std::string>> peers = ParseAddressList(config.initial_cluster);
  if (!peers.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--initial-cluster: ", peers.status().message()));
  }
  std::map<uint64_t, std::string> clients;
  std::map<uint64_t, std::string> metrics;
  for (auto [list, out, flag] : {std::make_tuple(&config.initial_client_addresses, &clients,
                                                 "--initial-client-addresses"),
                                 std::make_tuple(&config.initial_metrics_addresses, &metrics,
                                                 "--initial-metrics-addresses")}) {
    if (list->empty()) continue;
    absl::StatusOr<std::map<uint64_t, std::string>> parsed = ParseAddressList(*list);
    if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", parsed.status().message()));
    *out = std::move(*parsed);
  }
  std::map<uint64_t, MemberAddresses> members;
  for (const auto& [id, peer] : *peers) {
    MemberAddresses m;
    m.peer = peer;
    if (auto it = clients.find(id); it != clients.end()) {
      m.client = it->second;
    } else {
      absl::StatusOr<std::string> derived = OffsetPort(peer, -100);
      if (!derived.ok()) return derived.status();
      m.client = *derived;
    }
    if (auto it = metrics.find(id); it != metrics.end()) {
      m.metrics = it->second;
    } else {
      absl::StatusOr<std::string> derived = OffsetPort(peer, 2000);
      if (!derived.ok()) return derived.status();
      m.metrics = *derived;
    }
    members.emplace(id, std::move(m));
  }
  return members;
}

absl::Status NodeConfig::Validate() const {
  if (node_id == 0) return absl::InvalidArgumentError("--node-id must be a positive integer");
  if (data_dir.empty()) return absl::InvalidArgumentError("--data-dir is empty");
  absl::StatusOr<std::map<uint64_t, MemberAddresses>> members = InitialMembers(*this);
  if (!members.ok()) return members.status();
  if (!members->count(node_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node-id ", node_id, " is not in --initial-cluster"));
  }
  if (partitions == 0 || partitions > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("--partitions is ", partitions, "; it must be in [1, 4096]"));
  }
  if (replication_factor == 0 || replication_factor > members->size()) {
    return absl::InvalidArgumentError(absl::StrCat("--replication-factor is ", replication_factor,
                                                   "; it must be in [1, ", members->size(),
                                                   "] (the number of initial members)"));
  }
  if (tick_ms == 0 || tick_ms > 10000) {
    return absl::InvalidArgumentError(absl::StrCat("--tick-ms is ", tick_ms, "; it must be in [1, 10000]"));
  }
  if (heartbeat_ticks <= 0 || election_ticks <= heartbeat_ticks) {
    return absl::InvalidArgumentError(absl::StrCat("--election-ticks (", election_ticks,
                                                   ") must be larger than --heartbeat-ticks (",
                                                   heartbeat_ticks, ") and both positive"));
  }
  if (max_pending_proposals == 0 || max_pending_reads == 0) {
    return absl::InvalidArgumentError("pending request bounds must be positive");
  }
  static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool known_level = false;
  for (const char* level : kLevels) known_level |= log_level == level;
  if (!known_level) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log-level is \"", log_level, "\"; use trace, debug, info, warn, error, critical or off"));
  }
  return limits.Validate();
}

int64_t NodeConfig::ReadLeaseNanos() const {
  // A follower ignores vote requests until election_ticks of its ticks have
  // passed since it heard the leader. The driver ticks at most once per tick
  // interval after the first tick, so that is at least election_ticks - 2
  // intervals after the heartbeat arrived, which is after the leader started
  // the round. A tenth is left for the clocks' rates to differ.
  if (!read_lease || election_ticks <= 2) return 0;
  const int64_t guaranteed_ns = static_cast<int64_t>(election_ticks - 2) *
                                static_cast<int64_t>(tick_ms) * 1'000'000;
  return guaranteed_ns / 10 * 9;
}

}  // namespace rkv::server
