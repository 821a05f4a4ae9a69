// Config: everything a Raft replica is told at creation, with Validate(). Plain
// data; copied into the replica.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "raft/logger.h"
#include "raft/types.h"

namespace rkv::raft {

enum class ReadOnlyOption {
  // ReadIndex confirms leadership with a quorum of heartbeat acks (thesis §6.4).
  kSafe,
  // The leader trusts its lease (check-quorum guarantees it stepped down if
  // isolated). Faster, but correct only while clocks drift less than the
  // election timeout (thesis §6.4.1). Requires check_quorum.
  kLeaseBased,
};

struct Config {
  NodeId id = kNoNode;
  // A follower that hears no leader for this many ticks campaigns; the actual
  // timeout is randomized in [election_ticks, 2 * election_ticks).
  int election_ticks = 10;
  // The leader sends heartbeats every heartbeat_ticks. REQUIRES: < election_ticks.
  int heartbeat_ticks = 1;
  // The last index applied to the state machine before a restart; committed
  // entries up to it are not handed out again.
  uint64_t applied = 0;

  // Batching and flow-control bounds (STYLE §1.6).
  uint64_t max_msg_bytes = 1 << 20;            // entries per append message
  uint64_t max_inflight_msgs = 256;            // unacknowledged appends per follower
  uint64_t max_inflight_bytes = 32ull << 20;   // their bytes per follower
  uint64_t max_uncommitted_bytes = 64ull << 20;  // leader's proposed, uncommitted payload
  uint64_t max_committed_bytes_per_ready = 64ull << 20;
  uint64_t max_proposal_entries = 4096;        // entries in one Propose batch

  // Thesis §9.6: a node first asks whether it could win before raising its term.
  bool pre_vote = true;
  // Thesis §6.2: a leader that does not hear from a quorum within an election
  // timeout steps down; followers ignore vote requests while they hear a leader.
  bool check_quorum = true;
  ReadOnlyOption read_only = ReadOnlyOption::kSafe;
  // A node that starts ignores vote requests (and pre-votes) for an election
  // timeout, as if it had just heard from a leader. Before a crash it may
  // have acknowledged a leader's heartbeat, and check-quorum's promise to
  // that leader (no vote for a rival within an election timeout) must
  // survive the restart for the leader's read lease to hold (thesis §6.4.1).
  bool ignore_votes_at_start = false;

  // Seed of the election-timeout jitter; the node id is mixed in.
  uint64_t seed = 1;
  // Not owned; must outlive the replica. nullptr means discard.
  Logger* logger = nullptr;

  // Returns INVALID_ARGUMENT naming the field that is out of range.
  absl::Status Validate() const;
};

}  // namespace rkv::raft
