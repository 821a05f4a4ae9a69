// NodeConfig: everything rkvd is told at start (flags or RKV_* environment
// variables, see server/main.cc), with Validate(). Plain data; copied into
// the node at start.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/validate.h"

namespace rkv::server {

struct NodeConfig {
  uint64_t node_id = 0;
  std::string client_address = "127.0.0.1:7001";
  std::string peer_address = "127.0.0.1:7101";
  std::string metrics_address = "127.0.0.1:9101";
  std::string data_dir = "./data/node1";
  // "1=127.0.0.1:7101,2=127.0.0.1:7102,...": the initial members' peer addresses.
  std::string initial_cluster;
  // Client and metrics addresses of the initial members, same format; when
  // empty they are derived from the peer addresses by the default port offsets
  // (client = peer - 100, metrics = peer + 2000), matching `make cluster`.
  std::string initial_client_addresses;
  std::string initial_metrics_addresses;
  uint64_t partitions = 8;
  uint64_t replication_factor = 3;

  uint64_t tick_ms = 100;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // Raft log entries kept after the applied index before compaction.
  uint64_t log_retain_entries = 10000;

  Limits limits;
  // Proposals waiting to commit, per node; more get RESOURCE_EXHAUSTED.
  uint64_t max_pending_proposals = 20000;
  // Reads waiting for ReadIndex or apply, per node.
  uint64_t max_pending_reads = 20000;
  std::string log_level = "info";
  // Off only to measure what metrics cost; the HTTP endpoints still answer.
  bool metrics_enabled = true;
  // Leaders hand each partition to its preferred voter (DriverOptions).
  bool balance_leaders = true;
  // Linearizable reads on a leader skip the heartbeat round while its read
  // lease holds (server/read_lease.h); off, every read batch takes a round.
  bool read_lease = true;
  // /readyz fails while a hosted partition's applied index trails its commit
  // index by more than this.
  uint64_t ready_max_apply_lag = 1000;

  absl::Status Validate() const;
  // How long a leader's read lease lasts past the start of the heartbeat
  // round that confirmed it, in nanoseconds; 0 when read_lease is off or the
  // election timeout is too short to hold one.
  int64_t ReadLeaseNanos() const;
};

struct MemberAddresses {
  std::string peer;
  std::string client;
  std::string metrics;
};

// Parses "id=host:port,..." (ids positive and unique). INVALID_ARGUMENT naming
// the bad element otherwise.
absl::StatusOr<std::map<uint64_t, std::string>> ParseAddressList(const std::string& list);
// The initial members with all three addresses.
absl::StatusOr<std::map<uint64_t, MemberAddresses>> InitialMembers(const NodeConfig& config);

}  // namespace rkv::server
