#include "tests/integration/local_cluster.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/partitioner.h"
#include "tests/util/free_port.h"
#include "tests/util/wait_for.h"

extern char** environ;

namespace rkv::testing {

LocalCluster::LocalCluster(const LocalClusterOptions& options) : options_(options) {
  std::vector<std::string> peers, clients, metrics;
  for (int i = 1; i <= options.nodes; ++i) {
    Node& n = nodes_[i];
    n.client = absl::StrCat("127.0.0.1:", FreePort());
    n.peer = absl::StrCat("127.0.0.1:", FreePort());
    n.metrics = absl::StrCat("127.0.0.1:", FreePort());
    n.data_dir = dir_.Sub(absl::StrCat("node", i));
    n.log_path = dir_.Sub(absl::StrCat("node", i, ".log"));
    peers.push_back(absl::StrCat(i, "=", n.peer));
    clients.push_back(absl::StrCat(i, "=", n.client));
    metrics.push_back(absl::StrCat(i, "=", n.metrics));
    auto channel = grpc::CreateChannel(n.client, grpc::InsecureChannelCredentials());
    n.kv = v1::KV::NewStub(channel);
    n.cluster = v1::Cluster::NewStub(channel);
  }
  initial_cluster_ = absl::StrJoin(peers, ",");
  initial_clients_ = absl::StrJoin(clients, ",");
  initial_metrics_ = absl::StrJoin(metrics, ",");
}

LocalCluster::~LocalCluster() {
  for (auto& [id, n] : nodes_) {
    if (n.pid > 0) {
      kill(n.pid, SIGCONT);
      Signal(id, SIGKILL);
    }
  }
}

bool LocalCluster::Start() {
  for (auto& [id, n] : nodes_) {
    if (!StartNode(id)) return false;
  }
  return true;
}

bool LocalCluster::StartNode(uint64_t id) {
  Node& n = nodes_.at(id);
  std::vector<std::string> args = {
      RKV_RKVD_PATH,
      absl::StrCat("--node-id=", id),
      absl::StrCat("--client-address=", n.client),
      absl::StrCat("--peer-address=", n.peer),
      absl::StrCat("--metrics-address=", n.metrics),
      absl::StrCat("--data-dir=", n.data_dir),
      absl::StrCat("--initial-cluster=", initial_cluster_),
      absl::StrCat("--initial-client-addresses=", initial_clients_),
      absl::StrCat("--initial-metrics-addresses=", initial_metrics_),
      absl::StrCat("--partitions=", options_.partitions),
      absl::StrCat("--replication-factor=", options_.replication_factor),
      absl::StrCat("--tick-ms=", options_.tick_ms),
      absl::StrCat("--balance-leaders=", options_.balance_leaders ? "true" : "false"),
  };
  for (const std::string& flag : options_.extra_flags) args.push_back(flag);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  if (auto it = options_.node_env.find(id); it != options_.node_env.end()) {
    for (const std::string& extra : it->second) {
      // A variable set here replaces the inherited one of that name.
      const std::string name = extra.substr(0, extra.find('=') + 1);
      env.erase(std::remove_if(env.begin(), env.end(),
                               [&](const std::string& e) { return e.rfind(name, 0) == 0; }),
                env.end());
      env.push_back(extra);
    }
  }
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, n.log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  n.pid = pid;
  // A node that cannot start exits at once; one that binds its port is up.
  // It binds only after opening every partition: thousands take a while.
  return WaitFor(
      [&] {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
          n.pid = 0;
          return true;
        }
        auto channel = grpc::CreateChannel(n.client, grpc::InsecureChannelCredentials());
        return channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Milliseconds(50)));
      },
      absl::Seconds(120)) &&
         n.pid != 0;
}

void LocalCluster::Signal(uint64_t id, int signal) {
  Node& n = nodes_.at(id);
  if (n.pid <= 0) return;
  kill(n.pid, signal);
  if (signal == SIGKILL || signal == SIGTERM) {
    int status = 0;
    waitpid(n.pid, &status, 0);
    n.pid = 0;
  }
}

bool LocalCluster::Running(uint64_t id) const { return nodes_.at(id).pid > 0; }

std::vector<uint64_t> LocalCluster::ids() const {
  std::vector<uint64_t> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

v1::KV::Stub& LocalCluster::Kv(uint64_t id) { return *nodes_.at(id).kv; }
v1::Cluster::Stub& LocalCluster::Cluster(uint64_t id) { return *nodes_.at(id).cluster; }

uint64_t LocalCluster::LeaderOf(uint64_t partition, uint64_t via) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  v1::PartitionListResponse response;
  if (!Cluster(via).PartitionList(&context, v1::PartitionListRequest(), &response).ok()) return 0;
  for (const v1::Partition& p : response.partitions()) {
    if (p.id() == partition) return p.leader_id();
  }
  return 0;
}

bool LocalCluster::AllPartitionsHaveLeaders() {
  for (auto& [id, n] : nodes_) {
    if (n.pid <= 0) continue;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::PartitionListResponse response;
    if (!n.cluster->PartitionList(&context, v1::PartitionListRequest(), &response).ok()) return false;
    for (const v1::Partition& p : response.partitions()) {
      bool hosted = false;
      for (const v1::ReplicaStatus& r : p.replicas()) hosted |= r.member_id() == id;
      if (!hosted) continue;
      // The leader must be a running node.
      auto leader = nodes_.find(p.leader_id());
      if (leader == nodes_.end() || leader->second.pid <= 0) return false;
      // rkvd hands leadership to the preferred node once it is up; until then
      // a transfer may refuse a test's request.
      std::vector<uint64_t> members;
      bool all_running = true;
      for (const v1::ReplicaStatus& r : p.replicas()) {
        members.push_back(r.member_id());
        auto node = nodes_.find(r.member_id());
        all_running &= node != nodes_.end() && node->second.pid > 0;
      }
      if (options_.balance_leaders && all_running && p.leader_id() != server::PreferredLeader(p.id(), members)) {
        return false;
      }
    }
  }
  return true;
}

bool LocalCluster::WaitForLeaders(int timeout_ms) {
  return WaitFor([this] { return AllPartitionsHaveLeaders(); }, absl::Milliseconds(timeout_ms),
                 absl::Milliseconds(50));
}

std::string LocalCluster::DumpLogs() const {
  std::string out;
  for (const auto& [id, n] : nodes_) {
    std::ifstream in(n.log_path);
    std::stringstream text;
    text << in.rdbuf();
    absl::StrAppend(&out, "===== node ", id, " (", n.log_path, ") =====\n", text.str());
  }
  return out;
}

}  // namespace rkv::testing
