// LocalCluster: real rkvd processes on loopback for integration tests, each
// with free ports and its own data directory under a TempDir. Nodes can be
// killed with any signal, paused, resumed and restarted on the same data.
// On failure, DumpLogs() prints every node's log. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rkv/v1/cluster.grpc.pb.h"
#include "rkv/v1/kv.grpc.pb.h"
#include "tests/util/temp_dir.h"

namespace rkv::testing {

struct LocalClusterOptions {
  int nodes = 3;
  int partitions = 4;
  int replication_factor = 3;
  // Short ticks keep failover tests quick.
  int tick_ms = 50;
  std::vector<std::string> extra_flags;
  // rkvd's --balance-leaders; while on, WaitForLeaders also waits for each
  // partition's preferred leader.
  bool balance_leaders = true;
  // Extra environment (NAME=value) for one node's process, by node id, each
  // replacing an inherited variable of that name: for example LD_PRELOAD of
  // libfaketime to move that node's wall clock.
  std::map<uint64_t, std::vector<std::string>> node_env = {};
};

class LocalCluster final {
 public:
  explicit LocalCluster(const LocalClusterOptions& options);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // Starts every node; returns false if one exits at once.
  bool Start();
  bool StartNode(uint64_t id);
  // Sends a signal; SIGKILL and SIGTERM also reap the process.
  void Signal(uint64_t id, int signal);
  void Kill(uint64_t id) { Signal(id, 9); }
  bool Running(uint64_t id) const;
  pid_t Pid(uint64_t id) const { return nodes_.at(id).pid; }

  std::vector<uint64_t> ids() const;
  const std::string& ClientAddress(uint64_t id) const { return nodes_.at(id).client; }
  const std::string& MetricsAddress(uint64_t id) const { return nodes_.at(id).metrics; }
  v1::KV::Stub& Kv(uint64_t id);
  v1::Cluster::Stub& Cluster(uint64_t id);

  // The leader of partition as node `via` reports it (0 when none).
  uint64_t LeaderOf(uint64_t partition, uint64_t via);
  // True once every running node reports a leader for every partition it
  // hosts and, with balance_leaders, each partition whose replicas all run is
  // led by its preferred node.
  bool AllPartitionsHaveLeaders();
  // Waits for AllPartitionsHaveLeaders() up to timeout_ms.
  bool WaitForLeaders(int timeout_ms = 20000);
  int partitions() const { return options_.partitions; }

  std::string DumpLogs() const;

 private:
  struct Node {
    std::string client;
    std::string peer;
    std::string metrics;
    std::string data_dir;
    std::string log_path;
    pid_t pid = 0;
    std::unique_ptr<v1::KV::Stub> kv;
    std::unique_ptr<v1::Cluster::Stub> cluster;
  };

  LocalClusterOptions options_;
  TempDir dir_;
  std::map<uint64_t, Node> nodes_;
  std::string initial_cluster_;
  std::string initial_clients_;
  std::string initial_metrics_;
};

}  // namespace rkv::testing
