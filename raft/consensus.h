// Consensus: the Raft algorithm for one replica (Raft paper; Ongaro's thesis
// for pre-vote, check-quorum, ReadIndex, leader transfer and joint consensus).
// Roles and their transitions, and per-role handling of ticks and messages.
// No I/O, no clock, no threads: RawNode drives it and collects its output.
// Not thread-safe; owned by one RawNode.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "raft/conf_change.h"
#include "raft/config.h"
#include "raft/log_reader.h"
#include "raft/raft_log.h"
#include "raft/random.h"
#include "raft/read_only.h"
#include "raft/ready.h"
#include "raft/tracker.h"

namespace rkv::raft {

class Consensus final {
 public:
  // REQUIRES: config.Validate().ok(); log outlives this object.
  static absl::StatusOr<std::unique_ptr<Consensus>> Create(const Config& config,
                                                           const LogReader* log);

  void Tick();
  void Campaign() { Hup(/*transfer=*/false); }
  absl::Status Step(Message m);
  absl::Status StepReadIndexUnderLease(Message m);
  absl::Status Propose(std::vector<std::string> data);
  absl::Status ProposeConfChange(const ConfChange& change);
  ConfState ApplyConfChange(const ConfChange& change);
  void ReadIndex(std::string context);
  void TransferLeader(NodeId to);
  void ReportUnreachable(NodeId id);
  void ReportSnapshot(NodeId id, bool succeeded);

  // Output collected by RawNode.
  std::vector<Message>& messages() { return messages_; }
  std::vector<ReadState>& read_states() { return read_states_; }
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  // After the caller persisted entries up to (index, term) and the snapshot.
  void OnPersisted(std::optional<std::pair<uint64_t, uint64_t>> last_entry,
                   std::optional<uint64_t> snapshot_index);
  // After the caller took committed entries up to index for apply.
  void OnApplying(uint64_t index, uint64_t bytes);

  HardState hard_state() const;
  SoftState soft_state() const { return {lead_, role_}; }
  NodeId id() const { return id_; }
  uint64_t term() const { return term_; }
  NodeId lead() const { return lead_; }
  Role role() const { return role_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  const ProgressTracker& tracker() const { return tracker_; }

 private:
  Consensus(const Config& config, const LogReader* log);

  // Role transitions (Raft paper §5.2; thesis §9.6 for pre-candidates).
  void BecomeFollower(uint64_t term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Reset(uint64_t term);
  void Hup(bool transfer);
  void StartElection(bool pre_vote, bool transfer);
  VoteResult Poll(NodeId id, bool granted);
  bool IsVoter() const;
  // Whether this node may campaign: a voter, or a non-voter that a voter of
  // an outgoing configuration needs (needed_by_outgoing_voter_).
  bool Promotable() const;
  bool HasUnappliedConfChange() const;
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  void ResetRandomizedElectionTimeout();

  void TickElection();
  void TickHeartbeat();

  // Message handling per role; the term was already reconciled by Step.
  absl::Status StepLeader(Message& m);
  void StepCandidate(Message& m);
  void StepFollower(Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppendEntries(Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(Message& m);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);
  void HandleTransferLeader(NodeId transferee);
  void HandleReadIndexOnLeader(const Message& m);
  bool Restore(const Snapshot& snapshot);

  // Sending.
  void Send(Message m);
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  bool MaybeSendSnapshot(NodeId to, Progress& pr);
  void SendHeartbeat(NodeId to, const std::string& context);
  void BroadcastAppend();
  void BroadcastHeartbeat();
  void SendTimeoutNow(NodeId to);
  void RespondToRead(const PendingRead& read);

  // Leader log.
  absl::Status CheckCanPropose() const;
  bool AppendEntries(std::vector<Entry> entries);
  bool MaybeCommit();
  bool CommittedEntryInCurrentTerm() const;
  void ReleasePendingReads();
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }
  // A leader removed by a committed change hands leadership to the most
  // caught-up voter of the new configuration.
  void MaybeHandOffLeadership();
  void MaybeProposeLeaveJoint();

  // Membership.
  ConfState SwitchToConfig(ConfigAndProgress cp);

  template <typename... Args>
  void Log(LogLevel level, const Args&... args) const {
    if (logger_->Enabled(level)) logger_->Log(level, absl::StrCat("raft ", id_, " term ", term_, ": ", args...));
  }

  NodeId id_;
  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  RaftLog log_;
  ProgressTracker tracker_;
  ReadOnly read_only_;
  std::vector<Message> messages_;
  std::vector<ReadState> read_states_;
  // ReadIndex requests that arrived before the leader committed an entry of
  // its term (thesis §6.4 step 1); answered once it has.
  std::vector<Message> pending_reads_;

  NodeId lead_transferee_ = kNoNode;
  // This leader is no longer a voter: it refuses proposals and hands
  // leadership over until a new leader's term makes it step down.
  bool stepping_down_ = false;
  // Set only while StepReadIndexUnderLease steps its message.
  bool read_lease_held_ = false;
  // A voter whose configuration still counts this non-voter (in the outgoing
  // half of a joint configuration it has not left yet) asked for its vote,
  // and its log was behind ours. Only a node holding our entries can bring
  // that voter up to date, and it may be none but us, so we may campaign
  // among our own configuration's voters (see Promotable).
  bool needed_by_outgoing_voter_ = false;
  // The leader may not propose a membership change while one up to this index
  // is unapplied (one change at a time, thesis §4.1).
  uint64_t pending_conf_index_ = 0;
  uint64_t uncommitted_bytes_ = 0;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  // Ticks since this replica started, counted up to an election timeout.
  int ticks_since_start_ = 0;
  int randomized_election_timeout_ = 0;

  Config config_;
  Random random_;
  Logger* logger_;
};

}  // namespace rkv::raft
