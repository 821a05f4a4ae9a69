// Short names for the protobuf messages of proto/rkv/internal/raft.proto that
// the Raft core works with, and the node id type. Header only.
#pragma once

#include <cstdint>

#include "rkv/internal/raft.pb.h"

namespace rkv::raft {

using Entry = ::rkv::internal::Entry;
using HardState = ::rkv::internal::HardState;
using ConfState = ::rkv::internal::ConfState;
using ConfChange = ::rkv::internal::ConfChange;
using ConfChangeSingle = ::rkv::internal::ConfChangeSingle;
using Snapshot = ::rkv::internal::Snapshot;
using SnapshotMetadata = ::rkv::internal::SnapshotMetadata;
using Message = ::rkv::internal::Message;
using MessageType = ::rkv::internal::MessageType;

// Node ids are non-zero; 0 means "none" (no leader, no vote).
using NodeId = uint64_t;
inline constexpr NodeId kNoNode = 0;

inline bool IsEmpty(const HardState& hs) {
  return hs.term() == 0 && hs.vote() == 0 && hs.commit() == 0;
}
inline bool IsEmptySnapshot(const Snapshot& s) { return s.metadata().index() == 0; }

}  // namespace rkv::raft
