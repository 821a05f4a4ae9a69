#include "raft/raw_node.h"

#include "raft/check.h"
#include "raft/consensus.h"

namespace rkv::raft {
namespace {

bool SameHardState(const HardState& a, const HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() && a.commit() == b.commit();
}

PeerStatus ToPeerStatus(const Progress& pr) {
  return PeerStatus{pr.match(), pr.next(), ProgressStateName(pr.state()), pr.is_learner(),
                    pr.recent_active()};
}

}  // namespace

BootstrapState Bootstrap(const ConfState& initial_membership) {
  BootstrapState state;
  SnapshotMetadata* meta = state.snapshot.mutable_metadata();
  meta->set_index(kBootstrapIndex);
  meta->set_term(kBootstrapTerm);
  *meta->mutable_conf_state() = initial_membership;
  state.hard_state.set_term(kBootstrapTerm);
  state.hard_state.set_commit(kBootstrapIndex);
  return state;
}

absl::StatusOr<std::unique_ptr<RawNode>> RawNode::Create(const Config& config,
                                                         const LogReader* log) {
  absl::StatusOr<std::unique_ptr<Consensus>> consensus = Consensus::Create(config, log);
  if (!consensus.ok()) return consensus.status();
  return std::unique_ptr<RawNode>(new RawNode(std::move(*consensus)));
}

RawNode::RawNode(std::unique_ptr<Consensus> consensus)
    : consensus_(std::move(consensus)),
      prev_soft_state_(consensus_->soft_state()),
      prev_hard_state_(consensus_->hard_state()) {}

RawNode::~RawNode() = default;

void RawNode::Tick() { consensus_->Tick(); }
void RawNode::Campaign() { consensus_->Campaign(); }

absl::Status RawNode::Propose(std::string data) {
  std::vector<std::string> batch;
  batch.push_back(std::move(data));
  return consensus_->Propose(std::move(batch));
}

absl::Status RawNode::ProposeBatch(std::vector<std::string> data) {
  return consensus_->Propose(std::move(data));
}

absl::Status RawNode::ProposeConfChange(const ConfChange& change) {
  return consensus_->ProposeConfChange(change);
}

ConfState RawNode::ApplyConfChange(const ConfChange& change) {
  return consensus_->ApplyConfChange(change);
}

absl::Status RawNode::Step(Message message) { return consensus_->Step(std::move(message)); }
absl::Status RawNode::StepReadIndexUnderLease(Message message) {
  return consensus_->StepReadIndexUnderLease(std::move(message));
}

void RawNode::ReadIndex(std::string request_context) {
  consensus_->ReadIndex(std::move(request_context));
}

void RawNode::TransferLeader(NodeId to) { consensus_->TransferLeader(to); }
void RawNode::ReportUnreachable(NodeId id) { consensus_->ReportUnreachable(id); }
void RawNode::ReportSnapshot(NodeId id, bool succeeded) {
  consensus_->ReportSnapshot(id, succeeded);
}

bool RawNode::HasReady() const {
  const Consensus& c = *consensus_;
  if (!(c.soft_state() == prev_soft_state_)) return true;
  if (!SameHardState(c.hard_state(), prev_hard_state_)) return true;
  const Unstable& unstable = c.log().unstable();
  if (unstable.snapshot() || !unstable.entries().empty()) return true;
  if (!consensus_->messages().empty() || !consensus_->read_states().empty()) return true;
  return c.log().HasNextCommittedEntries();
}

Ready RawNode::TakeReady() {
  RKV_CHECK(!ready_taken_);
  Ready ready;
  const SoftState soft = consensus_->soft_state();
  if (!(soft == prev_soft_state_)) {
    ready.soft_state = soft;
    prev_soft_state_ = soft;
  }
  const HardState hard = consensus_->hard_state();
  if (!SameHardState(hard, prev_hard_state_)) ready.hard_state = hard;
  const Unstable& unstable = consensus_->log().unstable();
  ready.entries = unstable.entries();
  if (unstable.snapshot()) ready.snapshot = *unstable.snapshot();
  ready.committed_entries = consensus_->log().NextCommittedEntries();
  ready.messages.swap(consensus_->messages());
  ready.read_states.swap(consensus_->read_states());
  ready_taken_ = true;

  handed_ = Handed{};
  handed_.hard_state = ready.hard_state;
  if (!ready.entries.empty()) {
    handed_.last_entry = {ready.entries.back().index(), ready.entries.back().term()};
  }
  if (ready.snapshot) handed_.snapshot_index = ready.snapshot->metadata().index();
  if (!ready.committed_entries.empty()) {
    handed_.last_committed_index = ready.committed_entries.back().index();
    for (const Entry& e : ready.committed_entries) handed_.committed_bytes += e.data().size();
  }
  return ready;
}

void RawNode::Advance() {
  RKV_CHECK(ready_taken_);
  ready_taken_ = false;
  if (handed_.hard_state) prev_hard_state_ = *handed_.hard_state;
  consensus_->OnPersisted(handed_.last_entry, handed_.snapshot_index);
  if (handed_.last_committed_index) {
    consensus_->OnApplying(*handed_.last_committed_index, handed_.committed_bytes);
  }
  handed_ = Handed{};
}

Status RawNode::GetStatus() const {
  const Consensus& c = *consensus_;
  Status s;
  s.id = c.id();
  s.hard_state = c.hard_state();
  s.soft_state = c.soft_state();
  s.applied = c.log().applied();
  s.last_index = c.log().LastIndex();
  s.conf_state = c.tracker().config().ToConfState();
  s.lead_transferee = c.lead_transferee();
  if (c.role() == Role::kLeader) {
    for (const auto& [id, pr] : c.tracker().progress()) s.peers[id] = ToPeerStatus(pr);
  }
  return s;
}

NodeId RawNode::LeadTransferee() const { return consensus_->lead_transferee(); }

std::optional<PeerStatus> RawNode::PeerProgress(NodeId id) const {
  if (consensus_->role() != Role::kLeader) return std::nullopt;
  const Progress* pr = consensus_->tracker().Find(id);
  if (pr == nullptr) return std::nullopt;
  return ToPeerStatus(*pr);
}

NodeId RawNode::Leader() const { return consensus_->lead(); }
bool RawNode::IsLeader() const { return consensus_->role() == Role::kLeader; }
uint64_t RawNode::Term() const { return consensus_->term(); }
uint64_t RawNode::LastIndex() const { return consensus_->log().LastIndex(); }

}  // namespace rkv::raft
