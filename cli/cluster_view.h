// One cluster-wide view of the partitions, merged from every member's own
// PartitionList answer. A node knows only its own replicas' role, term,
// commit and applied index (and, where it leads, each follower's match
// index), so `rkvctl cluster status` asks every member and keeps, for each
// replica, what that replica's own node said. Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <map>

#include "rkv/v1/cluster.pb.h"

namespace rkv::cli {

// `base` supplies the partitions and their replica sets (any member's answer
// will do). For every replica, role/term/commit/applied come from the answer
// of that replica's member in `by_member` (left as in `base` when the member
// did not answer); match indexes come from the answer of the partition's
// leader. A partition's leader is the one named at the highest term.
v1::PartitionListResponse MergeReplicaViews(
    const v1::PartitionListResponse& base,
    const std::map<uint64_t, v1::PartitionListResponse>& by_member);

}  // namespace rkv::cli
