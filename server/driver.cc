#include "server/driver.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "server/failpoint.h"
#include "server/grpc_status.h"
#include "server/logging.h"
#include "server/partitioner.h"
#include "server/thread_name.h"
#include "spdlog/spdlog.h"
#include "storage/log_batch.h"

namespace rkv::server {
namespace {

namespace pb = rkv::internal;

// Peer messages and transport feedback must always find room: the pending
// bounds limit client requests, this bounds everything else.
constexpr size_t kInboxHeadroom = 100000;
// After handing a partition over, its leader does not try again for this
// many ticks (30 s at the default tick): a transfer stops proposals until it
// ends, so one that fails (the preferred node stalled) must not repeat often.
// A change of leader clears it.
constexpr uint64_t kBalanceRetryTicks = 300;
// A leader that is its partition's preferred node has nothing to balance
// until its leadership or the voters change (which clear this).
constexpr uint64_t kBalanceNever = std::numeric_limits<uint64_t>::max();
// Hand over only to a voter this close to the leader's log. Under load a
// follower always trails by the entries in flight, so "caught up" cannot mean
// equal; raft sends the rest before its TimeoutNow, with proposals paused.
constexpr uint64_t kBalanceMaxLagEntries = 1000;

}  // namespace

Driver::Driver(const DriverOptions& options, storage::Engine* engine, Transport* transport,
               ApplyWorker* apply_worker, std::map<uint64_t, Replica*> replicas,
               SendSnapshotFn send_snapshot)
    : options_(options),
      engine_(engine),
      transport_(transport),
      apply_worker_(apply_worker),
      replicas_(std::move(replicas)),
      send_snapshot_(std::move(send_snapshot)),
      inbox_(options.max_pending_proposals + options.max_pending_reads + kInboxHeadroom) {}

Driver::~Driver() { Stop(); }

void Driver::Start() {
  next_tick_ = SteadyClock::now() + TickInterval();
  for (auto& [id, replica] : replicas_) OnLeaderChange(*replica, {replica->raw().Leader(), raft::Role::kFollower});
  thread_ = StartNamedThread("rkv-driver", [this] { Run(); });
}

void Driver::Stop() {
  inbox_.Close();
  if (thread_.joinable()) thread_.join();
}

// ---------------------------------------------------------------------------
// Thread-safe inputs

void Driver::Propose(uint64_t partition_id, std::string data, absl::Time deadline,
                     ProposalDone done) {
  if (pending_proposals_.fetch_add(1) >= options_.max_pending_proposals) {
    pending_proposals_.fetch_sub(1);
    v1::ErrorDetail detail;
    detail.set_not_proposed(true);
    detail.set_partition_id(partition_id);
    std::move(done)(WithDetail(
        absl::ResourceExhaustedError(absl::StrCat("node ", options_.node_id, " has ",
                                                  options_.max_pending_proposals,
                                                  " proposals pending; retry later")),
        detail));
    return;
  }
  Input input = ProposeInput{partition_id, std::move(data),
                             PendingProposal{0, SteadyDeadline(deadline), std::move(done)}};
  if (!inbox_.Push(std::move(input))) {
    // Refused: the inbox is closed (its capacity covers the pending bounds).
    FinishProposal(std::get<ProposeInput>(input).proposal,
                   NotProposed(absl::StrCat("node ", options_.node_id, " is shutting down"),
                               partition_id, 0, ""),
                   MetricsOf(partition_id));
  }
}

void Driver::Read(uint64_t partition_id, absl::Time deadline, ReadDone done) {
  if (Replica* replica = Find(partition_id); replica != nullptr && replica->lease().Covers()) {
    replica->lease().MarkUsed();
    // The lease makes the commit index a valid ReadIndex (read after the
    // lease: it is published before the lease is extended); a caught-up
    // state machine serves the read on this thread.
    if (replica->state_machine()->applied_index() >= replica->info().commit.load()) {
      std::move(done)(absl::OkStatus());
      return;
    }
  }
  if (pending_reads_.fetch_add(1) >= options_.max_pending_reads) {
    pending_reads_.fetch_sub(1);
    std::move(done)(absl::ResourceExhaustedError(absl::StrCat(
        "node ", options_.node_id, " has ", options_.max_pending_reads, " reads pending; retry later")));
    return;
  }
  Input input = ReadInput{partition_id, PendingRead{0, SteadyDeadline(deadline), std::move(done)}};
  if (!inbox_.Push(std::move(input))) {
    FinishRead(std::get<ReadInput>(input).read,
               absl::UnavailableError(absl::StrCat("node ", options_.node_id, " is shutting down")));
  }
}

void Driver::Deliver(pb::MessageBatch batch) {
  Input input = std::move(batch);
  inbox_.Push(std::move(input));
}

void Driver::ReportUnreachable(uint64_t peer, std::vector<uint64_t> partitions) {
  Input input = UnreachableInput{peer, std::move(partitions)};
  inbox_.Push(std::move(input));
}

void Driver::ReportSnapshot(uint64_t partition_id, uint64_t peer, bool succeeded) {
  Input input = SnapshotStatusInput{partition_id, peer, succeeded};
  inbox_.Push(std::move(input));
}

void Driver::OnSnapshotReceived(uint64_t partition_id, raft::Message message,
                                std::unique_ptr<storage::StagedSnapshot> staged) {
  Input input = SnapshotReceivedInput{partition_id, std::move(message), std::move(staged)};
  inbox_.Push(std::move(input));
}

void Driver::OnApplied(uint64_t partition_id, uint64_t applied_index,
                       std::optional<raft::ConfState> new_conf_state) {
  Input input = AppliedInput{partition_id, applied_index, std::move(new_conf_state)};
  // Only log compaction uses the applied index, so the report need not wake
  // the driver, once per apply pass: it waits for the next pass (side by
  // side, 2-3% less server CPU per write and per linearizable read).
  inbox_.PushWithoutWaking(std::move(input));
}

bool Driver::Call(absl::AnyInvocable<void() &&> fn) {
  Input input = CallInput{std::move(fn)};
  return inbox_.Push(std::move(input));
}

// ---------------------------------------------------------------------------
// The loop

void Driver::Run() {
  std::vector<Input> inputs;
  // A restarted replica may have committed entries to apply at once.
  TouchAll();
  bool more_ready = true;
  while (!inbox_.closed()) {
    inputs.clear();
    // Readys left from the last pass (a leader's commit after persisting)
    // are handled at once; otherwise wait for input or the next tick.
    if (more_ready) {
      inbox_.TakeAllNow(&inputs);
    } else {
      inbox_.TakeAll(next_tick_, &inputs);
    }
    for (Input& input : inputs) Handle(input);
    const SteadyClock::time_point now = SteadyClock::now();
    if (now >= next_tick_) {
      Tick();
      ExpireRequests(now);
      next_tick_ += TickInterval();
      // After a stall, do not tick in a burst: time is measured, not owed.
      if (next_tick_ < now) next_tick_ = now + TickInterval();
    }
    ProposeQueued();
    RequestReads();
    ProcessReadys();
    // A round answered in this pass lets the reads that waited for it go now.
    RequestReads();
    more_ready = !touched_.empty();
  }
  FailEverything(absl::UnavailableError(absl::StrCat("node ", options_.node_id, " is shutting down")));
}

void Driver::Handle(Input& input) {
  if (auto* p = std::get_if<ProposeInput>(&input)) {
    if (Find(p->partition_id) == nullptr) {
      FinishProposal(p->proposal,
                     NotProposed(absl::StrCat("partition ", p->partition_id, " is not hosted on node ",
                                              options_.node_id),
                                 p->partition_id, 0, ""),
                     nullptr);
      return;
    }
    queued_proposals_[p->partition_id].emplace_back(std::move(p->data), std::move(p->proposal));
  } else if (auto* r = std::get_if<ReadInput>(&input)) {
    Replica* replica = Find(r->partition_id);
    if (replica == nullptr) {
      FinishRead(r->read, absl::UnavailableError(absl::StrCat(
                              "partition ", r->partition_id, " is not hosted on node ", options_.node_id)));
      return;
    }
    replica->reads_to_request().push_back(std::move(r->read));
    reads_waiting_.insert(r->partition_id);
  } else if (auto* batch = std::get_if<pb::MessageBatch>(&input)) {
    HandleMessages(*batch);
  } else if (auto* u = std::get_if<UnreachableInput>(&input)) {
    for (uint64_t partition : u->partitions) {
      if (Replica* replica = Find(partition)) {
        replica->raw().ReportUnreachable(u->peer);
        Touch(replica);
      }
    }
  } else if (auto* s = std::get_if<SnapshotStatusInput>(&input)) {
    if (Replica* replica = Find(s->partition_id)) {
      replica->raw().ReportSnapshot(s->peer, s->succeeded);
      Touch(replica);
    }
  } else if (auto* received = std::get_if<SnapshotReceivedInput>(&input)) {
    Replica* replica = Find(received->partition_id);
    if (replica == nullptr) return;
    // Raft decides whether to take it; the staged state waits for its Ready.
    replica->staged_snapshot() = std::move(received->staged);
    Touch(replica);
    absl::Status s = replica->raw().Step(std::move(received->message));
    if (!s.ok()) spdlog::warn("partition={} rejected a snapshot message: {}", received->partition_id, s.message());
  } else if (auto* applied = std::get_if<AppliedInput>(&input)) {
    HandleApplied(*applied);
  } else if (auto* call = std::get_if<CallInput>(&input)) {
    std::move(call->fn)();
    // It may have called into any replica's raft (a leader transfer).
    TouchAll();
  }
}

void Driver::Touch(Replica* replica) {
  if (replica->touched()) return;
  replica->set_touched(true);
  touched_.push_back(replica);
}

void Driver::TouchAll() {
  for (auto& [id, replica] : replicas_) Touch(replica);
}

void Driver::HandleMessages(pb::MessageBatch& batch) {
  for (pb::PartitionMessage& pm : *batch.mutable_messages()) {
    Replica* replica = Find(pm.partition_id());
    if (replica == nullptr) {
      spdlog::debug("dropped a message from node {} for partition {} not hosted here",
                    batch.from_node(), pm.partition_id());
      continue;
    }
    Touch(replica);
    absl::Status s = pm.message().type() == pb::MSG_READ_INDEX
                         ? StepReadIndex(*replica, std::move(*pm.mutable_message()))
                         : replica->raw().Step(std::move(*pm.mutable_message()));
    if (!s.ok()) {
      spdlog::warn("partition={} rejected a message from node {}: {}", pm.partition_id(),
                   batch.from_node(), s.message());
    }
  }
}

void Driver::Tick() {
  for (auto& [id, replica] : replicas_) replica->raw().Tick();
  // Ticks and leader transfers (BalanceLeaders) may leave a Ready anywhere.
  TouchAll();
  ++ticks_;
  if (options_.balance_leaders) BalanceLeaders();
  RenewLeases();
}

void Driver::RenewLeases() {
  const int64_t now = ReadLease::Now();
  const int64_t retry_ns = absl::ToInt64Nanoseconds(options_.tick) *
                           static_cast<int64_t>(options_.read_retry_ticks);
  for (auto& [id, replica] : replicas_) {
    if (!replica->raw().IsLeader() || !replica->lease().RenewalDue(now, retry_ns)) continue;
    // A round of its own, with no reads waiting on it.
    StartReadRound(*replica);
  }
}

std::string Driver::StartReadRound(Replica& replica) {
  std::string context = absl::StrCat(options_.node_id, ".", ++read_sequence_);
  // Taken before the heartbeats leave (in this pass's ProcessReadys).
  if (replica.raw().IsLeader()) {
    replica.lease().StartRound(context, replica.raw().Term(), ReadLease::Now());
  }
  replica.raw().ReadIndex(context);
  Touch(&replica);
  if (PartitionMetrics* m = replica.metrics()) Add(m->read_index_rounds);
  return context;
}

void Driver::BalanceLeaders() {
  for (auto& [id, replica] : replicas_) {
    raft::RawNode& raw = replica->raw();
    if (!raw.IsLeader()) continue;
    BalanceState& state = balance_[id];
    if (ticks_ < state.next_check_tick) continue;
    // Checked every tick: check-quorum clears `recent_active` once per
    // election timeout, so a check on a fixed beat could always land just
    // after that and never see the preferred voter active. So each check is
    // narrow: the voters are read (a full GetStatus) once per membership,
    // then only the transfer under way and one peer's progress.
    if (raw.LeadTransferee() != raft::kNoNode) continue;  // a transfer is under way
    if (state.preferred == raft::kNoNode) {
      const raft::Status status = raw.GetStatus();
      // Not during a membership change.
      if (status.conf_state.voters_outgoing_size() > 0) continue;
      state.preferred =
          PreferredLeader(id, {status.conf_state.voters().begin(), status.conf_state.voters().end()});
      if (state.preferred == options_.node_id || state.preferred == raft::kNoNode) {
        // Settled: nothing to check until the leader or the voters change.
        state.next_check_tick = kBalanceNever;
        continue;
      }
    }
    // A transfer stops proposals until it ends, so only to a voter that
    // answers and is nearly caught up: it takes over at once.
    std::optional<raft::PeerStatus> peer = raw.PeerProgress(state.preferred);
    if (!peer || !peer->recent_active || peer->match + kBalanceMaxLagEntries < raw.LastIndex()) {
      continue;
    }
    spdlog::info("partition={} hands leadership to node {}, its preferred leader", id, state.preferred);
    raw.TransferLeader(state.preferred);
    state.next_check_tick = ticks_ + kBalanceRetryTicks;
  }
}

void Driver::ProposeQueued() {
  for (auto& [partition_id, queued] : queued_proposals_) {
    Replica& replica = *Find(partition_id);
    Touch(&replica);
    raft::RawNode& raw = replica.raw();
    size_t next = 0;
    while (next < queued.size()) {
      // One append per batch; a batch is bounded by the Raft config.
      const size_t count = std::min<size_t>(queued.size() - next, 4096);
      std::vector<std::string> data;
      data.reserve(count);
      for (size_t i = next; i < next + count; ++i) data.push_back(std::move(queued[i].first));
      const uint64_t first_index = raw.LastIndex() + 1;
      absl::Status s = raw.IsLeader() ? raw.ProposeBatch(std::move(data)) : NotLeader(replica);
      for (size_t i = next; i < next + count; ++i) {
        PendingProposal& proposal = queued[i].second;
        if (!s.ok()) {
          v1::ErrorDetail detail;
          if (!GetDetail(s, &detail)) {
            detail.set_not_proposed(true);
            detail.set_partition_id(partition_id);
            detail.set_leader_id(raw.Leader());
          }
          FinishProposal(proposal, WithDetail(s, detail), replica.metrics());
          continue;
        }
        if (RKV_BUG("early-ack")) {  // the planted bug acknowledges before the entry commits
          storage::EntryResult early;
          early.index = first_index + (i - next);
          early.term = raw.Term();
          early.result.set_revision(early.index);
          FinishProposal(proposal, std::move(early), replica.metrics());
          continue;
        }
        proposal.term = raw.Term();
        replica.proposals().emplace(first_index + (i - next), std::move(proposal));
      }
      next += count;
    }
  }
  // Emptied, not kept per partition: the next pass visits only what it queues.
  queued_proposals_.clear();
}

void Driver::RequestReads() {
  for (auto it = reads_waiting_.begin(); it != reads_waiting_.end();) {
    Replica* replica = Find(*it);
    std::vector<PendingRead>& reads = replica->reads_to_request();
    if (reads.empty()) {  // expired
      it = reads_waiting_.erase(it);
      continue;
    }
    if (replica->raw().Leader() == raft::kNoNode) {
      for (PendingRead& read : reads) FinishRead(read, NotLeader(*replica));
      reads.clear();
      it = reads_waiting_.erase(it);
      continue;
    }
    if (replica->lease().Covers()) {
      // No round needed: these reads wait only for the state machine to
      // reach the commit index.
      ServeUnderLease(*replica, reads);
      it = reads_waiting_.erase(it);
      continue;
    }
    // One ReadIndex serves every read queued since the last one (thesis §6.4
    // batching), and only one is in flight per partition, as etcd's read loop
    // does: reads arriving during a round wait for the next, so a round
    // carries a round trip's worth of reads instead of one heartbeat
    // broadcast per driver pass. They may not join the round in flight,
    // whose heartbeats may have left before they arrived.
    if (!replica->reads_in_flight().empty() &&
        ticks_ < replica->read_requested_tick() + options_.read_retry_ticks) {
      ++it;
      continue;
    }
    replica->reads_in_flight()[StartReadRound(*replica)] = std::move(reads);
    replica->set_read_requested_tick(ticks_);
    reads.clear();
    it = reads_waiting_.erase(it);
  }
}

absl::Status Driver::StepReadIndex(Replica& replica, raft::Message request) {
  raft::RawNode& raw = replica.raw();
  ReadLease& lease = replica.lease();
  if (!lease.enabled() || !raw.IsLeader()) return raw.Step(std::move(request));
  // Followers' reads keep the lease renewed, as this node's own reads do.
  lease.MarkUsed();
  // The term check covers a change of role within this pass, before
  // CheckLease revokes the lease on the Ready that shows it.
  if (raw.Term() != lease.term() || !lease.Covers()) return raw.Step(std::move(request));
  if (PartitionMetrics* m = replica.metrics()) Add(m->lease_read_answers);
  return raw.StepReadIndexUnderLease(std::move(request));
}

void Driver::ServeUnderLease(Replica& replica, std::vector<PendingRead>& reads) {
  replica.lease().MarkUsed();
  ApplyTask task;
  task.partition_id = replica.partition_id();
  task.state_machine = replica.state_machine();
  task.metrics = replica.metrics();
  const uint64_t commit = replica.info().commit.load();
  for (PendingRead& read : reads) {
    read.index = commit;
    // Counted until handed over; the apply worker completes it.
    pending_reads_.fetch_sub(1);
    task.reads.push_back(std::move(read));
  }
  reads.clear();
  apply_worker_->Submit(std::move(task));
}

void Driver::CheckLease(Replica& replica, const raft::Ready& ready) {
  raft::RawNode& raw = replica.raw();
  for (const raft::Message& m : ready.messages) {
    if (m.type() == pb::MSG_TIMEOUT_NOW) {
      replica.lease().RevokeForTerm(raw.Term());
      return;
    }
  }
  if (raw.IsLeader() && raw.Term() == replica.lease().term()) return;
  replica.lease().Revoke(raw.Term());
}

bool Driver::ProcessReadys() {
  std::vector<Replica*> candidates;
  candidates.swap(touched_);
  for (Replica* replica : candidates) replica->set_touched(false);
  std::vector<std::pair<Replica*, raft::Ready>> readys;
  storage::LogBatch batch(engine_, options_.log_limits);
  for (Replica* replica : candidates) {
    if (!replica->raw().HasReady()) continue;
    raft::Ready ready = replica->raw().TakeReady();
    storage::RaftLogStore* store = &replica->log_store();
    if (ready.snapshot) {
      std::unique_ptr<storage::StagedSnapshot> staged = std::move(replica->staged_snapshot());
      // Raft only accepts a snapshot message this driver stepped together
      // with its staged state.
      RKV_CHECK(staged != nullptr);
      RKV_CHECK_OK(batch.InstallSnapshot(store, ready.snapshot->metadata(), std::move(staged)));
    }
    if (!ready.entries.empty()) RKV_CHECK_OK(batch.Append(store, ready.entries));
    if (ready.hard_state) RKV_CHECK_OK(batch.SetHardState(store, *ready.hard_state));
    readys.emplace_back(replica, std::move(ready));
  }
  if (readys.empty()) return false;
  // Thesis §10.2.1: a leader's appends and heartbeats may leave before its
  // own log write is durable, so followers persist in parallel with it; the
  // core counts the leader towards a commit only once Advance reports its
  // entries persisted. Everything else promises durable state (a vote, an
  // acknowledgement) and waits for the sync. A peer owed any of those gets
  // one batch after the sync instead of two, since a batch costs more CPU
  // than the overlap saves once the node is busy.
  std::map<uint64_t, std::vector<PartitionMessage>> outgoing;
  std::map<uint64_t, std::vector<PartitionMessage>> early;
  std::set<uint64_t> owed_after_sync;
  for (auto& [replica, ready] : readys) {
    // Before anything this Ready sends (a vote, a TimeoutNow) can help elect
    // another leader.
    CheckLease(*replica, ready);
    // Published before the entries are applied and the commit index is sent
    // to followers, so it covers every write any replica acknowledges.
    if (ready.hard_state) replica->info().commit.store(ready.hard_state->commit());
    TakeMessages(*replica, ready, /*before_sync=*/true, &early);
    for (const raft::Message& m : ready.messages) owed_after_sync.insert(m.to());
  }
  for (auto& [to, messages] : early) {
    if (owed_after_sync.count(to) > 0) {
      outgoing[to] = std::move(messages);
    } else {
      transport_->Send(to, std::move(messages));
    }
  }
  // One synced write for every partition. A failed sync is fatal: the node
  // must never acknowledge what may not be durable (STYLE §3).
  if (!batch.empty()) {
    const size_t partitions = batch.partition_count();
    const uint64_t bytes = batch.bytes();
    const SteadyClock::time_point start = SteadyClock::now();
    RKV_CHECK_OK(RKV_FAILPOINT("log-sync-before"));  // an injected fsync error stops the node
    RKV_CHECK_OK(batch.Commit());
    RKV_CHECK_OK(RKV_FAILPOINT("log-sync-after"));
    const absl::Duration took = Since(start);
    if (options_.metrics != nullptr) {
      Observe(options_.metrics->fsync_seconds(), absl::ToDoubleSeconds(took));
      Observe(options_.metrics->group_commit_partitions(), static_cast<double>(partitions));
      Observe(options_.metrics->group_commit_bytes(), static_cast<double>(bytes));
    }
    if (took > options_.slow_fsync) {
      spdlog::warn("slow fsync: persisting {} partitions ({} bytes) took {} ms", partitions, bytes,
                   absl::ToInt64Milliseconds(took));
    }
  }

  for (auto& [replica, ready] : readys) {
    ReplicaInfo& info = replica->info();
    TakeMessages(*replica, ready, /*before_sync=*/false, &outgoing);
    if (ready.soft_state) OnLeaderChange(*replica, *ready.soft_state);
    ApplyTask task;
    task.partition_id = replica->partition_id();
    task.state_machine = replica->state_machine();
    task.metrics = replica->metrics();
    CompleteCommitted(*replica, ready, task);
    if (task.activate_snapshot || !task.entries.empty() || !task.reads.empty()) {
      apply_worker_->Submit(std::move(task));
    }
    info.term.store(replica->raw().Term());
    if (PartitionMetrics* m = replica->metrics()) {
      Set(m->term, static_cast<double>(info.term.load()));
      Set(m->commit_index, static_cast<double>(info.commit.load()));
      Set(m->proposals_pending, static_cast<double>(replica->proposals().size()));
    }
    replica->raw().Advance();
    // A leader's commit after persisting is a Ready for the next pass.
    if (replica->raw().HasReady()) Touch(replica);
  }
  for (auto& [to, messages] : outgoing) transport_->Send(to, std::move(messages));
  return true;
}

void Driver::TakeMessages(Replica& replica, raft::Ready& ready, bool before_sync,
                          std::map<uint64_t, std::vector<PartitionMessage>>* outgoing) {
  std::vector<raft::Message> left;
  for (raft::Message& m : ready.messages) {
    if (before_sync && !raft::MaySendBeforeSync(m)) {
      left.push_back(std::move(m));
      continue;
    }
    // Read before the message is moved: argument evaluation order is
    // unspecified, and with m.to() beside std::move(m) every snapshot once
    // went to node 0, so a follower behind the compacted log never caught up.
    const uint64_t to = m.to();
    if (m.type() == pb::MSG_SNAPSHOT) {
      send_snapshot_(to, replica.partition_id(), std::move(m));
      continue;
    }
    PartitionMessage pm;
    pm.set_partition_id(replica.partition_id());
    *pm.mutable_message() = std::move(m);
    (*outgoing)[to].push_back(std::move(pm));
  }
  ready.messages.swap(left);
}

void Driver::CompleteCommitted(Replica& replica, raft::Ready& ready, ApplyTask& task) {
  auto& proposals = replica.proposals();
  if (ready.snapshot) {
    task.activate_snapshot = true;
    // A snapshot may carry other voters.
    balance_.erase(replica.partition_id());
    const uint64_t index = ready.snapshot->metadata().index();
    // Proposals the snapshot covers have an outcome, but not one we can read.
    while (!proposals.empty() && proposals.begin()->first <= index) {
      FinishProposal(proposals.begin()->second,
                     absl::DeadlineExceededError(absl::StrCat(
                         "outcome unknown: partition ", replica.partition_id(),
                         " replaced its log with a snapshot at index ", index)),
                     replica.metrics());
      proposals.erase(proposals.begin());
    }
  }
  for (const raft::Entry& entry : ready.committed_entries) {
    if (entry.type() == pb::ENTRY_CONF_CHANGE) {
      raft::ConfChange change;
      raft::ConfState conf_state;
      if (change.ParseFromString(entry.data())) {
        conf_state = replica.raw().ApplyConfChange(change);
      } else {
        // Every replica sees the same bytes, so every replica skips it alike.
        spdlog::error("partition={} skipped an unreadable membership change at index {}",
                      replica.partition_id(), entry.index());
        conf_state = replica.raw().GetStatus().conf_state;
      }
      task.conf_states.push_back({entry.index(), std::move(conf_state)});
      // New voters may prefer another leader.
      balance_.erase(replica.partition_id());
      // The lease's quorum was one of the old membership.
      replica.lease().Revoke(replica.raw().Term());
    }
    auto it = proposals.find(entry.index());
    if (it == proposals.end()) continue;
    if (it->second.term == entry.term()) {
      task.proposals.emplace(entry.index(), std::move(it->second.done));
    } else {
      // Log matching: a different entry committed at this index, so ours can
      // never be; retrying is safe.
      FinishProposal(it->second,
                     NotProposed(absl::StrCat("partition ", replica.partition_id(),
                                              ": the proposal at index ", entry.index(),
                                              " was replaced by a new leader's log"),
                                 replica.partition_id(), replica.raw().Leader(), ""),
                     replica.metrics());
      proposals.erase(it);
      continue;
    }
    pending_proposals_.fetch_sub(1);
    if (replica.metrics() != nullptr) Add(replica.metrics()->proposals_committed);
    proposals.erase(it);
  }
  task.entries = std::move(ready.committed_entries);
  for (raft::ReadState& rs : ready.read_states) {
    replica.lease().Confirm(rs.request_context);
    auto it = replica.reads_in_flight().find(rs.request_context);
    if (it == replica.reads_in_flight().end()) continue;
    for (PendingRead& read : it->second) {
      read.index = rs.index;
      // Counted until handed over; the apply worker completes it.
      pending_reads_.fetch_sub(1);
      task.reads.push_back(std::move(read));
    }
    replica.reads_in_flight().erase(it);
  }
}

void Driver::OnLeaderChange(Replica& replica, const raft::SoftState& soft) {
  ReplicaInfo& info = replica.info();
  const uint64_t before = info.leader.exchange(soft.leader);
  // A new leadership may hand the partition over at once.
  if (before != soft.leader) balance_.erase(replica.partition_id());
  info.is_leader.store(soft.role == raft::Role::kLeader);
  if (PartitionMetrics* m = replica.metrics()) {
    Set(m->has_leader, soft.leader != raft::kNoNode ? 1 : 0);
    Set(m->is_leader, soft.role == raft::Role::kLeader ? 1 : 0);
    if (before != soft.leader) Add(m->leader_changes);
  }
  if (before != soft.leader) {
    spdlog::info("partition={} term={} leader is now {} (this node is {})", replica.partition_id(),
                 replica.raw().Term(), soft.leader, raft::RoleName(soft.role));
  }
  // ReadIndex requests die with the leadership that would answer them; reads
  // are idempotent, so the client retries.
  for (auto& [context, reads] : replica.reads_in_flight()) {
    for (PendingRead& read : reads) FinishRead(read, NotLeader(replica));
  }
  replica.reads_in_flight().clear();
}

void Driver::ExpireRequests(SteadyClock::time_point now) {
  for (auto& [id, replica] : replicas_) {
    auto& proposals = replica->proposals();
    for (auto it = proposals.begin(); it != proposals.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      FinishProposal(it->second, absl::DeadlineExceededError(absl::StrCat(
                                     "outcome unknown: the write at index ", it->first, " of partition ",
                                     id, " did not commit before the deadline")),
                     replica->metrics());
      it = proposals.erase(it);
    }
    // Reads queued behind a round in flight expire too.
    ExpireReads(id, now, replica->reads_to_request());
    for (auto it = replica->reads_in_flight().begin(); it != replica->reads_in_flight().end();) {
      ExpireReads(id, now, it->second);
      it = it->second.empty() ? replica->reads_in_flight().erase(it) : std::next(it);
    }
  }
}

void Driver::ExpireReads(uint64_t partition_id, SteadyClock::time_point now,
                         std::vector<PendingRead>& reads) {
  auto expired = std::partition(reads.begin(), reads.end(),
                                [now](const PendingRead& r) { return r.deadline > now; });
  for (auto r = expired; r != reads.end(); ++r) {
    FinishRead(*r, absl::DeadlineExceededError(absl::StrCat(
                       "partition ", partition_id, " could not confirm its leader before the deadline")));
  }
  reads.erase(expired, reads.end());
}

void Driver::HandleApplied(AppliedInput& applied) {
  Replica* replica = Find(applied.partition_id);
  if (replica == nullptr) return;
  replica->set_applied_index(applied.applied_index);
  if (applied.conf_state) replica->conf_history()[applied.applied_index] = *applied.conf_state;
  MaybeCompact(*replica);
}

void Driver::MaybeCompact(Replica& replica) {
  storage::RaftLogStore& store = replica.log_store();
  const uint64_t applied = replica.applied_index();
  const uint64_t retain = options_.log_retain_entries;
  // Compact in steps of `retain` so the cost is paid rarely.
  if (applied < store.FirstIndex() + 2 * retain) return;
  // The state machine writes no WAL: a crash takes it back to its durable
  // applied index, and the log must still hold every entry after that.
  absl::StatusOr<uint64_t> durable = replica.state_machine()->DurableAppliedIndex();
  if (!durable.ok()) {
    spdlog::warn("partition={} could not read its durable applied index: {}",
                 replica.partition_id(), durable.status().message());
    return;
  }
  const uint64_t new_first = std::min(applied + 1 - retain, *durable + 1);
  if (new_first < store.FirstIndex() + retain) {
    // Memtables that fill slowly (a partition written little, or entries
    // that change few keys) are flushed when the log waits for them; asked
    // again only `retain` entries later, should a flush be lost.
    if (applied >= replica.flush_requested_at() + retain) {
      replica.set_flush_requested_at(applied);
      if (absl::Status s = replica.state_machine()->Flush(/*wait=*/false); !s.ok()) {
        spdlog::warn("partition={} could not flush its state machine: {}", replica.partition_id(),
                     s.message());
      }
    }
    return;
  }
  auto& history = replica.conf_history();
  // The membership as of new_first - 1: the last change at or before it.
  auto it = history.upper_bound(new_first - 1);
  if (it == history.begin()) return;
  --it;
  absl::Status s = store.Compact(new_first, it->second);
  if (!s.ok()) {
    spdlog::warn("partition={} could not compact its log to {}: {}", replica.partition_id(), new_first,
                 s.message());
    return;
  }
  history.erase(history.begin(), it);
}

void Driver::FailEverything(const absl::Status& status) {
  for (auto& [id, replica] : replicas_) {
    for (auto& [index, proposal] : replica->proposals()) {
      FinishProposal(proposal, absl::UnavailableError(absl::StrCat("outcome unknown: ", status.message())),
                     replica->metrics());
    }
    replica->proposals().clear();
    for (PendingRead& read : replica->reads_to_request()) FinishRead(read, status);
    replica->reads_to_request().clear();
    for (auto& [context, reads] : replica->reads_in_flight()) {
      for (PendingRead& read : reads) FinishRead(read, status);
    }
    replica->reads_in_flight().clear();
  }
  for (auto& [id, queued] : queued_proposals_) {
    for (auto& [data, proposal] : queued) {
      FinishProposal(proposal, NotProposed(status.message(), id, 0, ""), MetricsOf(id));
    }
  }
  queued_proposals_.clear();
  std::vector<Input> inputs;
  inbox_.TakeAllNow(&inputs);
  for (Input& input : inputs) {
    if (auto* p = std::get_if<ProposeInput>(&input)) {
      FinishProposal(p->proposal, NotProposed(status.message(), p->partition_id, 0, ""),
                     MetricsOf(p->partition_id));
    } else if (auto* r = std::get_if<ReadInput>(&input)) {
      FinishRead(r->read, status);
    }
  }
}

// ---------------------------------------------------------------------------
// Helpers

Replica* Driver::Find(uint64_t partition_id) {
  auto it = replicas_.find(partition_id);
  return it == replicas_.end() ? nullptr : it->second;
}

PartitionMetrics* Driver::MetricsOf(uint64_t partition_id) {
  Replica* replica = Find(partition_id);
  return replica == nullptr ? nullptr : replica->metrics();
}

absl::Status Driver::NotLeader(const Replica& replica) const {
  const uint64_t leader = replica.info().leader.load();
  auto it = options_.client_addresses.find(leader);
  const std::string address = it == options_.client_addresses.end() ? "" : it->second;
  const std::string message =
      leader == raft::kNoNode
          ? absl::StrCat("partition ", replica.partition_id(), " has no leader right now")
          : absl::StrCat("node ", options_.node_id, " does not lead partition ",
                         replica.partition_id(), "; node ", leader, " does");
  return NotProposed(message, replica.partition_id(), leader, address);
}

void Driver::FinishProposal(PendingProposal& proposal, absl::StatusOr<storage::EntryResult> result,
                            PartitionMetrics* metrics) {
  pending_proposals_.fetch_sub(1);
  if (metrics != nullptr && !result.ok()) Add(metrics->proposals_failed);
  std::move(proposal.done)(std::move(result));
}

void Driver::FinishRead(PendingRead& read, absl::Status status) {
  pending_reads_.fetch_sub(1);
  std::move(read.done)(std::move(status));
}

}  // namespace rkv::server
