// BootstrapPartition: makes this node an initial member of a new partition
// group: the state machine at the bootstrap index with the initial membership,
// and the raft log starting after a snapshot at that index with the matching
// hard state (raft::Bootstrap()). Thread-safe (one synced write).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "raft/types.h"
#include "storage/engine.h"

namespace rkv::storage {

// Creates the partition if needed, then records the bootstrap state with one
// synced write unless the partition already holds state (a restart after a
// crash half-way through bootstrap finishes it; a bootstrapped partition is
// left alone). Returns FAILED_PRECONDITION when the partition holds a raft log
// or applied entries that are not a bootstrap state.
absl::Status BootstrapPartition(Engine* engine, uint64_t partition_id,
                                const raft::SnapshotMetadata& snapshot,
                                const raft::HardState& hard_state);

}  // namespace rkv::storage
