#include "cli/cluster_view.h"

namespace rkv::cli {
namespace {

const v1::Partition* FindPartition(const v1::PartitionListResponse& answer, uint64_t id) {
  for (const v1::Partition& p : answer.partitions()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

const v1::ReplicaStatus* FindReplica(const v1::Partition& partition, uint64_t member) {
  for (const v1::ReplicaStatus& r : partition.replicas()) {
    if (r.member_id() == member) return &r;
  }
  return nullptr;
}

// The leader named by the member that reports the highest term for its own
// replica: an old leader that has not heard of a newer term yet loses.
uint64_t NewestLeader(const v1::Partition& merged) {
  uint64_t leader = merged.leader_id();
  uint64_t best_term = 0;
  for (const v1::ReplicaStatus& r : merged.replicas()) {
    if (r.role() == v1::ReplicaStatus::LEADER && r.term() >= best_term) {
      best_term = r.term();
      leader = r.member_id();
    }
  }
  return leader;
}

}  // namespace

v1::PartitionListResponse MergeReplicaViews(
    const v1::PartitionListResponse& base,
    const std::map<uint64_t, v1::PartitionListResponse>& by_member) {
  v1::PartitionListResponse merged = base;
  for (v1::Partition& partition : *merged.mutable_partitions()) {
    for (v1::ReplicaStatus& replica : *partition.mutable_replicas()) {
      auto answer = by_member.find(replica.member_id());
      if (answer == by_member.end()) continue;
      const v1::Partition* own = FindPartition(answer->second, partition.id());
      const v1::ReplicaStatus* self = own ? FindReplica(*own, replica.member_id()) : nullptr;
      if (self == nullptr) continue;
      replica.set_role(self->role());
      replica.set_term(self->term());
      replica.set_commit_index(self->commit_index());
      replica.set_applied_index(self->applied_index());
    }
    partition.set_leader_id(NewestLeader(partition));
    auto leader_answer = by_member.find(partition.leader_id());
    if (leader_answer == by_member.end()) continue;
    const v1::Partition* leader_view = FindPartition(leader_answer->second, partition.id());
    if (leader_view == nullptr) continue;
    for (v1::ReplicaStatus& replica : *partition.mutable_replicas()) {
      if (const v1::ReplicaStatus* seen = FindReplica(*leader_view, replica.member_id())) {
        replica.set_match_index(seen->match_index());
      }
    }
  }
  return merged;
}

}  // namespace rkv::cli
