// raft_bench: how fast the Raft core commits. A 3-node group runs in memory
// with no faults: the leader proposes batches of 128-byte entries
// (RawNode::ProposeBatch), and each node's driver step follows the Ready
// contract (persist into a MemoryLog, send, apply, Advance), with messages
// moved straight into the receiver's Step. The harness moves rather than
// copies wherever the API allows, so the figures measure the core (and the
// MemoryLog copies the contract requires).
//
// Counters: entries/s = entries applied on all three nodes per second;
// committed/s = entries the leader committed per second. Run it on a Release
// build: build/bin/raft_bench.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "raft/check.h"
#include "raft/config.h"
#include "raft/memory_log.h"
#include "raft/raw_node.h"
#include "raft/ready.h"
#include "raft/types.h"

namespace rkv::raft {
namespace {

constexpr size_t kPayloadBytes = 128;
constexpr NodeId kNodes = 3;
// Each node snapshots and compacts its log this often, keeping kKeepEntries,
// so memory stays bounded however long the benchmark runs (and the log stays
// in cache, as a real log's hot tail does).
constexpr uint64_t kCompactEveryEntries = 1 << 13;
constexpr uint64_t kKeepEntries = 1 << 10;

struct BenchNode {
  MemoryLog log;
  std::unique_ptr<RawNode> raw;
  // Messages sent to this node, delivered at the end of the round.
  std::vector<Message> inbox;
  uint64_t applied = 0;
  uint64_t snapshot_index = 0;
  ConfState conf;
};

class BenchCluster {
 public:
  BenchCluster() {
    ConfState conf;
    for (NodeId id = 1; id <= kNodes; ++id) conf.add_voters(id);
    for (NodeId id = 1; id <= kNodes; ++id) {
      auto node = std::make_unique<BenchNode>();
      node->conf = conf;
      node->log.SetConfState(conf);
      Config config;
      config.id = id;
      config.seed = id;
      absl::StatusOr<std::unique_ptr<RawNode>> raw = RawNode::Create(config, &node->log);
      RKV_CHECK_OK(raw.status());
      node->raw = std::move(*raw);
      nodes_.push_back(std::move(node));
    }
  }

  RawNode& leader() { return *nodes_[0]->raw; }

  // Node 1 campaigns and wins; returns once its first entry is applied everywhere.
  void ElectLeader() {
    leader().Campaign();
    for (int i = 0; i < 100 && !(leader().IsLeader() && AppliedOnAll() > 0); ++i) Pump();
    RKV_CHECK(leader().IsLeader());
  }

  // One round: every node handles its Ready, then every message is delivered.
  void Pump() {
    for (auto& node : nodes_) {
      if (node->raw->HasReady()) HandleReady(*node);
    }
    for (auto& node : nodes_) {
      std::vector<Message> inbox;
      inbox.swap(node->inbox);
      for (Message& m : inbox) RKV_CHECK_OK(node->raw->Step(std::move(m)));
    }
  }

  uint64_t AppliedOnAll() const {
    uint64_t applied = UINT64_MAX;
    for (const auto& node : nodes_) applied = std::min(applied, node->applied);
    return applied;
  }
  uint64_t LeaderApplied() const { return nodes_[0]->applied; }

 private:
  void HandleReady(BenchNode& node) {
    Ready ready = node.raw->TakeReady();
    // 1. Persist.
    if (ready.snapshot) RKV_CHECK_OK(node.log.ApplySnapshot(*ready.snapshot));
    node.log.Append(ready.entries);
    if (ready.hard_state) node.log.SetHardState(*ready.hard_state);
    // 2. Send (moved: Advance reads neither messages nor read states).
    for (Message& m : ready.messages) nodes_[m.to() - 1]->inbox.push_back(std::move(m));
    // 3. Apply: the state machine only counts.
    if (!ready.committed_entries.empty()) {
      benchmark::DoNotOptimize(ready.committed_entries.back().data().data());
      node.applied = ready.committed_entries.back().index();
    }
    // 4. Advance.
    node.raw->Advance();
    if (node.applied >= node.snapshot_index + kCompactEveryEntries) {
      RKV_CHECK_OK(node.log.CreateSnapshot(node.applied, node.conf, std::string()));
      node.snapshot_index = node.applied;
      RKV_CHECK_OK(node.log.Compact(node.applied - kKeepEntries));
    }
  }

  std::vector<std::unique_ptr<BenchNode>> nodes_;
};

// Proposals of state.range(0) entries each, one pump round per proposal, so
// the pipeline stays full: steady-state throughput of the core.
void BM_ProposeBatch(benchmark::State& state) {
  const size_t batch_entries = static_cast<size_t>(state.range(0));
  BenchCluster cluster;
  cluster.ElectLeader();
  const std::string payload(kPayloadBytes, 'x');
  const uint64_t applied_before = cluster.AppliedOnAll();
  const uint64_t committed_before = cluster.LeaderApplied();
  uint64_t refused = 0;
  for (auto _ : state) {
    // Building the batch is the client's cost, but the core needs the data
    // in strings it owns; it is moved in from here on.
    std::vector<std::string> batch(batch_entries, payload);
    absl::Status status = cluster.leader().ProposeBatch(std::move(batch));
    if (!status.ok()) {
      // The uncommitted-bytes bound: let the pipeline drain.
      RKV_CHECK(absl::IsResourceExhausted(status));
      ++refused;
    }
    cluster.Pump();
  }
  const double applied = static_cast<double>(cluster.AppliedOnAll() - applied_before);
  const double committed = static_cast<double>(cluster.LeaderApplied() - committed_before);
  state.counters["entries/s"] = benchmark::Counter(applied, benchmark::Counter::kIsRate);
  state.counters["committed/s"] = benchmark::Counter(committed, benchmark::Counter::kIsRate);
  state.counters["MB/s"] =
      benchmark::Counter(applied * kPayloadBytes / 1e6, benchmark::Counter::kIsRate);
  state.counters["refused"] = static_cast<double>(refused);
}
// Rates are per CPU second: the benchmark is single-threaded, so on an idle
// machine that equals wall time, and on a shared one it still measures the core.
BENCHMARK(BM_ProposeBatch)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->Arg(1024)->Arg(4096);

}  // namespace
}  // namespace rkv::raft

BENCHMARK_MAIN();
