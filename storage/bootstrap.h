// BootstrapPartitions: makes this node an initial member of new partition
// groups: each state machine at the bootstrap index with the initial
// membership, and each raft log starting after a snapshot at that index with
// the matching hard state (raft::Bootstrap()). Thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "raft/types.h"
#include "storage/engine.h"

namespace rkv::storage {

struct PartitionBootstrap {
  uint64_t partition_id = 0;
  raft::SnapshotMetadata snapshot;
  raft::HardState hard_state;
};

// Creates the partitions that do not exist yet (together), then records the
// bootstrap state of every partition that holds none with one synced write
// (a restart after a crash half-way through bootstrap finishes it; a
// bootstrapped partition is left alone). Returns FAILED_PRECONDITION, and
// records nothing, when a partition holds a raft log or applied entries that
// are not a bootstrap state.
absl::Status BootstrapPartitions(Engine* engine, const std::vector<PartitionBootstrap>& partitions);

}  // namespace rkv::storage
