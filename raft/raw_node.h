// RawNode: the Raft core's driver API. One RawNode is one replica of one Raft
// group. It does no I/O and keeps no time: the caller calls Tick() at a fixed
// period, Step() with every received message, and collects work with
// TakeReady(), honouring the contract in ready.h.
//
// Not thread-safe: owned by exactly one thread (the node's driver, or a test).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/config.h"
#include "raft/log_reader.h"
#include "raft/ready.h"
#include "raft/types.h"

namespace rkv::raft {

class Consensus;

// The index and term of the state every initial member of a new group starts from.
inline constexpr uint64_t kBootstrapIndex = 1;
inline constexpr uint64_t kBootstrapTerm = 1;

// What each initial member of a new group persists (with no entries) before
// its first RawNode::Create: a snapshot at kBootstrapIndex holding the initial
// membership, and a hard state at that term and commit index. A member added
// later learns the membership from this snapshot (or a newer one) instead of
// replaying a log that never recorded it; the first election is for term
// kBootstrapTerm + 1.
struct BootstrapState {
  Snapshot snapshot;
  HardState hard_state;
};
BootstrapState Bootstrap(const ConfState& initial_membership);

// Replication state of one peer, as the leader sees it.
struct PeerStatus {
  uint64_t match = 0;
  uint64_t next = 0;
  std::string state;  // "probe", "replicate" or "snapshot"
  bool is_learner = false;
  bool recent_active = false;
};

struct Status {
  NodeId id = kNoNode;
  HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  ConfState conf_state;
  NodeId lead_transferee = kNoNode;
  std::map<NodeId, PeerStatus> peers;  // filled only on the leader
};

class RawNode final {
 public:
  // Creates a replica whose persisted state is read through `log`, which must
  // outlive it. An initial member of a new group first persists
  // BootstrapSnapshot(); a member being added starts from an empty log and
  // receives its state from the leader.
  // Returns INVALID_ARGUMENT for a bad config, or the log's error.
  static absl::StatusOr<std::unique_ptr<RawNode>> Create(const Config& config,
                                                         const LogReader* log);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // Advances logical time by one tick (heartbeats, election timeouts).
  void Tick();
  // Starts an election now (pre-vote first when enabled).
  void Campaign();

  // Appends data to the log as one entry. Returns UNAVAILABLE (with the leader
  // id, if known, in the message) when this replica is not the leader or a
  // leader transfer is in progress, and RESOURCE_EXHAUSTED when the
  // uncommitted-bytes bound would be passed. An OK return does not mean it will
  // commit: the caller learns that from the committed entries.
  absl::Status Propose(std::string data);
  // Proposes several entries at once (one append, one message per follower).
  absl::Status ProposeBatch(std::vector<std::string> data);
  // Proposes a membership change. Besides Propose's errors, returns
  // FAILED_PRECONDITION while an earlier change is not yet applied, and
  // INVALID_ARGUMENT for a change that cannot apply (for example removing the
  // last voter, or leaving a joint configuration that was never entered).
  absl::Status ProposeConfChange(const ConfChange& change);
  // Applies a committed membership change; call it when its entry is applied.
  // Returns the new membership, which the caller persists.
  ConfState ApplyConfChange(const ConfChange& change);

  // Handles a message from a peer. Returns INVALID_ARGUMENT for a message that is
  // not for this node or that no peer may send; stale and duplicated messages
  // are ignored harmlessly.
  absl::Status Step(Message message);
  // As Step, for a follower's ReadIndex request (MSG_READ_INDEX) that reaches
  // this leader while the caller holds its read lease (the core measures no
  // time; server/read_lease.h keeps the lease): the leader answers with its
  // commit index at once instead of confirming its leadership with a round of
  // heartbeats (thesis §6.4.1). INVALID_ARGUMENT for any other message.
  absl::Status StepReadIndexUnderLease(Message message);

  // Requests a linearizable read. When safe, a ReadState carrying
  // request_context appears in a Ready. On a follower the request is forwarded
  // to the leader. Without a leader it is dropped; the caller retries on timeout.
  void ReadIndex(std::string request_context);
  // Asks the leader to hand leadership to `to`. Ignored on a follower.
  void TransferLeader(NodeId to);

  // Transport feedback for the leader's flow control.
  void ReportUnreachable(NodeId id);
  void ReportSnapshot(NodeId id, bool succeeded);

  bool HasReady() const;
  // Everything that is ready now. REQUIRES: the previous Ready was Advanced.
  Ready TakeReady();
  // Confirms the last Ready was persisted, sent and handed to apply. It acts
  // on what TakeReady handed out, not on the Ready object, so the caller may
  // move the Ready's contents away (entries to the apply stage, messages to
  // the transport) before calling it.
  void Advance();

  Status GetStatus() const;
  // Narrow views for checks made every tick; GetStatus copies the whole
  // membership and every peer's progress.
  NodeId LeadTransferee() const;
  // A peer's progress as the leader tracks it; nullopt on a follower or for
  // a node that is not a member.
  std::optional<PeerStatus> PeerProgress(NodeId id) const;
  NodeId Leader() const;
  bool IsLeader() const;
  uint64_t Term() const;
  // The index of the last entry, persisted or not. A successful Propose of n
  // entries on the leader puts them at LastIndex() + 1 ... + n.
  uint64_t LastIndex() const;

 private:
  explicit RawNode(std::unique_ptr<Consensus> consensus);

  std::unique_ptr<Consensus> consensus_;
  SoftState prev_soft_state_;
  HardState prev_hard_state_;
  bool ready_taken_ = false;
  // What the Ready in the caller's hands holds, recorded at TakeReady.
  struct Handed {
    std::optional<HardState> hard_state;
    std::optional<std::pair<uint64_t, uint64_t>> last_entry;  // index, term
    std::optional<uint64_t> snapshot_index;
    std::optional<uint64_t> last_committed_index;
    uint64_t committed_bytes = 0;
  };
  Handed handed_;
};

}  // namespace rkv::raft
