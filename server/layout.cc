#include "server/layout.h"

#include <xxhash.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rkv::server {

absl::StatusOr<ClusterLayout> ClusterLayout::FromConfig(const NodeConfig& config) {
  absl::StatusOr<std::map<uint64_t, MemberAddresses>> members = InitialMembers(config);
  if (!members.ok()) return members.status();
  ClusterLayout layout;
  layout.members_ = std::move(*members);
  layout.partition_count_ = config.partitions;
  layout.replication_factor_ = config.replication_factor;
  std::string canonical;
  for (const auto& [id, addresses] : layout.members_) absl::StrAppend(&canonical, id, "=", addresses.peer, ",");
  absl::StrAppend(&canonical, "partitions=", config.partitions, ",rf=", config.replication_factor);
  layout.cluster_id_ = XXH3_64bits(canonical.data(), canonical.size());
  return layout;
}

std::vector<uint64_t> ClusterLayout::AllPartitions() const {
  std::vector<uint64_t> ids;
  for (uint64_t p = 0; p <= partition_count_; ++p) ids.push_back(p);
  return ids;
}

std::vector<uint64_t> ClusterLayout::ReplicasOf(uint64_t partition_id) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, addresses] : members_) ids.push_back(id);
  std::vector<uint64_t> out;
  const size_t n = ids.size();
  const size_t count = std::min<size_t>(replication_factor_, n);
  for (size_t i = 0; i < count; ++i) out.push_back(ids[(partition_id + i) % n]);
  std::sort(out.begin(), out.end());
  return out;
}

bool ClusterLayout::Hosts(uint64_t member_id, uint64_t partition_id) const {
  const std::vector<uint64_t> replicas = ReplicasOf(partition_id);
  return std::find(replicas.begin(), replicas.end(), member_id) != replicas.end();
}

std::string ClusterLayout::ClientAddress(uint64_t member_id) const {
  auto it = members_.find(member_id);
  return it == members_.end() ? std::string() : it->second.client;
}

}  // namespace rkv::server
