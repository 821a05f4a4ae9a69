#include "raft/consensus.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/unstable.h"

namespace rkv::raft {
namespace {

using rkv::internal::MessageType;
namespace pb = rkv::internal;

// Marks the vote requests of a leader transfer: voters grant them even while
// they still hear from the old leader (thesis §3.10).
constexpr char kTransferContext[] = "rkv-transfer";

NullLogger* DiscardLogger() {
  static NullLogger logger;
  return &logger;
}

bool IsVoteRequest(MessageType t) { return t == pb::MSG_VOTE || t == pb::MSG_PRE_VOTE; }

bool IsPeerMessage(MessageType t) {
  switch (t) {
    case pb::MSG_APPEND:
    case pb::MSG_APPEND_RESPONSE:
    case pb::MSG_VOTE:
    case pb::MSG_VOTE_RESPONSE:
    case pb::MSG_PRE_VOTE:
    case pb::MSG_PRE_VOTE_RESPONSE:
    case pb::MSG_HEARTBEAT:
    case pb::MSG_HEARTBEAT_RESPONSE:
    case pb::MSG_SNAPSHOT:
    case pb::MSG_READ_INDEX:
    case pb::MSG_READ_INDEX_RESPONSE:
    case pb::MSG_TRANSFER_LEADER:
    case pb::MSG_TIMEOUT_NOW:
      return true;
    default:
      return false;
  }
}

// Checks the shape of a message from the network; contents are never trusted
// to be well-formed.
absl::Status ValidatePeerMessage(const Message& m, NodeId self) {
  if (m.to() != self) {
    return absl::InvalidArgumentError(
        absl::StrCat("message for node ", m.to(), " reached node ", self));
  }
  if (m.from() == kNoNode || m.from() == self) {
    return absl::InvalidArgumentError(absl::StrCat("message from invalid node id ", m.from()));
  }
  if (!IsPeerMessage(m.type())) {
    return absl::InvalidArgumentError(absl::StrCat("message type ", m.type(), " is not a peer message"));
  }
  if (m.term() == 0) return absl::InvalidArgumentError("message carries no term");
  for (int i = 0; i < m.entries_size(); ++i) {
    const Entry& e = m.entries(i);
    if (e.index() != m.index() + 1 + static_cast<uint64_t>(i)) {
      return absl::InvalidArgumentError(absl::StrCat("entry ", i, " has index ", e.index(),
                                                     "; expected ", m.index() + 1 + i));
    }
    if (e.term() > m.term() || e.term() < m.log_term() || e.term() == 0) {
      return absl::InvalidArgumentError(absl::StrCat("entry ", e.index(), " has term ", e.term(),
                                                     " outside [", m.log_term(), ", ", m.term(), "]"));
    }
    if (i > 0 && e.term() < m.entries(i - 1).term()) {
      return absl::InvalidArgumentError(absl::StrCat("entry terms decrease at index ", e.index()));
    }
    if (!pb::EntryType_IsValid(e.type())) {
      return absl::InvalidArgumentError(absl::StrCat("entry ", e.index(), " has unknown type ", e.type()));
    }
  }
  if (m.type() == pb::MSG_SNAPSHOT &&
      (m.snapshot().metadata().index() == 0 || m.snapshot().metadata().term() == 0)) {
    return absl::InvalidArgumentError("snapshot message without snapshot metadata");
  }
  return absl::OkStatus();
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

Consensus::Consensus(const Config& config, const LogReader* log)
    : id_(config.id),
      log_(log, config.max_committed_bytes_per_ready),
      tracker_(config.max_inflight_msgs, config.max_inflight_bytes),
      config_(config),
      random_(config.seed ^ (config.id * 0x9e3779b97f4a7c15ULL)),
      logger_(config.logger != nullptr ? config.logger : DiscardLogger()) {}

absl::StatusOr<std::unique_ptr<Consensus>> Consensus::Create(const Config& config,
                                                             const LogReader* log) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  std::unique_ptr<Consensus> c(new Consensus(config, log));
  absl::StatusOr<InitialState> init = log->LoadInitialState();
  if (!init.ok()) return init.status();
  absl::StatusOr<ConfigAndProgress> cp =
      RestoreConfig(init->conf_state, c->tracker_, c->log_.LastIndex());
  if (!cp.ok()) {
    return absl::DataLossError(absl::StrCat("stored membership of node ", config.id,
                                            " is invalid: ", cp.status().message()));
  }
  c->SwitchToConfig(std::move(*cp));
  const HardState& hs = init->hard_state;
  if (!IsEmpty(hs)) {
    if (hs.commit() < c->log_.committed() || hs.commit() > c->log_.LastIndex()) {
      return absl::DataLossError(absl::StrCat(
          "stored commit index ", hs.commit(), " of node ", config.id, " is outside the log [",
          c->log_.committed(), ", ", c->log_.LastIndex(), "]"));
    }
    c->term_ = hs.term();
    c->vote_ = hs.vote();
    c->log_.SetCommittedAndApplied(hs.commit(), 0);
  }
  if (config.applied > 0) {
    if (config.applied > c->log_.committed()) {
      return absl::InvalidArgumentError(absl::StrCat("applied index ", config.applied,
                                                     " is past the commit index ",
                                                     c->log_.committed()));
    }
    c->log_.SetCommittedAndApplied(c->log_.committed(), config.applied);
  }
  c->BecomeFollower(c->term_, kNoNode);
  c->Log(LogLevel::kInfo, "started: ", c->log_.ToString(), " ", c->tracker_.config().ToString());
  return c;
}

HardState Consensus::hard_state() const {
  HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

// ---------------------------------------------------------------------------
// Role transitions

void Consensus::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  stepping_down_ = false;
  tracker_.ResetVotes();
  const uint64_t next = log_.LastIndex() + 1;
  for (auto& [id, pr] : tracker_.mutable_progress()) {
    const bool learner = pr.is_learner();
    pr = tracker_.MakeProgress(next);
    pr.set_is_learner(learner);
    if (id == id_) pr.SetMatchForSelf(log_.PersistedLastIndex());
  }
  pending_conf_index_ = 0;
  uncommitted_bytes_ = 0;
  read_only_.Clear();
  pending_reads_.clear();
}

void Consensus::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      config_.election_ticks + static_cast<int>(random_.Uniform(config_.election_ticks));
}

void Consensus::BecomeFollower(uint64_t term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
  Log(LogLevel::kInfo, "became follower of ", lead);
}

void Consensus::BecomePreCandidate() {
  RKV_CHECK(role_ != Role::kLeader);
  // A pre-candidate changes neither its term nor its vote (thesis §9.6).
  tracker_.ResetVotes();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
  Log(LogLevel::kInfo, "became pre-candidate");
}

void Consensus::BecomeCandidate() {
  RKV_CHECK(role_ != Role::kLeader);
  Reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
  Log(LogLevel::kInfo, "became candidate");
}

void Consensus::BecomeLeader() {
  RKV_CHECK(role_ == Role::kCandidate);
  Reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  // Only a node outside the voters that campaigned to catch them up
  // (Promotable) leads without being a voter; it only hands over.
  stepping_down_ = !IsVoter();
  needed_by_outgoing_voter_ = false;
  if (Progress* self = tracker_.Find(id_); self != nullptr) {
    self->BecomeReplicate();
    self->set_recent_active(true);
  }
  // Entries of earlier terms may hold a membership change not yet applied;
  // no new change is accepted until they are (thesis §4.1).
  pending_conf_index_ = log_.LastIndex();
  // An empty entry of the new term lets the leader commit (Raft paper §5.4.2, §8).
  std::vector<Entry> noop(1);
  RKV_CHECK(AppendEntries(std::move(noop)));
  Log(LogLevel::kInfo, "became leader at ", log_.ToString());
  BroadcastAppend();
  if (stepping_down_) MaybeHandOffLeadership();
}

bool Consensus::IsVoter() const {
  const Progress* pr = tracker_.Find(id_);
  return pr != nullptr && !pr->is_learner() && tracker_.config().voters.Contains(id_);
}

bool Consensus::Promotable() const {
  if (log_.unstable().snapshot().has_value()) return false;
  if (IsVoter()) return true;
  // Thesis §4.2.2: a server outside the new configuration may lead it until
  // the change commits. We apply changes when they commit, so a voter that
  // has not applied the change leaving its joint configuration still needs
  // the outgoing voters, us among them; if its log is behind ours we refuse
  // it, and if no voter holds our entries nobody else can win. We campaign
  // for the votes of our own configuration (its new voters), just as one of
  // them would, and a win hands leadership over at once (BecomeLeader).
  return needed_by_outgoing_voter_ && !tracker_.config().voters.Ids().empty();
}

bool Consensus::HasUnappliedConfChange() const {
  uint64_t lo = log_.applied() + 1;
  const uint64_t hi = log_.committed() + 1;
  if (lo < log_.FirstIndex()) lo = log_.FirstIndex();
  while (lo < hi) {
    absl::StatusOr<std::vector<Entry>> page = log_.Slice(lo, hi, config_.max_msg_bytes);
    RKV_CHECK_OK(page.status());
    for (const Entry& e : *page) {
      if (e.type() == pb::ENTRY_CONF_CHANGE) return true;
    }
    lo += page->size();
  }
  return false;
}

void Consensus::Hup(bool transfer) {
  if (role_ == Role::kLeader) return;
  if (!Promotable()) {
    Log(LogLevel::kDebug, "is not promotable; not campaigning");
    return;
  }
  // A node that may still apply a membership change does not know the
  // configuration it would lead (thesis §4.1).
  if (HasUnappliedConfChange()) {
    Log(LogLevel::kWarning, "has unapplied membership changes; not campaigning");
    return;
  }
  StartElection(config_.pre_vote && !transfer, transfer);
}

void Consensus::StartElection(bool pre_vote, bool transfer) {
  MessageType type;
  uint64_t vote_term;
  if (pre_vote) {
    BecomePreCandidate();
    type = pb::MSG_PRE_VOTE;
    vote_term = term_ + 1;
  } else {
    BecomeCandidate();
    type = pb::MSG_VOTE;
    vote_term = term_;
  }
  if (Poll(id_, true) == VoteResult::kWon) {
    // A single voter wins at once.
    if (pre_vote) {
      StartElection(false, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  const uint64_t last_index = log_.LastIndex();
  const uint64_t last_term = log_.LastTerm();
  for (NodeId id : tracker_.config().voters.Ids()) {
    if (id == id_) continue;
    Message m;
    m.set_type(type);
    m.set_to(id);
    m.set_term(vote_term);
    m.set_index(last_index);
    m.set_log_term(last_term);
    if (transfer) m.set_context(kTransferContext);
    Send(std::move(m));
  }
}

VoteResult Consensus::Poll(NodeId id, bool granted) {
  tracker_.RecordVote(id, granted);
  size_t yes = 0;
  size_t no = 0;
  VoteResult result = tracker_.TallyVotes(&yes, &no);
  Log(LogLevel::kDebug, "votes: ", yes, " granted, ", no, " rejected");
  return result;
}

// ---------------------------------------------------------------------------
// Time

void Consensus::Tick() {
  if (ticks_since_start_ < config_.election_ticks) ++ticks_since_start_;
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Consensus::TickElection() {
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    Hup(/*transfer=*/false);
  }
}

void Consensus::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      // Thesis §6.2: a leader that did not hear from a quorum within an
      // election timeout steps down, so a partitioned leader stops serving.
      // A removed leader handing over is the exception: it serves no read
      // and takes no proposal, and it must stay to catch a successor up.
      // Stepping down would strand voters that lack its last entries, since
      // its longer log would then refuse them its vote (simulator, seed 16682).
      if (!tracker_.QuorumActive() && !stepping_down_) {
        Log(LogLevel::kWarning, "did not hear from a quorum; stepping down");
        BecomeFollower(term_, kNoNode);
        return;
      }
      for (auto& [id, pr] : tracker_.mutable_progress()) {
        if (id != id_) pr.set_recent_active(false);
      }
    }
    // A transfer that did not finish within an election timeout is abandoned.
    if (lead_transferee_ != kNoNode) {
      Log(LogLevel::kInfo, "leader transfer to ", lead_transferee_, " timed out");
      AbortLeaderTransfer();
    }
    if (stepping_down_) MaybeHandOffLeadership();
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

// ---------------------------------------------------------------------------
// Messages

absl::Status Consensus::Step(Message m) {
  if (absl::Status s = ValidatePeerMessage(m, id_); !s.ok()) return s;

  if (m.term() > term_) {
    if (IsVoteRequest(m.type())) {
      const bool force = m.context() == kTransferContext;
      const bool hears_leader = config_.check_quorum && lead_ != kNoNode &&
                                election_elapsed_ < config_.election_ticks;
      const bool just_started =
          config_.ignore_votes_at_start && ticks_since_start_ < config_.election_ticks;
      const bool in_lease = hears_leader || just_started;
      // Thesis §4.2.3: while a node hears from a leader it ignores vote
      // requests, so a removed or partitioned node cannot disrupt the cluster.
      if (!force && in_lease) {
        Log(LogLevel::kDebug, "ignored a vote request from ", m.from(), " at term ", m.term(),
            ": the leader's lease has not expired");
        return absl::OkStatus();
      }
    }
    if (m.type() == pb::MSG_PRE_VOTE) {
      // A pre-vote never changes our term (thesis §9.6).
    } else if (m.type() == pb::MSG_PRE_VOTE_RESPONSE && !m.reject()) {
      // The pre-candidate raises its term only once it wins the pre-vote.
    } else if (m.type() == pb::MSG_APPEND || m.type() == pb::MSG_HEARTBEAT ||
               m.type() == pb::MSG_SNAPSHOT) {
      BecomeFollower(m.term(), m.from());
    } else if (m.type() == pb::MSG_VOTE) {
      // Raft paper, Figure 2: only a current leader's append or a granted
      // vote restarts the election timer; a higher term alone does not.
      // Otherwise candidates whose logs are behind ours, each failing in
      // turn, keep restarting the timer of the one node that could win, and
      // nobody is ever elected (simulator seeds 63390, 98284; no pre-vote).
      const int elapsed = election_elapsed_;
      BecomeFollower(m.term(), kNoNode);
      election_elapsed_ = elapsed;
    } else {
      BecomeFollower(m.term(), kNoNode);
    }
  } else if (m.term() < term_) {
    if (m.type() == pb::MSG_HEARTBEAT || m.type() == pb::MSG_APPEND) {
      // Raft paper §5.1: a stale request is answered with our term, so a stale
      // leader steps down. Without it a leader would never learn it lost when
      // our vote requests cannot reach it (pre-vote, or a membership we have
      // not caught up on that leaves it out) and it needs us for a quorum.
      Message resp;
      resp.set_type(pb::MSG_APPEND_RESPONSE);
      resp.set_to(m.from());
      Send(std::move(resp));
    } else if (m.type() == pb::MSG_PRE_VOTE) {
      Message resp;
      resp.set_type(pb::MSG_PRE_VOTE_RESPONSE);
      resp.set_to(m.from());
      resp.set_term(term_);
      resp.set_reject(true);
      Send(std::move(resp));
    }
    return absl::OkStatus();
  }

  if (IsVoteRequest(m.type())) {
    HandleVoteRequest(m);
    return absl::OkStatus();
  }
  switch (role_) {
    case Role::kLeader:
      return StepLeader(m);
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(m);
      return absl::OkStatus();
    case Role::kFollower:
      StepFollower(m);
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

void Consensus::HandleVoteRequest(const Message& m) {
  const bool pre = m.type() == pb::MSG_PRE_VOTE;
  // Raft paper §5.2: one vote per term; §5.4.1: only for an up-to-date log.
  const bool can_vote = vote_ == m.from() || (vote_ == kNoNode && lead_ == kNoNode) ||
                        (pre && m.term() > term_);
  Message resp;
  resp.set_type(pre ? pb::MSG_PRE_VOTE_RESPONSE : pb::MSG_VOTE_RESPONSE);
  resp.set_to(m.from());
  const bool up_to_date = log_.IsUpToDate(m.index(), m.log_term());
  // A request reaching a non-voter comes from a voter that still counts it.
  if (!IsVoter()) needed_by_outgoing_voter_ = !up_to_date;
  if (can_vote && up_to_date) {
    // The response carries the request's term so the candidate counts it.
    resp.set_term(m.term());
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
    Log(LogLevel::kInfo, pre ? "granted pre-vote to " : "granted vote to ", m.from(),
        " at term ", m.term());
  } else {
    resp.set_term(term_);
    resp.set_reject(true);
  }
  Send(std::move(resp));
}

absl::Status Consensus::StepReadIndexUnderLease(Message m) {
  if (m.type() != pb::MSG_READ_INDEX) {
    return absl::InvalidArgumentError(
        absl::StrCat("message type ", m.type(), " is not a ReadIndex request"));
  }
  // Only this request may skip the round: one the leader must hold until an
  // entry of its term commits takes a round when it is released.
  read_lease_held_ = true;
  absl::Status s = Step(std::move(m));
  read_lease_held_ = false;
  return s;
}

absl::Status Consensus::StepLeader(Message& m) {
  switch (m.type()) {
    case pb::MSG_READ_INDEX:
      HandleReadIndexOnLeader(m);
      return absl::OkStatus();
    case pb::MSG_TRANSFER_LEADER:
      HandleTransferLeader(m.from());
      return absl::OkStatus();
    case pb::MSG_APPEND_RESPONSE:
    case pb::MSG_HEARTBEAT_RESPONSE: {
      Progress* pr = tracker_.Find(m.from());
      if (pr == nullptr) return absl::OkStatus();  // a removed member
      if (m.type() == pb::MSG_APPEND_RESPONSE) {
        if (!m.reject() && m.index() > log_.LastIndex()) {
          return absl::InvalidArgumentError(absl::StrCat("node ", m.from(), " acknowledged index ",
                                                         m.index(), " past the leader's last index ",
                                                         log_.LastIndex()));
        }
        HandleAppendResponse(m, *pr);
      } else {
        HandleHeartbeatResponse(m, *pr);
      }
      return absl::OkStatus();
    }
    default:
      // Another leader at our term cannot exist (election safety); other
      // messages are stale.
      Log(LogLevel::kDebug, "leader ignored message type ", m.type(), " from ", m.from());
      return absl::OkStatus();
  }
}

void Consensus::HandleAppendResponse(const Message& m, Progress& pr) {
  pr.set_recent_active(true);
  if (m.reject()) {
    // Fast back-off: jump to the follower's hint instead of one entry per
    // round trip (Raft paper §5.3, last paragraphs).
    uint64_t next_probe = m.reject_hint();
    if (m.log_term() > 0) next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term()).first;
    if (pr.MaybeDecrTo(m.index(), next_probe)) {
      if (pr.state() == ProgressState::kReplicate) pr.BecomeProbe();
      MaybeSendAppend(m.from(), /*send_if_empty=*/true);
    }
    return;
  }
  const bool was_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index())) return;
  switch (pr.state()) {
    case ProgressState::kProbe:
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match() >= pr.pending_snapshot()) {
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.FreeInflightsUpTo(m.index());
      break;
  }
  if (MaybeCommit()) {
    ReleasePendingReads();
    BroadcastAppend();
  } else if (was_paused) {
    MaybeSendAppend(m.from(), /*send_if_empty=*/true);
  }
  // Pipelining: fill the window (bounded by the inflight limits).
  while (MaybeSendAppend(m.from(), /*send_if_empty=*/false)) {
  }
  if (m.from() == lead_transferee_ && pr.match() == log_.LastIndex()) {
    Log(LogLevel::kInfo, "transferee ", m.from(), " caught up; sending timeout-now");
    SendTimeoutNow(m.from());
  }
}

void Consensus::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.set_recent_active(true);
  pr.ResumeProbe();
  // A full window with no acknowledgements means appends were lost; free one
  // slot so the next append reveals the gap (the follower rejects it).
  if (pr.state() == ProgressState::kReplicate && pr.inflights().Full()) pr.FreeOldestInflight();
  if (pr.match() < log_.LastIndex()) MaybeSendAppend(m.from(), /*send_if_empty=*/true);

  if (config_.read_only != ReadOnlyOption::kSafe || m.context().empty()) return;
  const std::set<NodeId>* acks = read_only_.RecordAck(m.from(), m.context());
  if (acks == nullptr || !tracker_.QuorumAcked(*acks)) return;
  for (const PendingRead& read : read_only_.Advance(m.context())) RespondToRead(read);
}

void Consensus::StepCandidate(Message& m) {
  switch (m.type()) {
    case pb::MSG_APPEND:
      BecomeFollower(m.term(), m.from());
      HandleAppendEntries(m);
      return;
    case pb::MSG_HEARTBEAT:
      BecomeFollower(m.term(), m.from());
      HandleHeartbeat(m);
      return;
    case pb::MSG_SNAPSHOT:
      BecomeFollower(m.term(), m.from());
      HandleSnapshot(m);
      return;
    case pb::MSG_PRE_VOTE_RESPONSE:
    case pb::MSG_VOTE_RESPONSE: {
      const bool pre = role_ == Role::kPreCandidate;
      if (m.type() != (pre ? pb::MSG_PRE_VOTE_RESPONSE : pb::MSG_VOTE_RESPONSE)) return;
      switch (Poll(m.from(), !m.reject())) {
        case VoteResult::kWon:
          if (pre) {
            StartElection(/*pre_vote=*/false, /*transfer=*/false);
          } else {
            BecomeLeader();
          }
          return;
        case VoteResult::kLost:
          BecomeFollower(term_, kNoNode);
          return;
        case VoteResult::kPending:
          return;
      }
      return;
    }
    default:
      return;
  }
}

void Consensus::StepFollower(Message& m) {
  if (m.type() == pb::MSG_APPEND || m.type() == pb::MSG_HEARTBEAT || m.type() == pb::MSG_SNAPSHOT) {
    election_elapsed_ = 0;
    lead_ = m.from();
    // A leader that counts us brings the voters up to date itself.
    needed_by_outgoing_voter_ = false;
  }
  switch (m.type()) {
    case pb::MSG_APPEND:
      HandleAppendEntries(m);
      return;
    case pb::MSG_HEARTBEAT:
      HandleHeartbeat(m);
      return;
    case pb::MSG_SNAPSHOT:
      HandleSnapshot(m);
      return;
    case pb::MSG_TIMEOUT_NOW:
      Log(LogLevel::kInfo, "received timeout-now from ", m.from(), "; campaigning");
      Hup(/*transfer=*/true);
      return;
    case pb::MSG_READ_INDEX_RESPONSE:
      read_states_.push_back({m.index(), m.context()});
      return;
    default:
      return;
  }
}

void Consensus::HandleAppendEntries(Message& m) {
  Message resp;
  resp.set_type(pb::MSG_APPEND_RESPONSE);
  resp.set_to(m.from());
  if (m.index() < log_.committed()) {
    resp.set_index(log_.committed());
    Send(std::move(resp));
    return;
  }
  std::vector<Entry> entries;
  entries.reserve(m.entries_size());
  for (Entry& e : *m.mutable_entries()) entries.push_back(std::move(e));
  if (std::optional<uint64_t> last_new =
          log_.MaybeAppend(m.index(), m.log_term(), m.commit(), std::move(entries))) {
    resp.set_index(*last_new);
    Send(std::move(resp));
    return;
  }
  // Tell the leader the largest index that may still match, with its term, so
  // it can skip a whole term of conflicting entries at once.
  auto [hint_index, hint_term] =
      log_.FindConflictByTerm(std::min(m.index(), log_.LastIndex()), m.log_term());
  resp.set_index(m.index());
  resp.set_reject(true);
  resp.set_reject_hint(hint_index);
  resp.set_log_term(hint_term);
  Send(std::move(resp));
}

void Consensus::HandleHeartbeat(const Message& m) {
  // The leader sends min(match, commit); more than our log means our durable
  // state lost entries we acknowledged: commit only what we hold.
  if (m.commit() > log_.LastIndex()) {
    Log(LogLevel::kError, "heartbeat commit ", m.commit(), " is past our last index ",
        log_.LastIndex());
  }
  log_.CommitTo(std::min(m.commit(), log_.LastIndex()));
  Message resp;
  resp.set_type(pb::MSG_HEARTBEAT_RESPONSE);
  resp.set_to(m.from());
  resp.set_context(m.context());
  Send(std::move(resp));
}

void Consensus::HandleSnapshot(Message& m) {
  Message resp;
  resp.set_type(pb::MSG_APPEND_RESPONSE);
  resp.set_to(m.from());
  if (Restore(m.snapshot())) {
    Log(LogLevel::kInfo, "restored snapshot at index ", m.snapshot().metadata().index());
    resp.set_index(log_.LastIndex());
  } else {
    resp.set_index(log_.committed());
  }
  Send(std::move(resp));
}

bool Consensus::Restore(const Snapshot& snapshot) {
  const SnapshotMetadata& meta = snapshot.metadata();
  if (meta.index() <= log_.committed()) return false;
  RKV_CHECK(role_ == Role::kFollower);
  const ConfState& cs = meta.conf_state();
  auto contains = [this](const auto& ids) { return std::find(ids.begin(), ids.end(), id_) != ids.end(); };
  // A node that knows no membership yet is joining: it takes any snapshot and
  // learns from it, and from the log after it, when it was added. A member
  // refuses a snapshot that no longer includes it.
  const bool joining = tracker_.config().voters.Ids().empty() && tracker_.config().learners.empty();
  if (!joining && !contains(cs.voters()) && !contains(cs.learners()) && !contains(cs.voters_outgoing())) {
    Log(LogLevel::kWarning, "ignored a snapshot at index ", meta.index(),
        " whose membership does not include this node");
    return false;
  }
  // A log that already holds the snapshot's last entry only moves its commit.
  if (log_.MatchTerm(meta.index(), meta.term())) {
    log_.CommitTo(meta.index());
    return false;
  }
  ProgressTracker empty(config_.max_inflight_msgs, config_.max_inflight_bytes);
  absl::StatusOr<ConfigAndProgress> cp = RestoreConfig(cs, empty, meta.index());
  if (!cp.ok()) {
    Log(LogLevel::kError, "rejected a snapshot with an invalid membership: ", cp.status().message());
    return false;
  }
  log_.Restore(snapshot);
  SwitchToConfig(std::move(*cp));
  return true;
}

// ---------------------------------------------------------------------------
// Reads and leader transfer

void Consensus::ReadIndex(std::string context) {
  Message m;
  m.set_type(pb::MSG_READ_INDEX);
  m.set_from(id_);
  m.set_context(std::move(context));
  if (role_ == Role::kLeader) {
    HandleReadIndexOnLeader(m);
  } else if (lead_ != kNoNode) {
    m.set_to(lead_);
    Send(std::move(m));
  } else {
    Log(LogLevel::kDebug, "dropped a read: no leader is known");
  }
}

void Consensus::HandleReadIndexOnLeader(const Message& m) {
  // A leader handing over after its removal may already be deposed without
  // knowing it: the new leader answers reads.
  if (stepping_down_) {
    Log(LogLevel::kDebug, "dropped a read: handing leadership over");
    return;
  }
  // Thesis §6.4 step 1: the commit index is known to be current only once an
  // entry of this term has committed.
  if (!CommittedEntryInCurrentTerm()) {
    pending_reads_.push_back(m);
    return;
  }
  PendingRead read{log_.committed(), m.from(), m.context(), {}};
  if (config_.read_only == ReadOnlyOption::kLeaseBased || read_lease_held_) {
    RespondToRead(read);
    return;
  }
  read_only_.Add(read.index, read.from, read.context);
  // The leader's own acknowledgement may already be a quorum (a sole voter,
  // also in a joint configuration of itself alone).
  const std::set<NodeId>* acks = read_only_.RecordAck(id_, read.context);
  if (acks != nullptr && tracker_.QuorumAcked(*acks)) {
    for (const PendingRead& ready : read_only_.Advance(read.context)) RespondToRead(ready);
    return;
  }
  // Step 2: confirm leadership with a round of heartbeats carrying the context.
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) SendHeartbeat(id, m.context());
  }
}

void Consensus::RespondToRead(const PendingRead& read) {
  if (read.from == id_ || read.from == kNoNode) {
    read_states_.push_back({read.index, read.context});
    return;
  }
  Message resp;
  resp.set_type(pb::MSG_READ_INDEX_RESPONSE);
  resp.set_to(read.from);
  resp.set_index(read.index);
  resp.set_context(read.context);
  Send(std::move(resp));
}

void Consensus::ReleasePendingReads() {
  if (pending_reads_.empty() || !CommittedEntryInCurrentTerm()) return;
  std::vector<Message> reads;
  reads.swap(pending_reads_);
  for (const Message& m : reads) HandleReadIndexOnLeader(m);
}

bool Consensus::CommittedEntryInCurrentTerm() const {
  return log_.TermOrZero(log_.committed()) == term_;
}

void Consensus::TransferLeader(NodeId to) {
  if (role_ == Role::kLeader) {
    HandleTransferLeader(to);
  } else if (to == id_ && lead_ != kNoNode) {
    // A node asks the leader it knows to hand leadership to it.
    Message m;
    m.set_type(pb::MSG_TRANSFER_LEADER);
    m.set_to(lead_);
    Send(std::move(m));
  }
}

void Consensus::HandleTransferLeader(NodeId transferee) {
  const Progress* pr = tracker_.Find(transferee);
  if (pr == nullptr || pr->is_learner()) {
    Log(LogLevel::kInfo, "ignored transfer to ", transferee, ": not a voter");
    return;
  }
  if (lead_transferee_ != kNoNode) {
    if (lead_transferee_ == transferee) return;
    AbortLeaderTransfer();
  }
  if (transferee == id_) return;
  Log(LogLevel::kInfo, "transferring leadership to ", transferee);
  // The transfer must finish within an election timeout (thesis §3.10).
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr->match() == log_.LastIndex()) {
    SendTimeoutNow(transferee);
  } else {
    MaybeSendAppend(transferee, /*send_if_empty=*/true);
  }
}

void Consensus::MaybeHandOffLeadership() {
  if (role_ != Role::kLeader || !stepping_down_ || lead_transferee_ != kNoNode) return;
  NodeId best = kNoNode;
  uint64_t best_match = 0;
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id == id_ || pr.is_learner() || !tracker_.config().voters.Contains(id)) continue;
    if (best == kNoNode || pr.match() > best_match) {
      best = id;
      best_match = pr.match();
    }
  }
  if (best != kNoNode) HandleTransferLeader(best);
}

void Consensus::SendTimeoutNow(NodeId to) {
  Message m;
  m.set_type(pb::MSG_TIMEOUT_NOW);
  m.set_to(to);
  Send(std::move(m));
}

// ---------------------------------------------------------------------------
// Proposals

absl::Status Consensus::CheckCanPropose() const {
  if (role_ != Role::kLeader) {
    if (lead_ == kNoNode) {
      return absl::UnavailableError(absl::StrCat("node ", id_, " is not the leader and knows no leader"));
    }
    return absl::UnavailableError(
        absl::StrCat("node ", id_, " is not the leader; the leader is node ", lead_));
  }
  if (stepping_down_) {
    return absl::UnavailableError(absl::StrCat(
        "node ", id_, " is no longer a voter and is handing leadership over; retry on the new leader"));
  }
  if (lead_transferee_ != kNoNode) {
    return absl::UnavailableError(absl::StrCat("leadership is being transferred from node ", id_,
                                               " to node ", lead_transferee_));
  }
  return absl::OkStatus();
}

absl::Status Consensus::Propose(std::vector<std::string> data) {
  if (absl::Status s = CheckCanPropose(); !s.ok()) return s;
  if (data.size() > config_.max_proposal_entries) {
    return absl::ResourceExhaustedError(absl::StrCat("a proposal batch holds ", data.size(),
                                                     " entries; the limit is ",
                                                     config_.max_proposal_entries));
  }
  if (data.empty()) return absl::OkStatus();
  std::vector<Entry> entries(data.size());
  for (size_t i = 0; i < data.size(); ++i) entries[i].set_data(std::move(data[i]));
  if (!AppendEntries(std::move(entries))) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "node ", id_, " has ", uncommitted_bytes_, " uncommitted bytes; the limit is ",
        config_.max_uncommitted_bytes));
  }
  BroadcastAppend();
  return absl::OkStatus();
}

absl::Status Consensus::ProposeConfChange(const ConfChange& change) {
  if (absl::Status s = CheckCanPropose(); !s.ok()) return s;
  if (pending_conf_index_ > log_.applied()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the membership change at index ", pending_conf_index_,
        " is not applied yet (applied index ", log_.applied(), "); retry once it is"));
  }
  // Validate against the configuration it will apply to: with no change
  // pending, that is the current one.
  absl::StatusOr<ConfigAndProgress> next = ConfChanger(tracker_, log_.LastIndex()).Apply(change);
  if (!next.ok()) return next.status();
  std::vector<Entry> entries(1);
  entries[0].set_type(pb::ENTRY_CONF_CHANGE);
  entries[0].set_data(change.SerializeAsString());
  if (!AppendEntries(std::move(entries))) {
    return absl::ResourceExhaustedError(absl::StrCat("node ", id_, " has too many uncommitted bytes"));
  }
  pending_conf_index_ = log_.LastIndex();
  BroadcastAppend();
  return absl::OkStatus();
}

bool Consensus::AppendEntries(std::vector<Entry> entries) {
  uint64_t bytes = 0;
  for (const Entry& e : entries) bytes += e.data().size();
  // Always admit a batch when nothing is uncommitted, so one large proposal
  // cannot be refused forever.
  if (uncommitted_bytes_ > 0 && bytes > 0 &&
      uncommitted_bytes_ + bytes > config_.max_uncommitted_bytes) {
    return false;
  }
  uncommitted_bytes_ += bytes;
  const uint64_t last = log_.LastIndex();
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].set_term(term_);
    entries[i].set_index(last + 1 + i);
  }
  log_.Append(std::move(entries));
  // The leader counts itself for commit only once the entries are persisted
  // (OnPersisted), so a commit never rests on the leader's unsynced log.
  return true;
}

bool Consensus::MaybeCommit() { return log_.MaybeCommit(tracker_.Committed(), term_); }

void Consensus::OnPersisted(std::optional<std::pair<uint64_t, uint64_t>> last_entry,
                            std::optional<uint64_t> snapshot_index) {
  if (snapshot_index) {
    log_.StableSnapshotTo(*snapshot_index);
    // The caller installed the snapshot into its state machine.
    if (*snapshot_index > log_.applied()) log_.AppliedTo(*snapshot_index);
  }
  if (last_entry) log_.StableTo(last_entry->first, last_entry->second);
  if (role_ != Role::kLeader) return;
  Progress* self = tracker_.Find(id_);
  if (self == nullptr) return;
  if (self->MaybeUpdate(log_.PersistedLastIndex()) && MaybeCommit()) {
    ReleasePendingReads();
    BroadcastAppend();
  }
}

void Consensus::OnApplying(uint64_t index, uint64_t bytes) {
  log_.AppliedTo(index);
  uncommitted_bytes_ = bytes >= uncommitted_bytes_ ? 0 : uncommitted_bytes_ - bytes;
  MaybeProposeLeaveJoint();
}

void Consensus::MaybeProposeLeaveJoint() {
  if (role_ != Role::kLeader || !tracker_.config().auto_leave) return;
  if (log_.applied() < pending_conf_index_) return;
  // Thesis §4.3: once the joint configuration is applied, the leader moves
  // the cluster on to the new configuration.
  std::vector<Entry> entries(1);
  entries[0].set_type(pb::ENTRY_CONF_CHANGE);
  entries[0].set_data(ConfChange().SerializeAsString());
  if (!AppendEntries(std::move(entries))) return;  // retried at the next apply
  pending_conf_index_ = log_.LastIndex();
  Log(LogLevel::kInfo, "proposed leaving the joint configuration at index ", pending_conf_index_);
  BroadcastAppend();
}

// ---------------------------------------------------------------------------
// Membership

ConfState Consensus::ApplyConfChange(const ConfChange& change) {
  absl::StatusOr<ConfigAndProgress> next = ConfChanger(tracker_, log_.LastIndex()).Apply(change);
  if (!next.ok()) {
    // Every replica applies the same log, so every replica skips it alike.
    Log(LogLevel::kWarning, "skipped a committed membership change: ", next.status().message());
    return tracker_.config().ToConfState();
  }
  return SwitchToConfig(std::move(*next));
}

ConfState Consensus::SwitchToConfig(ConfigAndProgress cp) {
  tracker_.Reset(std::move(cp.config), std::move(cp.progress));
  ConfState cs = tracker_.config().ToConfState();
  Log(LogLevel::kInfo, "membership is now ", tracker_.config().ToString());
  if (role_ != Role::kLeader || cs.voters().empty()) return cs;
  if (!tracker_.config().voters.Contains(id_)) {
    // Thesis §4.2.2: a leader removed by a committed change steps down. It
    // does so by handing over, not by going silent: the remaining voters may
    // not know yet that the change committed, and (while still joint in their
    // view) could need this node's vote, which its longer log would refuse.
    // The new leader's higher term makes this node a follower.
    Log(LogLevel::kInfo, "is no longer a voter; handing leadership over");
    stepping_down_ = true;
    MaybeHandOffLeadership();
    return cs;
  }
  // A smaller quorum may commit at once.
  if (MaybeCommit()) {
    ReleasePendingReads();
    BroadcastAppend();
  } else {
    for (const auto& [id, pr] : tracker_.progress()) {
      if (id != id_) MaybeSendAppend(id, /*send_if_empty=*/false);
    }
  }
  if (lead_transferee_ != kNoNode && !tracker_.config().voters.Contains(lead_transferee_)) {
    AbortLeaderTransfer();
  }
  return cs;
}

// ---------------------------------------------------------------------------
// Sending

void Consensus::Send(Message m) {
  m.set_from(id_);
  const MessageType t = m.type();
  if (t == pb::MSG_VOTE || t == pb::MSG_PRE_VOTE || t == pb::MSG_VOTE_RESPONSE ||
      t == pb::MSG_PRE_VOTE_RESPONSE) {
    // Vote messages carry the term of the election, set by the caller.
    RKV_CHECK_NE(m.term(), 0u);
  } else {
    m.set_term(term_);
  }
  messages_.push_back(std::move(m));
}

bool Consensus::MaybeSendAppend(NodeId to, bool send_if_empty) {
  Progress* pr = tracker_.Find(to);
  if (pr == nullptr || pr->IsPaused()) return false;
  // The entries the follower needs were compacted: send a snapshot instead.
  if (pr->next() < log_.FirstIndex()) return MaybeSendSnapshot(to, *pr);
  const uint64_t prev_index = pr->next() - 1;
  const uint64_t last = log_.LastIndex();
  std::vector<Entry> entries;
  if (pr->next() <= last) {
    absl::StatusOr<std::vector<Entry>> slice = log_.Slice(pr->next(), last + 1, config_.max_msg_bytes);
    RKV_CHECK_OK(slice.status());
    entries = std::move(*slice);
  }
  if (entries.empty() && !send_if_empty) return false;
  Message m;
  m.set_type(pb::MSG_APPEND);
  m.set_to(to);
  m.set_index(prev_index);
  m.set_log_term(log_.TermOrZero(prev_index));
  m.set_commit(log_.committed());
  uint64_t bytes = 0;
  const uint64_t count = entries.size();
  m.mutable_entries()->Reserve(static_cast<int>(count));
  for (Entry& e : entries) {
    bytes += e.data().size();
    *m.add_entries() = std::move(e);
  }
  pr->SentEntries(count, bytes);
  Send(std::move(m));
  return true;
}

bool Consensus::MaybeSendSnapshot(NodeId to, Progress& pr) {
  if (!pr.recent_active()) {
    Log(LogLevel::kDebug, "not sending a snapshot to inactive node ", to);
    return false;
  }
  absl::StatusOr<Snapshot> snapshot = log_.GetSnapshot();
  if (!snapshot.ok()) {
    if (IsSnapshotTemporarilyUnavailable(snapshot.status())) return false;
    RKV_CHECK_OK(snapshot.status());
  }
  RKV_CHECK_MSG(!IsEmptySnapshot(*snapshot), "the log was compacted without a snapshot");
  Log(LogLevel::kInfo, "sending snapshot at index ", snapshot->metadata().index(), " to ", to);
  pr.BecomeSnapshot(snapshot->metadata().index());
  Message m;
  m.set_type(pb::MSG_SNAPSHOT);
  m.set_to(to);
  *m.mutable_snapshot() = std::move(*snapshot);
  Send(std::move(m));
  return true;
}

void Consensus::SendHeartbeat(NodeId to, const std::string& context) {
  const Progress* pr = tracker_.Find(to);
  RKV_CHECK(pr != nullptr);
  Message m;
  m.set_type(pb::MSG_HEARTBEAT);
  m.set_to(to);
  // Never ahead of what the follower holds (it may not have the entries yet).
  m.set_commit(std::min(pr->match(), log_.committed()));
  m.set_context(context);
  Send(std::move(m));
}

void Consensus::BroadcastAppend() {
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) MaybeSendAppend(id, /*send_if_empty=*/true);
  }
}

void Consensus::BroadcastHeartbeat() {
  const std::string* pending = read_only_.LastPendingContext();
  const std::string context = pending != nullptr ? *pending : std::string();
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) SendHeartbeat(id, context);
  }
}

// ---------------------------------------------------------------------------
// Transport feedback

void Consensus::ReportUnreachable(NodeId id) {
  if (role_ != Role::kLeader) return;
  Progress* pr = tracker_.Find(id);
  // Appends in flight were probably lost; probe again.
  if (pr != nullptr && pr->state() == ProgressState::kReplicate) pr->BecomeProbe();
}

void Consensus::ReportSnapshot(NodeId id, bool succeeded) {
  if (role_ != Role::kLeader) return;
  Progress* pr = tracker_.Find(id);
  if (pr == nullptr || pr->state() != ProgressState::kSnapshot) return;
  // Wait for the follower's append response before sending more.
  pr->OnSnapshotDone(succeeded);
}

}  // namespace rkv::raft
