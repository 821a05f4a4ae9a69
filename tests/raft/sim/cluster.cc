#include "tests/raft/sim/cluster.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "raft/check.h"

namespace rkv::raft::sim {
namespace {

ConfState InitialConf(size_t nodes) {
  ConfState conf;
  for (NodeId id = 1; id <= nodes; ++id) conf.add_voters(id);
  return conf;
}

}  // namespace

std::vector<NodeId> MemberIds(const ConfState& conf) {
  std::vector<NodeId> ids;
  for (const auto* list :
       {&conf.voters(), &conf.learners(), &conf.voters_outgoing(), &conf.learners_next()}) {
    ids.insert(ids.end(), list->begin(), list->end());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Cluster::Cluster(const ClusterOptions& options, SimRandom* random, EventLog* events)
    : options_(options),
      random_(random),
      events_(events),
      network_(random),
      invariants_(InitialConf(options.initial_nodes)),
      next_node_id_(options.initial_nodes + 1),
      latest_conf_(InitialConf(options.initial_nodes)) {
  RKV_CHECK_GT(options_.initial_nodes, 0u);
}

std::unique_ptr<SimNode> Cluster::NewNode(NodeId id) {
  Config config = options_.raft;
  config.id = id;
  auto node = std::make_unique<SimNode>(config, options_.snapshots, events_, &now_);
  node->set_leader_traffic_before_persist(options_.leader_traffic_before_persist);
  return node;
}

absl::Status Cluster::Start() {
  for (NodeId id = 1; id <= options_.initial_nodes; ++id) {
    std::unique_ptr<SimNode> node = NewNode(id);
    node->Bootstrap(latest_conf_);
    if (absl::Status s = node->Start(options_.seed); !s.ok()) return s;
    nodes_.emplace(id, std::move(node));
  }
  return absl::OkStatus();
}

SimNode& Cluster::node(NodeId id) const {
  auto it = nodes_.find(id);
  RKV_CHECK(it != nodes_.end());
  return *it->second;
}

bool Cluster::IsUp(NodeId id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && !IsRemoved(id) && it->second->up();
}

SimNode* Cluster::FindLive(NodeId id, uint64_t incarnation) const {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || !it->second->up() || it->second->incarnation() != incarnation) {
    return nullptr;
  }
  return it->second.get();
}

std::vector<NodeId> Cluster::Members() const {
  std::vector<NodeId> members;
  for (NodeId id : MemberIds(latest_conf_)) {
    if (nodes_.count(id) > 0 && !IsRemoved(id)) members.push_back(id);
  }
  return members;
}

std::vector<NodeId> Cluster::UpMembers() const {
  std::vector<NodeId> up;
  for (NodeId id : Members()) {
    if (IsUp(id)) up.push_back(id);
  }
  return up;
}

std::vector<NodeId> Cluster::CrashedNodes() const {
  std::vector<NodeId> crashed;
  for (const auto& [id, node] : nodes_) {
    if (!IsRemoved(id) && !node->up()) crashed.push_back(id);
  }
  return crashed;
}

std::vector<NodeId> Cluster::Leaders() const {
  std::vector<NodeId> leaders;
  for (const auto& [id, node] : nodes_) {
    if (node->up() && node->raw().IsLeader()) leaders.push_back(id);
  }
  return leaders;
}

void Cluster::Tick() {
  for (auto& [id, node] : nodes_) {
    if (node->up()) node->raw().Tick();
  }
}

absl::Status Cluster::Pump() {
  for (int round = 0; round < kMaxRoundsPerTick; ++round) {
    bool busy = false;
    // Nodes created while handling a Ready join the map; std::map iterators
    // stay valid.
    for (auto& [id, node] : nodes_) {
      if (!node->up() || !node->raw().HasReady()) continue;
      busy = true;
      auto crash = pending_crashes_.find(id);
      if (crash == pending_crashes_.end()) {
        if (absl::Status s = HandleReady(*node, std::nullopt); !s.ok()) return s;
        continue;
      }
      const CrashPoint point = crash->second;
      pending_crashes_.erase(crash);
      if (absl::Status s = HandleReady(*node, point); !s.ok()) return s;
      // HandleReady may have stopped the node already (a removal applied).
      if (node->up()) node->Crash();
    }
    if (stats_.messages_sent - messages_sent_at_tick_start_ > kMaxMessagesPerTick &&
        TotalApplied() == applied_at_tick_start_) {
      return Violation("bounded work",
                       absl::StrCat(stats_.messages_sent - messages_sent_at_tick_start_,
                                    " messages sent in tick ", now_,
                                    " and no replica applied an entry; a healthy group sends "
                                    "tens (livelock between replicas)"));
    }
    network_.TakeDue(now_, &due_);
    if (!busy && due_.empty()) break;
    for (Envelope& envelope : due_) {
      if (envelope.lost) {
        Lose(envelope);
      } else if (absl::Status s = Deliver(envelope); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Cluster::EndTick() {
  for (const auto& [id, node] : nodes_) {
    if (!node->up() || !node->raw().IsLeader()) continue;
    if (absl::Status s = invariants_.CheckLeader(id, node->raw().Term()); !s.ok()) return s;
  }
  if (absl::Status s = CheckLeases(); !s.ok()) return s;
  for (const auto& [id, point] : pending_crashes_) {
    if (node(id).up()) node(id).Crash();
  }
  pending_crashes_.clear();
  MaybeStopRemovedNodes();
  recent_voters_.swap(voters_this_tick_);
  voters_this_tick_.clear();
  recent_lease_ackers_.swap(lease_ackers_this_tick_);
  lease_ackers_this_tick_.clear();
  messages_sent_at_tick_start_ = stats_.messages_sent;
  applied_at_tick_start_ = TotalApplied();
  ++now_;
  return absl::OkStatus();
}

absl::Status Cluster::HandleReady(SimNode& node, std::optional<CrashPoint> crash) {
  output_.Clear();
  if (absl::Status s = node.HandleReady(&invariants_, &output_, crash); !s.ok()) return s;
  if (output_.voted) voters_this_tick_.push_back(node.id());
  if (options_.read_leases) UpdateLease(node);
  for (Message& message : output_.messages) {
    if (message.type() == rkv::internal::MSG_HEARTBEAT_RESPONSE &&
        absl::StartsWith(message.context(), "lease-")) {
      lease_ackers_this_tick_.push_back(node.id());
    }
    events_->Record(now_, [&] { return absl::StrCat("send ", SummarizeMessage(message)); });
    ++stats_.messages_sent;
    network_.Send(std::move(message), now_, node.incarnation());
  }
  for (const ReadState& read : output_.read_states) {
    if (absl::Status s = CheckRead(node.id(), read); !s.ok()) return s;
  }
  for (const auto& [index, conf] : output_.conf_changes) {
    if (absl::Status s = UpdateMembership(index, conf); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Cluster::Deliver(Envelope& envelope) {
  const Message& message = envelope.message;
  auto it = nodes_.find(message.to());
  if (it == nodes_.end() || IsRemoved(message.to()) || !it->second->up()) {
    Lose(envelope);
    return absl::OkStatus();
  }
  const NodeId from = message.from();
  const NodeId to = message.to();
  const bool is_snapshot = message.type() == rkv::internal::MSG_SNAPSHOT;
  events_->Record(now_, [&] { return absl::StrCat("recv ", SummarizeMessage(message)); });
  absl::Status status;
  if (message.type() == rkv::internal::MSG_READ_INDEX && HoldsLease(*it->second)) {
    // As rkvd's driver does: a leader whose lease covers now answers a
    // follower's read without a round.
    events_->Record(now_, [&] { return absl::StrCat("n", to, " answers under its lease"); });
    ++stats_.reads_answered_under_lease;
    status = it->second->raw().StepReadIndexUnderLease(std::move(envelope.message));
  } else {
    status = it->second->raw().Step(std::move(envelope.message));
  }
  if (!status.ok()) {
    ++stats_.step_errors;
    events_->Record(now_, [&] { return absl::StrCat("n", to, " refused: ", status.ToString()); });
  }
  if (is_snapshot) {
    ++stats_.snapshots_delivered;
    if (SimNode* sender = FindLive(from, envelope.sender_incarnation)) {
      sender->raw().ReportSnapshot(to, /*succeeded=*/true);
    }
  }
  return absl::OkStatus();
}

void Cluster::Lose(const Envelope& envelope) {
  const Message& message = envelope.message;
  ++stats_.messages_lost;
  events_->Record(now_, [&] { return absl::StrCat("lost ", SummarizeMessage(message)); });
  SimNode* sender = FindLive(message.from(), envelope.sender_incarnation);
  if (sender == nullptr) return;
  if (message.type() == rkv::internal::MSG_SNAPSHOT) {
    sender->raw().ReportSnapshot(message.to(), /*succeeded=*/false);
  } else if (message.type() == rkv::internal::MSG_APPEND &&
             network_.IsCut(message.from(), message.to())) {
    // A real transport notices a broken connection, not a lost packet.
    sender->raw().ReportUnreachable(message.to());
  }
}

void Cluster::Crash(NodeId id, std::optional<CrashPoint> crash) {
  SimNode& target = node(id);
  RKV_CHECK(target.up());
  if (crash.has_value()) {
    pending_crashes_[id] = *crash;
  } else {
    target.Crash();
  }
}

absl::Status Cluster::Restart(NodeId id) {
  SimNode& target = node(id);
  RKV_CHECK(!target.up());
  RKV_CHECK(!IsRemoved(id));
  return target.Start(options_.seed);
}

absl::Status Cluster::Propose(NodeId id, std::vector<std::string> data) {
  RKV_CHECK(IsUp(id));
  RawNode& raw = node(id).raw();
  absl::Status status =
      data.size() == 1 ? raw.Propose(std::move(data[0])) : raw.ProposeBatch(std::move(data));
  events_->Record(now_, [&] { return absl::StrCat("n", id, " propose: ", status.ToString()); });
  return status;
}

absl::Status Cluster::ProposeConfChange(NodeId id, const ConfChange& change) {
  RKV_CHECK(IsUp(id));
  absl::Status status = node(id).raw().ProposeConfChange(change);
  events_->Record(now_, [&] {
    return absl::StrCat("n", id, " propose membership change {", change.ShortDebugString(),
                        "}: ", status.ToString());
  });
  return status;
}

void Cluster::UpdateLease(SimNode& node) {
  Lease& lease = leases_[node.id()];
  for (const Message& m : output_.messages) {
    if (m.type() == rkv::internal::MSG_TIMEOUT_NOW) lease.forbidden_term = m.term();
  }
  const bool keep = node.up() && lease.incarnation == node.incarnation() &&
                    node.raw().IsLeader() && node.raw().Term() == lease.term &&
                    lease.forbidden_term != lease.term && output_.conf_changes.empty();
  if (!keep) {
    if (lease.expiry > now_) {
      events_->Record(now_, [&] { return absl::StrCat("n", node.id(), " lease revoked"); });
    }
    lease.expiry = 0;
    lease.incarnation = node.incarnation();
    lease.term = node.up() ? node.raw().Term() : 0;
    ++lease.epoch;
  }
  if (!node.up()) return;
  for (const ReadState& read : output_.read_states) {
    auto it = lease_rounds_.find(read.request_context);
    if (it == lease_rounds_.end()) continue;
    const LeaseRound round = it->second;
    lease_rounds_.erase(it);
    if (round.node != node.id() || round.term != lease.term || round.epoch != lease.epoch ||
        round.term == lease.forbidden_term) {
      continue;
    }
    // The simulator ticks every node exactly once per tick, so no voter that
    // answered the round can grant a vote before the round's tick plus an
    // election timeout; rkvd takes two ticks off for its scheduler.
    const uint64_t expiry = round.started + static_cast<uint64_t>(options_.raft.election_ticks);
    if (expiry <= lease.expiry) continue;
    lease.expiry = expiry;
    events_->Record(now_, [&] { return absl::StrCat("n", node.id(), " lease to tick ", expiry); });
  }
}

bool Cluster::HoldsLease(const SimNode& node) const {
  if (!options_.read_leases || !node.up() || !node.raw().IsLeader()) return false;
  auto it = leases_.find(node.id());
  if (it == leases_.end()) return false;
  const Lease& lease = it->second;
  return lease.incarnation == node.incarnation() && lease.term == node.raw().Term() &&
         lease.expiry > now_;
}

absl::Status Cluster::CheckLeases() const {
  for (const auto& [holder, lease] : leases_) {
    if (lease.expiry <= now_) continue;
    const SimNode& h = node(holder);
    if (!h.up() || h.incarnation() != lease.incarnation) continue;
    for (const auto& [id, other] : nodes_) {
      if (id == holder || !other->up() || !other->raw().IsLeader()) continue;
      if (other->raw().Term() <= lease.term) continue;
      return Violation("read lease",
                       absl::StrCat("node ", id, " leads term ", other->raw().Term(), " at tick ", now_,
                                    " while node ", holder, "'s read lease of term ", lease.term,
                                    " runs to tick ", lease.expiry));
    }
  }
  return absl::OkStatus();
}

void Cluster::ReadIndex(NodeId id, std::string context) {
  RKV_CHECK(IsUp(id));
  if (options_.read_leases && node(id).raw().IsLeader()) {
    // As the driver does, before the heartbeats of the round leave.
    const Lease& lease = leases_[id];
    lease_rounds_[context] = LeaseRound{id, node(id).raw().Term(), lease.epoch, now_};
  }
  pending_reads_[context] = PendingRead{id, invariants_.max_committed_index()};
  events_->Record(now_, [&] {
    return absl::StrCat("n", id, " read ", context, " (must see index ",
                        invariants_.max_committed_index(), ")");
  });
  node(id).raw().ReadIndex(std::move(context));
}

absl::Status Cluster::CheckRead(NodeId id, const ReadState& read) {
  auto it = pending_reads_.find(read.request_context);
  // Unknown: already answered (duplicated messages may answer twice).
  if (it == pending_reads_.end()) return absl::OkStatus();
  if (read.index < it->second.min_index) {
    return Violation(
        "linearizable read",
        absl::StrCat("node ", id, " answered read ", read.request_context, " at index ", read.index,
                     " but index ", it->second.min_index, " was committed before it was asked"));
  }
  events_->Record(now_, [&] {
    return absl::StrCat("n", id, " read ", read.request_context, " done at index ", read.index);
  });
  pending_reads_.erase(it);
  completed_reads_.insert(read.request_context);
  ++stats_.reads_completed;
  return absl::OkStatus();
}

absl::Status Cluster::UpdateMembership(uint64_t index, const ConfState& conf) {
  // Every node applies the same changes; act on each index once, in order.
  if (index <= latest_conf_index_) return absl::OkStatus();
  latest_conf_index_ = index;
  latest_conf_ = conf;
  std::vector<NodeId> members = MemberIds(conf);
  for (auto& [id, node] : nodes_) {
    if (IsRemoved(id)) continue;
    if (std::binary_search(members.begin(), members.end(), id)) {
      leaving_.erase(id);
    } else {
      leaving_.try_emplace(id, index);
    }
  }
  for (NodeId id : members) {
    if (nodes_.count(id) > 0 || IsRemoved(id)) continue;
    std::unique_ptr<SimNode> node = NewNode(id);
    events_->Record(now_, [&] { return absl::StrCat("n", id, " added at index ", index); });
    if (absl::Status s = node->Start(options_.seed); !s.ok()) return s;
    nodes_.emplace(id, std::move(node));
    ++stats_.nodes_added;
  }
  return absl::OkStatus();
}

uint64_t Cluster::TotalApplied() const {
  uint64_t total = 0;
  for (const auto& [id, node] : nodes_) {
    if (node->up()) total += node->state_machine().applied_index;
  }
  return total;
}

void Cluster::MaybeStopRemovedNodes() {
  if (leaving_.empty()) return;
  uint64_t applied_everywhere = UINT64_MAX;
  for (NodeId id : Members()) {
    applied_everywhere = std::min(applied_everywhere, node(id).state_machine().applied_index);
  }
  for (auto it = leaving_.begin(); it != leaving_.end();) {
    const auto [id, index] = *it;
    if (index > applied_everywhere) {
      ++it;
      continue;
    }
    removed_.insert(id);
    ++stats_.nodes_removed;
    events_->Record(now_, [&, id = id, index = index] {
      return absl::StrCat("n", id, " stopped: its removal at index ", index,
                          " is applied by every member");
    });
    if (node(id).up()) node(id).Crash();
    it = leaving_.erase(it);
  }
}

absl::Status Cluster::CheckLogsMatch() const {
  std::vector<std::pair<NodeId, const MemoryLog*>> logs;
  for (NodeId id : Members()) logs.emplace_back(id, &node(id).log());
  return invariants_.CheckLogsMatch(logs);
}

std::string Cluster::Describe() const {
  std::string out = absl::StrCat("tick ", now_, "; membership ", CanonicalConf(latest_conf_),
                                 " as of index ", latest_conf_index_, "\n");
  for (const auto& [id, node] : nodes_) {
    const MemoryLog& log = node->log();
    absl::StrAppend(&out, "  n", id, IsRemoved(id) ? " removed" : node->up() ? " up" : " down");
    if (node->up()) {
      absl::StrAppend(&out, " ", RoleName(node->raw().GetStatus().soft_state.role), " term ",
                      node->raw().Term(), " leader ", node->raw().Leader());
    }
    absl::StrAppend(&out, " log [", log.FirstIndex(), "..", log.LastIndex(), "] hs{t",
                    log.hard_state().term(), " v", log.hard_state().vote(), " c",
                    log.hard_state().commit(), "} applied ", node->state_machine().applied_index,
                    " ", CanonicalConf(node->state_machine().conf_state), "\n");
  }
  if (!network_.cut_links().empty()) {
    absl::StrAppend(&out, "  cut links:");
    for (const auto& [from, to] : network_.cut_links()) absl::StrAppend(&out, " ", from, "->", to);
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace rkv::raft::sim
