// SimStateMachine: the replicated state machine of one simulated node. Instead
// of keys and values it keeps a digest chained over every entry applied, in
// order, so two nodes hold equal digests at an index exactly when they applied
// the same entries up to it; the invariant checker compares them.
//
// It is durable: it survives a crash together with its applied index, as a
// real state machine that writes the applied index in the same batch as each
// mutation does (STYLE §1.5). A restarted node is created with
// Config::applied = applied_index. Plain data; owned by a SimNode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace rkv::raft::sim {

struct SimStateMachine {
  uint64_t applied_index = 0;
  uint64_t applied_term = 0;
  uint64_t digest = 0;
  // The membership as of applied_index; persisted with it through
  // MemoryLog::SetConfState.
  ConfState conf_state;

  // Applies the entry after applied_index. REQUIRES: entry.index() == applied_index + 1.
  void Apply(const Entry& entry);

  // The snapshot data for the state at applied_index (not the membership,
  // which travels in the snapshot's metadata).
  std::string Encode() const;
  // Restores from snapshot data; nullopt if `data` is malformed.
  static std::optional<SimStateMachine> Decode(std::string_view data);
};

// The state of every initial member of a new group: applied up to the
// bootstrap snapshot (raft::Bootstrap), which holds no entries.
SimStateMachine BootstrapStateMachine(const ConfState& conf);

// The digest after applying `entry` to a state whose digest is `digest`.
uint64_t ChainDigest(uint64_t digest, const Entry& entry);
// A 64-bit hash of bytes that is the same in every process (FNV-1a).
uint64_t HashBytes(std::string_view bytes);

}  // namespace rkv::raft::sim
