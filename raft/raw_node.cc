#include "raft/raw_node.h"

#include "raft/check.h"
#include "raft/consensus.h"

namespace rkv::raft {
namespace {

bool SameHardState(const HardState& a, const HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() && a.commit() == b.commit();
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
  return ready;
}

void RawNode::Advance(const Ready& ready) {
  RKV_CHECK(ready_taken_);
  ready_taken_ = false;
  if (ready.hard_state) prev_hard_state_ = *ready.hard_state;
  std::optional<std::pair<uint64_t, uint64_t>> last_entry;
  if (!ready.entries.empty()) last_entry = {ready.entries.back().index(), ready.entries.back().term()};
  std::optional<uint64_t> snapshot_index;
  if (ready.snapshot) snapshot_index = ready.snapshot->metadata().index();
  consensus_->OnPersisted(last_entry, snapshot_index);
  if (!ready.committed_entries.empty()) {
    uint64_t bytes = 0;
    for (const Entry& e : ready.committed_entries) bytes += e.data().size();
    consensus_->OnApplying(ready.committed_entries.back().index(), bytes);
  }
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
    for (const auto& [id, pr] : c.tracker().progress()) {
      s.peers[id] = PeerStatus{pr.match(), pr.next(), ProgressStateName(pr.state()),
                               pr.is_learner(), pr.recent_active()};
    }
  }
  return s;
}

NodeId RawNode::Leader() const { return consensus_->lead(); }
bool RawNode::IsLeader() const { return consensus_->role() == Role::kLeader; }
uint64_t RawNode::Term() const { return consensus_->term(); }
uint64_t RawNode::LastIndex() const { return consensus_->log().LastIndex(); }

}  // namespace rkv::raft
