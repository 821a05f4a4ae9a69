// Ready: what a RawNode hands its caller after inputs, and the contract for
// using it. Plain data; owned by the caller once taken.
//
// The caller, in this order:
//   1. persists hard_state (if set), snapshot (if set, installing it), and
//      entries (appended; an entry whose index is already stored replaces it
//      and every entry after it), with one synced write;
//   2. sends messages (only after step 1: a vote or an ack promises durability),
//      except a leader's MSG_APPEND and MSG_HEARTBEAT, which may leave before
//      it (thesis §10.2.1): the leader counts its own entries towards a commit
//      only once Advance reports them persisted;
//   3. applies committed_entries in order (may be done by another thread, but
//      in order and exactly once);
//   4. calls RawNode::Advance() before the next TakeReady(). The caller may
//      move the Ready's contents away first: Advance acts on what TakeReady
//      handed out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"

namespace rkv::raft {

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role role);

// Volatile state that is useful to the caller but never persisted.
struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;
  bool operator==(const SoftState&) const = default;
};

// A read that became safe: once the state machine has applied `index`, a read
// made with `request_context` sees every write committed before it was asked.
struct ReadState {
  uint64_t index = 0;
  std::string request_context;
};

struct Ready {
  std::optional<SoftState> soft_state;  // set when it changed
  std::optional<HardState> hard_state;  // set when it must be persisted
  std::vector<ReadState> read_states;
  std::vector<Entry> entries;           // to persist
  std::optional<Snapshot> snapshot;     // to persist and install
  std::vector<Entry> committed_entries; // to apply
  std::vector<Message> messages;        // to send after persisting (see 2.)

  // True when something must be synced before messages are sent.
  bool MustSync() const { return hard_state.has_value() || !entries.empty() || snapshot.has_value(); }
};

// Step 2's exception: a leader's appends and heartbeats, which may be sent
// before the synced write.
inline bool MaySendBeforeSync(const Message& m) {
  return m.type() == rkv::internal::MSG_APPEND || m.type() == rkv::internal::MSG_HEARTBEAT;
}

}  // namespace rkv::raft
