#include "tests/raft/sim/simulation.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "raft/check.h"

namespace rkv::raft::sim {

// The regime one seed runs in, drawn from the seed before anything else.
struct Simulation::Profile {
  ClusterOptions cluster;
  NetworkFaults faults;
  // Per-tick probabilities.
  double partition_rate = 0;
  double heal_rate = 0;
  double crash_rate = 0;
  double crash_all_rate = 0;
  // Chance that a node which just voted crashes at once (restarting soon).
  double crash_after_vote_rate = 0;
  double propose_rate = 0;
  double read_rate = 0;
  double transfer_rate = 0;
  double campaign_rate = 0;
  double membership_rate = 0;
  uint64_t max_down_ticks = 0;
  // Bounds on membership changes, so that runs stay small.
  size_t max_members = 0;
  size_t max_voters = 0;
};

namespace {

using rkv::internal::CONF_CHANGE_ADD_LEARNER;
using rkv::internal::CONF_CHANGE_ADD_VOTER;
using rkv::internal::CONF_CHANGE_REMOVE_NODE;

template <typename T>
T PickOne(SimRandom& random, std::initializer_list<T> values) {
  return std::vector<T>(values)[random.Uniform(values.size())];
}

bool Contains(const google::protobuf::RepeatedField<uint64_t>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

ConfChangeSingle Single(rkv::internal::ConfChangeType type, NodeId id) {
  ConfChangeSingle single;
  single.set_type(type);
  single.set_node_id(id);
  return single;
}

}  // namespace

Simulation::Simulation(const SimulationOptions& options) : options_(options) {
  RKV_CHECK_GT(options_.nodes, 0u);
}

Simulation::~Simulation() = default;

std::string Simulation::ReplayCommand() const {
  return absl::StrCat(
      "build/bin/raft_sim --nodes ", options_.nodes, " --steps ", options_.steps, " --seed ",
      options_.seed,
      options_.snapshot_on_membership_change ? " --snapshot-on-membership-change 1" : "",
      options_.remove_leader ? "" : " --remove-leader 0");
}

std::string Simulation::LastEvents(size_t count) const {
  return events_ != nullptr ? events_->Last(count) : std::string();
}

absl::Status Simulation::Run() {
  absl::Status status = RunOnce(/*record_events=*/false);
  if (status.ok()) return status;
  // Same options, same run: this time with the events recorded.
  absl::Status replayed = RunOnce(/*record_events=*/true);
  std::string message =
      absl::StrCat(status.message(), "\nseed ", options_.seed, ", ", options_.nodes, " nodes, ",
                   options_.steps, " steps; profile: ", DescribeProfile(), "\n",
                   cluster_->Describe(), "replay: ", ReplayCommand());
  if (replayed.message() != status.message()) {
    absl::StrAppend(&message, "\nNOTE: the replay with events ended differently (",
                    replayed.ToString(), "): the run is not deterministic");
  }
  return absl::Status(status.code(), message);
}

absl::Status Simulation::RunOnce(bool record_events) {
  random_ = std::make_unique<SimRandom>(options_.seed);
  events_ = std::make_unique<EventLog>(options_.event_capacity);
  if (record_events) events_->Enable();
  restart_at_.clear();
  next_payload_ = 0;
  next_read_ = 0;
  stats_ = RunStats{};

  // The profile comes first from the seed, so it does not depend on anything
  // the run does.
  profile_ = std::make_unique<Profile>();
  Profile& p = *profile_;
  SimRandom& r = *random_;
  Config& raft = p.cluster.raft;
  raft.election_ticks = PickOne(r, {5, 8, 10});
  raft.heartbeat_ticks = static_cast<int>(r.Range(1, std::max(1, raft.election_ticks / 2)));
  raft.pre_vote = r.Chance(0.8);
  raft.check_quorum = r.Chance(0.8);
  raft.max_msg_bytes = PickOne<uint64_t>(r, {64, 1024, 1 << 20});
  raft.max_inflight_msgs = PickOne<uint64_t>(r, {1, 4, 256});
  raft.max_inflight_bytes = r.Chance(0.5) ? 0 : raft.max_msg_bytes * 4;
  raft.max_uncommitted_bytes = PickOne<uint64_t>(r, {256, 64ull << 20});
  raft.max_committed_bytes_per_ready = PickOne<uint64_t>(r, {64, 64ull << 20});
  raft.max_proposal_entries = 16;
  p.cluster.initial_nodes = options_.nodes;
  p.cluster.seed = options_.seed;
  p.cluster.snapshots.every_entries = PickOne<uint64_t>(r, {3, 10, 50});
  p.cluster.snapshots.keep_entries = PickOne<uint64_t>(r, {0, 2, 10});
  p.cluster.snapshots.on_membership_change = options_.snapshot_on_membership_change;
  p.faults.drop_probability = PickOne(r, {0.0, 0.02, 0.1});
  p.faults.duplicate_probability = PickOne(r, {0.0, 0.02, 0.1});
  p.faults.delay_probability = PickOne(r, {0.0, 0.2, 0.5});
  p.faults.max_delay_ticks = r.Range(1, raft.election_ticks);
  p.faults.long_delay_probability = PickOne(r, {0.0, 0.005});
  p.faults.long_delay_ticks = 3 * static_cast<uint64_t>(raft.election_ticks);
  p.partition_rate = PickOne(r, {0.0, 0.005, 0.02});
  p.heal_rate = PickOne(r, {0.01, 0.05});
  p.crash_rate = PickOne(r, {0.0, 0.003, 0.01});
  p.crash_all_rate = PickOne(r, {0.0, 0.0005});
  p.crash_after_vote_rate = PickOne(r, {0.0, 0.0, 0.3});
  p.max_down_ticks = 4 * static_cast<uint64_t>(raft.election_ticks);
  p.propose_rate = PickOne(r, {0.05, 0.15, 0.4});
  p.read_rate = PickOne(r, {0.0, 0.05});
  p.transfer_rate = PickOne(r, {0.0, 0.005});
  p.campaign_rate = PickOne(r, {0.0, 0.003});
  p.membership_rate = PickOne(r, {0.0, 0.01, 0.03});
  p.max_members = options_.nodes + 2;
  p.max_voters = std::max<size_t>(options_.nodes, 5);
  // Drawn last, so the draws above mean what they meant before. These
  // profiles run Raft as rkvd's driver does: leases, which need check-quorum
  // and votes ignored at start; no forced campaigns; a leader's appends and
  // heartbeats sent before its own log write.
  p.cluster.read_leases = r.Chance(0.5);
  if (p.cluster.read_leases) {
    raft.check_quorum = true;
    raft.ignore_votes_at_start = true;
    p.campaign_rate = 0;
    p.cluster.leader_traffic_before_persist = true;
  }

  cluster_ = std::make_unique<Cluster>(p.cluster, random_.get(), events_.get());
  cluster_->network().SetFaults(p.faults);
  events_->Record(0, [&] { return absl::StrCat("profile: ", DescribeProfile()); });
  if (absl::Status s = cluster_->Start(); !s.ok()) return s;
  if (absl::Status s = RunFaultPhase(); !s.ok()) return s;
  if (absl::Status s = RunLivenessPhase(); !s.ok()) return s;
  stats_.ticks = cluster_->now();
  stats_.committed_index = cluster_->invariants().max_committed_index();
  stats_.leader_terms = cluster_->invariants().leader_terms();
  stats_.cluster = cluster_->stats();
  return absl::OkStatus();
}

std::string Simulation::DescribeProfile() const {
  const Profile& p = *profile_;
  const Config& c = p.cluster.raft;
  return absl::StrFormat(
      "election=%d heartbeat=%d pre_vote=%d check_quorum=%d read_leases=%d max_msg_bytes=%d "
      "inflight=%d/%dB "
      "uncommitted=%dB apply_batch=%dB snapshot_every=%d keep=%d | drop=%.3f dup=%.3f "
      "delay=%.2fx%d long_delay=%.3f | partition=%.3f heal=%.2f crash=%.3f crash_all=%.4f "
      "crash_after_vote=%.2f "
      "propose=%.2f read=%.2f transfer=%.3f campaign=%.3f membership=%.2f",
      c.election_ticks, c.heartbeat_ticks, c.pre_vote, c.check_quorum, p.cluster.read_leases,
      c.max_msg_bytes,
      c.max_inflight_msgs, c.max_inflight_bytes, c.max_uncommitted_bytes,
      c.max_committed_bytes_per_ready, p.cluster.snapshots.every_entries,
      p.cluster.snapshots.keep_entries, p.faults.drop_probability, p.faults.duplicate_probability,
      p.faults.delay_probability, p.faults.max_delay_ticks, p.faults.long_delay_probability,
      p.partition_rate, p.heal_rate, p.crash_rate, p.crash_all_rate, p.crash_after_vote_rate,
      p.propose_rate, p.read_rate, p.transfer_rate, p.campaign_rate, p.membership_rate);
}

absl::Status Simulation::Step() {
  cluster_->Tick();
  if (absl::Status s = cluster_->Pump(); !s.ok()) return s;
  return cluster_->EndTick();
}

absl::Status Simulation::RunFaultPhase() {
  for (uint64_t step = 0; step < options_.steps; ++step) {
    if (absl::Status s = InjectFaults(); !s.ok()) return s;
    if (absl::Status s = IssueWorkload(); !s.ok()) return s;
    if (absl::Status s = Step(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

template <typename Done>
absl::StatusOr<bool> Simulation::RunUntil(uint64_t ticks, Done done) {
  for (uint64_t i = 0; i < ticks; ++i) {
    if (done()) return true;
    if (absl::Status s = Step(); !s.ok()) return s;
  }
  return done();
}

absl::Status Simulation::RunLivenessPhase() {
  Cluster& c = *cluster_;
  events_->Record(c.now(), [] { return std::string("liveness phase: heal everything"); });
  c.network().HealAll();
  c.network().SetFaults(NetworkFaults{});
  for (NodeId id : c.CrashedNodes()) {
    if (absl::Status s = c.Restart(id); !s.ok()) return s;
  }
  restart_at_.clear();
  const uint64_t budget =
      kLivenessElectionTimeouts * static_cast<uint64_t>(profile_->cluster.raft.election_ticks);
  const uint64_t healed_at = c.now();

  // 1. A leader commits a new entry. It is proposed again whenever
  //    leadership changes, as a client would retry.
  uint64_t marker_index = 0;
  uint64_t marker_term = 0;
  auto marker_committed = [&] {
    if (marker_index != 0 && c.invariants().CommittedTerm(marker_index) == marker_term) {
      return true;
    }
    std::vector<NodeId> leaders = c.Leaders();
    if (leaders.empty()) return false;
    // The leader of the highest term is the one that can commit.
    NodeId leader = leaders.front();
    for (NodeId id : leaders) {
      if (c.node(id).raw().Term() > c.node(leader).raw().Term()) leader = id;
    }
    RawNode& raw = c.node(leader).raw();
    if (raw.Term() == marker_term) return false;
    if (!c.Propose(leader, {absl::StrCat("liveness-", options_.seed)}).ok()) return false;
    marker_term = raw.Term();
    marker_index = raw.GetStatus().last_index;
    return false;
  };
  absl::StatusOr<bool> done = RunUntil(budget, marker_committed);
  if (!done.ok()) return done.status();
  if (!*done) {
    return absl::DeadlineExceededError(
        absl::StrCat("liveness: no leader committed a new entry within ", budget, " ticks (",
                     kLivenessElectionTimeouts,
                     " election timeouts) after the faults healed at tick ", healed_at));
  }

  // 2. A linearizable read completes; it is retried once per election timeout.
  std::string context;
  uint64_t asked_at = 0;
  auto read_done = [&] {
    if (!context.empty() && c.ReadCompleted(context)) return true;
    if (!context.empty() &&
        c.now() < asked_at + static_cast<uint64_t>(profile_->cluster.raft.election_ticks)) {
      return false;
    }
    std::vector<NodeId> up = c.UpMembers();
    if (up.empty()) return false;
    context = absl::StrCat("liveness-read-", next_read_++);
    asked_at = c.now();
    c.ReadIndex(c.Leaders().empty() ? up.front() : c.Leaders().back(), context);
    return false;
  };
  done = RunUntil(budget, read_done);
  if (!done.ok()) return done.status();
  if (!*done) {
    return absl::DeadlineExceededError(
        absl::StrCat("liveness: no ReadIndex completed within ", budget, " ticks"));
  }

  // 3. Every member catches up with the new entry.
  auto caught_up = [&] {
    for (NodeId id : c.Members()) {
      if (c.node(id).state_machine().applied_index < marker_index) return false;
    }
    return true;
  };
  done = RunUntil(budget, caught_up);
  if (!done.ok()) return done.status();
  if (!*done) {
    return absl::DeadlineExceededError(absl::StrCat("liveness: not every member applied index ",
                                                    marker_index, " within ", budget, " ticks"));
  }
  return c.CheckLogsMatch();
}

absl::Status Simulation::InjectFaults() {
  Cluster& c = *cluster_;
  const Profile& p = *profile_;
  for (auto it = restart_at_.begin(); it != restart_at_.end();) {
    if (it->second > c.now() || c.IsRemoved(it->first) || c.IsUp(it->first)) {
      if (c.IsRemoved(it->first)) {
        it = restart_at_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    if (absl::Status s = c.Restart(it->first); !s.ok()) return s;
    it = restart_at_.erase(it);
  }
  if (random_->Chance(p.partition_rate)) Partition();
  if (!c.network().cut_links().empty() && random_->Chance(p.heal_rate)) {
    if (random_->Chance(0.5)) {
      c.network().HealAll();
      events_->Record(c.now(), [] { return std::string("heal all links"); });
    } else {
      std::vector<std::pair<NodeId, NodeId>> links(c.network().cut_links().begin(),
                                                   c.network().cut_links().end());
      auto [from, to] = random_->Pick(links);
      c.network().HealLink(from, to);
      events_->Record(c.now(), [&] { return absl::StrCat("heal link ", from, "->", to); });
    }
  }
  CrashSome();
  return absl::OkStatus();
}

void Simulation::Partition() {
  Cluster& c = *cluster_;
  std::vector<NodeId> ids = c.Members();
  if (ids.size() < 2) return;
  ++stats_.partitions;
  std::string description;
  // Lease profiles also cut single links both ways (below); the others draw
  // as before, so their seeds replay unchanged.
  switch (random_->Uniform(profile_->cluster.read_leases ? 4 : 3)) {
    case 0: {  // Isolate one node.
      NodeId lonely = random_->Pick(ids);
      for (NodeId other : ids) {
        if (other == lonely) continue;
        c.network().Cut(lonely, other);
        c.network().Cut(other, lonely);
      }
      description = absl::StrCat("isolate ", lonely);
      break;
    }
    case 1: {  // Split in two groups.
      std::vector<bool> side(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) side[i] = random_->Chance(0.5);
      for (size_t i = 0; i < ids.size(); ++i) {
        for (size_t j = 0; j < ids.size(); ++j) {
          if (side[i] != side[j]) c.network().Cut(ids[i], ids[j]);
        }
      }
      description = "split";
      for (size_t i = 0; i < ids.size(); ++i)
        absl::StrAppend(&description, " ", ids[i], side[i] ? "a" : "b");
      break;
    }
    case 2: {  // Cut random one-way links.
      description = "cut";
      for (NodeId from : ids) {
        for (NodeId to : ids) {
          if (from == to || !random_->Chance(0.25)) continue;
          c.network().Cut(from, to);
          absl::StrAppend(&description, " ", from, "->", to);
        }
      }
      break;
    }
    case 3: {  // Cut one link both ways: say a leader and a follower that no
               // longer hear each other, while a third node hears both.
      const NodeId a = random_->Pick(ids);
      std::vector<NodeId> others;
      for (NodeId id : ids) {
        if (id != a) others.push_back(id);
      }
      const NodeId b = random_->Pick(others);
      c.network().Cut(a, b);
      c.network().Cut(b, a);
      description = absl::StrCat("cut ", a, "<->", b);
      break;
    }
  }
  events_->Record(c.now(), [&] { return absl::StrCat("partition: ", description); });
}

void Simulation::CrashSome() {
  Cluster& c = *cluster_;
  const Profile& p = *profile_;
  std::vector<NodeId> victims;
  uint64_t max_down_ticks = p.max_down_ticks;
  if (!c.recent_voters().empty() && random_->Chance(p.crash_after_vote_rate)) {
    NodeId voter = random_->Pick(c.recent_voters());
    // Back before the election is over, while other candidates may still ask.
    if (c.IsUp(voter)) victims.push_back(voter);
    max_down_ticks = 2;
  } else if (!c.recent_lease_ackers().empty() && random_->Chance(p.crash_after_vote_rate)) {
    NodeId acker = random_->Pick(c.recent_lease_ackers());
    // Back within the lease it just confirmed.
    if (c.IsUp(acker)) victims.push_back(acker);
    max_down_ticks = 2;
  } else if (random_->Chance(p.crash_all_rate)) {
    victims = c.UpMembers();
  } else if (random_->Chance(p.crash_rate)) {
    std::vector<NodeId> up = c.UpMembers();
    if (!up.empty()) victims.push_back(random_->Pick(up));
  }
  for (NodeId id : victims) {
    if (!c.IsUp(id)) continue;  // a recent voter that was stopped since
    std::optional<CrashPoint> point;
    if (random_->Chance(0.7)) {
      point = CrashPoint{static_cast<CrashStage>(random_->Uniform(5)), random_->Uniform(4)};
    }
    ++stats_.crashes;
    c.Crash(id, point);
    restart_at_[id] = c.now() + random_->Range(1, max_down_ticks);
  }
}

NodeId Simulation::PickLeaderOrAny() {
  std::vector<NodeId> leaders = cluster_->Leaders();
  if (!leaders.empty() && random_->Chance(0.9)) return random_->Pick(leaders);
  std::vector<NodeId> up = cluster_->UpMembers();
  return up.empty() ? kNoNode : random_->Pick(up);
}

absl::Status Simulation::IssueWorkload() {
  Cluster& c = *cluster_;
  const Profile& p = *profile_;
  if (random_->Chance(p.propose_rate)) {
    if (absl::Status s = ProposeSome(); !s.ok()) return s;
  }
  if (random_->Chance(p.read_rate)) {
    std::vector<NodeId> up = c.UpMembers();
    if (!up.empty()) c.ReadIndex(random_->Pick(up), absl::StrCat("read-", next_read_++));
  }
  if (p.cluster.read_leases) {
    // Leaders renew their leases as rkvd's do while reads use them.
    for (NodeId leader : c.Leaders()) {
      if (random_->Chance(0.3)) c.ReadIndex(leader, absl::StrCat("lease-", next_read_++));
    }
  }
  if (random_->Chance(p.transfer_rate)) {
    NodeId from = PickLeaderOrAny();
    std::vector<NodeId> members = c.Members();
    if (from != kNoNode && !members.empty()) {
      NodeId to = random_->Pick(members);
      events_->Record(c.now(), [&] { return absl::StrCat("n", from, " transfer leader to ", to); });
      c.node(from).raw().TransferLeader(to);
    }
  }
  if (random_->Chance(p.campaign_rate)) {
    std::vector<NodeId> up = c.UpMembers();
    if (!up.empty()) {
      NodeId id = random_->Pick(up);
      events_->Record(c.now(), [&] { return absl::StrCat("n", id, " campaign"); });
      c.node(id).raw().Campaign();
    }
  }
  if (random_->Chance(p.membership_rate)) return ChangeMembership();
  return absl::OkStatus();
}

absl::Status Simulation::ProposeSome() {
  NodeId id = PickLeaderOrAny();
  if (id == kNoNode) return absl::OkStatus();
  size_t count = random_->Chance(0.5) ? 1 : random_->Range(2, 8);
  std::vector<std::string> batch;
  batch.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    // Unique payloads, so equal entries can only be the same proposal.
    std::string payload = absl::StrCat("p", next_payload_++, ":");
    payload.append(random_->Uniform(48), 'x');
    batch.push_back(std::move(payload));
  }
  if (cluster_->Propose(id, std::move(batch)).ok()) ++stats_.proposals_accepted;
  return absl::OkStatus();
}

absl::Status Simulation::ChangeMembership() {
  Cluster& c = *cluster_;
  const Profile& p = *profile_;
  std::vector<NodeId> leaders = c.Leaders();
  if (leaders.empty()) return absl::OkStatus();
  NodeId leader = random_->Pick(leaders);
  // Built from the membership the leader has applied; the core refuses a
  // change while another is pending, so that is the one it will apply to.
  const ConfState& conf = c.node(leader).state_machine().conf_state;
  std::vector<NodeId> voters(conf.voters().begin(), conf.voters().end());
  std::vector<NodeId> learners(conf.learners().begin(), conf.learners().end());
  const size_t members = MemberIds(conf).size();

  ConfChange change;
  if (!conf.voters_outgoing().empty() && random_->Chance(0.7)) {
    // Leave the joint configuration (an empty change); also proposed when it
    // is left automatically, which the core must refuse or treat alike.
  } else {
    // One to three single changes on distinct nodes.
    size_t count = random_->Chance(0.6) ? 1 : random_->Range(2, 3);
    std::vector<NodeId> touched;
    size_t added = 0;
    for (size_t i = 0; i < count; ++i) {
      switch (random_->Uniform(5)) {
        case 0:  // Add a learner: a brand-new node.
        case 1: {
          if (members + added >= p.max_members) break;
          NodeId id = c.AllocateNodeId();
          *change.add_changes() =
              Single(random_->Chance(0.8) ? CONF_CHANGE_ADD_LEARNER : CONF_CHANGE_ADD_VOTER, id);
          touched.push_back(id);
          ++added;
          break;
        }
        case 2: {  // Promote a learner.
          if (learners.empty() || voters.size() >= p.max_voters) break;
          NodeId id = random_->Pick(learners);
          if (std::count(touched.begin(), touched.end(), id) > 0) break;
          *change.add_changes() = Single(CONF_CHANGE_ADD_VOTER, id);
          touched.push_back(id);
          break;
        }
        case 3: {  // Demote a voter to a learner.
          NodeId id = random_->Pick(voters);
          if (std::count(touched.begin(), touched.end(), id) > 0) break;
          if (id == leader && !options_.remove_leader) break;
          *change.add_changes() = Single(CONF_CHANGE_ADD_LEARNER, id);
          touched.push_back(id);
          break;
        }
        default: {  // Remove a voter or a learner.
          std::vector<NodeId> ids = MemberIds(conf);
          NodeId id = random_->Pick(ids);
          if (std::count(touched.begin(), touched.end(), id) > 0) break;
          if (id == leader && !options_.remove_leader) break;
          // Keep enough voters for the remaining ones to matter.
          if (Contains(conf.voters(), id) && voters.size() <= 1) break;
          *change.add_changes() = Single(CONF_CHANGE_REMOVE_NODE, id);
          touched.push_back(id);
          break;
        }
      }
    }
    if (change.changes().empty()) return absl::OkStatus();
    change.set_transition(PickOne(*random_, {rkv::internal::CONF_TRANSITION_AUTO,
                                             rkv::internal::CONF_TRANSITION_JOINT_IMPLICIT,
                                             rkv::internal::CONF_TRANSITION_JOINT_EXPLICIT}));
  }
  if (c.ProposeConfChange(leader, change).ok()) ++stats_.membership_changes_accepted;
  return absl::OkStatus();
}

}  // namespace rkv::raft::sim
