// TestNetwork: a few RawNodes wired together in one thread for rule-by-rule
// unit tests. Each node persists into its MemoryLog exactly as ready.h asks,
// delivers messages in order unless the link is cut or a filter drops them,
// and applies committed entries to a list. Deterministic; no randomness but
// each node's seeded election jitter. The seeded, faulty network lives in sim/.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "raft/check.h"
#include "raft/memory_log.h"
#include "raft/raw_node.h"

namespace rkv::raft::testing {

struct TestNode {
  std::unique_ptr<MemoryLog> log;
  std::unique_ptr<RawNode> raw;
  Config config;
  // Data of applied normal entries, in order, with their index.
  std::vector<std::pair<uint64_t, std::string>> applied;
  uint64_t applied_index = 0;
  std::vector<ReadState> read_states;
};

class TestNetwork {
 public:
  using ConfigTweak = std::function<void(Config&)>;

  // Bootstraps voters 1..n (or the given ids) with an initial membership.
  explicit TestNetwork(std::vector<NodeId> voters, ConfigTweak tweak = nullptr)
      : tweak_(std::move(tweak)) {
    ConfState cs;
    for (NodeId id : voters) cs.add_voters(id);
    for (NodeId id : voters) AddNode(id, cs);
  }
  static std::vector<NodeId> Ids(int n) {
    std::vector<NodeId> ids;
    for (int i = 1; i <= n; ++i) ids.push_back(static_cast<NodeId>(i));
    return ids;
  }

  // Adds a node with the given persisted membership (empty for a node that
  // waits to be added by the leader).
  void AddNode(NodeId id, const ConfState& cs) {
    TestNode& n = nodes_[id];
    n.log = std::make_unique<MemoryLog>();
    if (cs.voters_size() > 0) {
      BootstrapState boot = Bootstrap(cs);
      RKV_CHECK_OK(n.log->ApplySnapshot(boot.snapshot));
      n.log->SetHardState(boot.hard_state);
      n.applied_index = kBootstrapIndex;
    }
    n.config.id = id;
    n.config.election_ticks = 10;
    n.config.heartbeat_ticks = 1;
    n.config.seed = 42;
    if (tweak_) tweak_(n.config);
    Start(id);
  }

  RawNode& raw(NodeId id) { return *nodes_.at(id).raw; }
  TestNode& node(NodeId id) { return nodes_.at(id); }
  MemoryLog& log(NodeId id) { return *nodes_.at(id).log; }
  std::vector<NodeId> ids() const {
    std::vector<NodeId> out;
    for (const auto& [id, n] : nodes_) out.push_back(id);
    return out;
  }

  // Drops messages for which the filter returns true (in addition to cuts).
  void SetDropFilter(std::function<bool(const Message&)> drop) { drop_ = std::move(drop); }
  void Cut(NodeId a, NodeId b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void Isolate(NodeId id) {
    for (const auto& [other, n] : nodes_) {
      if (other != id) Cut(id, other);
    }
  }
  void Heal() {
    cut_.clear();
    drop_ = nullptr;
  }

  // Processes Readys and delivers messages until nothing is left to do.
  void Stabilize(int max_rounds = 10000) {
    for (int round = 0; round < max_rounds; ++round) {
      bool busy = false;
      for (auto& [id, n] : nodes_) {
        if (n.raw && n.raw->HasReady()) {
          HandleReady(id);
          busy = true;
        }
      }
      if (!queue_.empty()) busy = true;
      std::deque<Message> in_flight;
      in_flight.swap(queue_);
      for (Message& m : in_flight) Deliver(std::move(m));
      if (!busy) return;
    }
    ADD_FAILURE() << "the network did not stabilize within " << max_rounds << " rounds";
  }

  // Ticks one node n times, stabilizing after each tick.
  void Tick(NodeId id, int n) {
    for (int i = 0; i < n; ++i) {
      raw(id).Tick();
      Stabilize();
    }
  }
  // Ticks every node n times, stabilizing after each round.
  void TickAll(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, node] : nodes_) {
        if (node.raw) node.raw->Tick();
      }
      Stabilize();
    }
  }

  void Elect(NodeId id) {
    raw(id).Campaign();
    Stabilize();
  }

  absl::Status Propose(NodeId id, std::string data) {
    absl::Status s = raw(id).Propose(std::move(data));
    Stabilize();
    return s;
  }

  // Drops the RawNode and everything it had not persisted.
  void Crash(NodeId id) { nodes_.at(id).raw.reset(); }
  void Start(NodeId id) {
    TestNode& n = nodes_.at(id);
    n.config.applied = n.applied_index;
    absl::StatusOr<std::unique_ptr<RawNode>> raw = RawNode::Create(n.config, n.log.get());
    RKV_CHECK_OK(raw.status());
    n.raw = std::move(*raw);
  }

  // Messages sent but not yet delivered (for tests that inspect traffic).
  std::deque<Message>& queue() { return queue_; }
  // Handles one node's Ready without delivering what it sends.
  void HandleReady(NodeId id) {
    TestNode& n = nodes_.at(id);
    Ready ready = n.raw->TakeReady();
    if (ready.hard_state) n.log->SetHardState(*ready.hard_state);
    if (ready.snapshot) {
      RKV_CHECK_OK(n.log->ApplySnapshot(*ready.snapshot));
      n.applied_index = ready.snapshot->metadata().index();
    }
    n.log->Append(ready.entries);
    for (Message& m : ready.messages) queue_.push_back(std::move(m));
    for (const Entry& e : ready.committed_entries) {
      if (e.type() == rkv::internal::ENTRY_CONF_CHANGE) {
        ConfChange cc;
        RKV_CHECK(cc.ParseFromString(e.data()));
        n.log->SetConfState(n.raw->ApplyConfChange(cc));
      } else if (!e.data().empty()) {
        n.applied.emplace_back(e.index(), e.data());
      }
      n.applied_index = e.index();
    }
    for (ReadState& rs : ready.read_states) n.read_states.push_back(std::move(rs));
    n.raw->Advance();
  }

  // Ids of the nodes that consider themselves leader.
  std::vector<NodeId> Leaders() const {
    std::vector<NodeId> out;
    for (const auto& [id, n] : nodes_) {
      if (n.raw && n.raw->IsLeader()) out.push_back(id);
    }
    return out;
  }
  std::vector<std::string> AppliedData(NodeId id) const {
    std::vector<std::string> out;
    for (const auto& [index, data] : nodes_.at(id).applied) out.push_back(data);
    return out;
  }

  // Every message delivered, for tests asserting on traffic.
  std::vector<Message>& delivered() { return delivered_; }

 private:
  void Deliver(Message m) {
    if (cut_.count({m.from(), m.to()}) || (drop_ && drop_(m))) return;
    auto it = nodes_.find(m.to());
    if (it == nodes_.end() || !it->second.raw) return;
    delivered_.push_back(m);
    // Stale or misdirected messages are answered with a status, never fatal.
    (void)it->second.raw->Step(std::move(m));
  }

  ConfigTweak tweak_;
  std::map<NodeId, TestNode> nodes_;
  std::deque<Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::function<bool(const Message&)> drop_;
  std::vector<Message> delivered_;
};

}  // namespace rkv::raft::testing
