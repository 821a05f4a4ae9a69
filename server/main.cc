// rkvd: one rkv node. Flags (or RKV_* environment variables) -> NodeConfig ->
// Node::Start -> wait for SIGINT/SIGTERM -> orderly shutdown.
#include <signal.h>

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "server/logging.h"
#include "server/node.h"
#include "spdlog/spdlog.h"

namespace {

// Exit codes a script can rely on.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitStartFailed = 3;

void AddFlags(CLI::App& app, rkv::server::NodeConfig& c) {
  app.add_option("--node-id", c.node_id, "This node's id: a positive integer listed in --initial-cluster")
      ->envname("RKV_NODE_ID")
      ->required();
  app.add_option("--client-address", c.client_address, "host:port for clients (gRPC KV, Cluster, Maintenance)")
      ->envname("RKV_CLIENT_ADDRESS")
      ->capture_default_str();
  app.add_option("--peer-address", c.peer_address, "host:port for the other nodes (Raft traffic)")
      ->envname("RKV_PEER_ADDRESS")
      ->capture_default_str();
  app.add_option("--metrics-address", c.metrics_address,
                 "host:port of the HTTP server for /metrics, /healthz, /readyz and /sd")
      ->envname("RKV_METRICS_ADDRESS")
      ->capture_default_str();
  app.add_option("--data-dir", c.data_dir,
                 "Where this node keeps its data; must be empty or belong to this node and cluster")
      ->envname("RKV_DATA_DIR")
      ->capture_default_str();
  app.add_option("--initial-cluster", c.initial_cluster,
                 "Every initial member's peer address: 1=127.0.0.1:7101,2=127.0.0.1:7102,...")
      ->envname("RKV_INITIAL_CLUSTER")
      ->required();
  app.add_option("--initial-client-addresses", c.initial_client_addresses,
                 "Every initial member's client address, same format (default: peer port - 100)")
      ->envname("RKV_INITIAL_CLIENT_ADDRESSES");
  app.add_option("--initial-metrics-addresses", c.initial_metrics_addresses,
                 "Every initial member's metrics address, same format (default: peer port + 2000)")
      ->envname("RKV_INITIAL_METRICS_ADDRESSES");
  app.add_option("--partitions", c.partitions, "Number of data partitions (fixed at bootstrap)")
      ->envname("RKV_PARTITIONS")
      ->capture_default_str();
  app.add_option("--replication-factor", c.replication_factor,
                 "Replicas of each partition (fixed at bootstrap)")
      ->envname("RKV_REPLICATION_FACTOR")
      ->capture_default_str();
  app.add_option("--tick-ms", c.tick_ms, "Length of one Raft tick in milliseconds")
      ->envname("RKV_TICK_MS")
      ->capture_default_str();
  app.add_option("--election-ticks", c.election_ticks,
                 "Ticks without a leader before a follower campaigns (randomized up to twice this)")
      ->envname("RKV_ELECTION_TICKS")
      ->capture_default_str();
  app.add_option("--heartbeat-ticks", c.heartbeat_ticks, "Ticks between a leader's heartbeats")
      ->envname("RKV_HEARTBEAT_TICKS")
      ->capture_default_str();
  app.add_option("--log-retain-entries", c.log_retain_entries,
                 "Raft log entries kept behind the applied index before compaction")
      ->envname("RKV_LOG_RETAIN_ENTRIES")
      ->capture_default_str();
  app.add_option("--max-key-bytes", c.limits.max_key_bytes, "Largest key accepted")
      ->envname("RKV_MAX_KEY_BYTES")
      ->capture_default_str();
  app.add_option("--max-value-bytes", c.limits.max_value_bytes, "Largest value accepted")
      ->envname("RKV_MAX_VALUE_BYTES")
      ->capture_default_str();
  app.add_option("--max-txn-ops", c.limits.max_txn_ops, "Most compares plus operations in one Txn")
      ->envname("RKV_MAX_TXN_OPS")
      ->capture_default_str();
  app.add_option("--max-range-keys", c.limits.max_range_keys, "Most keys one Range call returns")
      ->envname("RKV_MAX_RANGE_KEYS")
      ->capture_default_str();
  app.add_option("--max-pending-proposals", c.max_pending_proposals,
                 "Writes waiting to commit on this node; more get RESOURCE_EXHAUSTED")
      ->envname("RKV_MAX_PENDING_PROPOSALS")
      ->capture_default_str();
  app.add_option("--max-pending-reads", c.max_pending_reads,
                 "Linearizable reads waiting on this node; more get RESOURCE_EXHAUSTED")
      ->envname("RKV_MAX_PENDING_READS")
      ->capture_default_str();
  app.add_option("--log-level", c.log_level,
                 "trace, debug, info, warn, error, critical or off (change it later with rkvctl log-level)")
      ->envname("RKV_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--metrics", c.metrics_enabled,
                 "Collect Prometheus metrics (false only to measure their cost)")
      ->envname("RKV_METRICS")
      ->capture_default_str();
  app.add_option("--balance-leaders", c.balance_leaders,
                 "Move each partition's leadership to its preferred node (voters in id order, "
                 "round robin by partition) whenever that node is up and caught up")
      ->envname("RKV_BALANCE_LEADERS")
      ->capture_default_str();
  app.add_option("--read-lease", c.read_lease,
                 "Serve linearizable reads on a leader without a heartbeat round while its "
                 "lease holds: (election ticks - 2) x tick x 0.9 from a quorum's last "
                 "acknowledgement. Assumes clocks advance at rates within 10% of each other; "
                 "false makes every read batch confirm leadership with a round (ReadIndex)")
      ->envname("RKV_READ_LEASE")
      ->capture_default_str();
  app.add_option("--ready-max-apply-lag", c.ready_max_apply_lag,
                 "/readyz fails while a partition's applied index trails its commit by more")
      ->envname("RKV_READY_MAX_APPLY_LAG")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detection on: every lock and unlock, gRPC's included, updates a global
  // lock graph and records stack traces (about 4% of a loaded node's CPU).
  // Unit tests keep it; a running node does not need it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  rkv::server::NodeConfig config;
  CLI::App app("rkvd: a node of rkv, a Raft-replicated key-value database");
  AddFlags(app, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError too; it exits 0.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (absl::Status s = config.Validate(); !s.ok()) {
    std::fprintf(stderr, "rkvd: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (absl::Status s = rkv::server::SetUpLogging(config.node_id, config.log_level); !s.ok()) {
    std::fprintf(stderr, "rkvd: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<rkv::server::Node>> node = rkv::server::Node::Start(config);
  if (!node.ok()) {
    spdlog::critical("cannot start: {}", node.status().ToString());
    return kExitStartFailed;
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received signal {}; stopping", signal);
  (*node)->Shutdown();
  return kExitOk;
}
