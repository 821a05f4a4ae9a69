#include "client/topology.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace rkv::client {

absl::StatusOr<Topology> Topology::Build(const v1::MemberListResponse& members,
                                         const v1::PartitionListResponse& partitions) {
  if (static_cast<size_t>(members.members_size()) > kMaxMembers) {
    return absl::InternalError(absl::StrFormat("member list has %d members; the limit is %d",
                                               members.members_size(), kMaxMembers));
  }
  if (static_cast<size_t>(partitions.partitions_size()) > kMaxPartitions) {
    return absl::InternalError(absl::StrFormat("partition list has %d partitions; the limit is %d",
                                               partitions.partitions_size(), kMaxPartitions));
  }
  Topology topology;
  for (const v1::Member& member : members.members()) {
    if (member.id() == 0) return absl::InternalError("member list holds a member with id 0");
    if (!topology.addresses_.emplace(member.id(), member.client_address()).second) {
      return absl::InternalError(absl::StrFormat("member list holds member %d twice", member.id()));
    }
  }
  for (const v1::Partition& partition : partitions.partitions()) {
    if (partition.id() == 0) continue;  // The meta partition owns no keys.
    if (partition.hash_start() > partition.hash_end()) {
      return absl::InternalError(
          absl::StrFormat("partition %d has hash_start %#x above hash_end %#x", partition.id(),
                          partition.hash_start(), partition.hash_end()));
    }
    PartitionInfo info;
    info.partition_id = partition.id();
    info.hash_start = partition.hash_start();
    info.hash_end = partition.hash_end();
    info.leader_id = partition.leader_id();
    for (const v1::ReplicaStatus& replica : partition.replicas()) {
      info.replica_ids.push_back(replica.member_id());
    }
    topology.partitions_.push_back(std::move(info));
  }
  std::sort(
      topology.partitions_.begin(), topology.partitions_.end(),
      [](const PartitionInfo& a, const PartitionInfo& b) { return a.hash_start < b.hash_start; });
  for (size_t i = 0; i < topology.partitions_.size(); ++i) {
    const PartitionInfo& p = topology.partitions_[i];
    if (i > 0 && topology.partitions_[i - 1].hash_end >= p.hash_start) {
      return absl::InternalError(absl::StrFormat("partitions %d and %d own overlapping hash ranges",
                                                 topology.partitions_[i - 1].partition_id,
                                                 p.partition_id));
    }
    if (!topology.index_by_id_.emplace(p.partition_id, i).second) {
      return absl::InternalError(
          absl::StrFormat("partition list holds partition %d twice", p.partition_id));
    }
  }
  return topology;
}

const PartitionInfo* Topology::FindByHash(uint64_t key_hash) const {
  // The last partition starting at or before key_hash is the only candidate.
  auto it =
      std::upper_bound(partitions_.begin(), partitions_.end(), key_hash,
                       [](uint64_t hash, const PartitionInfo& p) { return hash < p.hash_start; });
  if (it == partitions_.begin()) return nullptr;
  --it;
  return key_hash <= it->hash_end ? &*it : nullptr;
}

const PartitionInfo* Topology::FindById(uint64_t partition_id) const {
  auto it = index_by_id_.find(partition_id);
  return it == index_by_id_.end() ? nullptr : &partitions_[it->second];
}

const std::string* Topology::AddressOf(uint64_t member_id) const {
  auto it = addresses_.find(member_id);
  if (it == addresses_.end() || it->second.empty()) return nullptr;
  return &it->second;
}

}  // namespace rkv::client
