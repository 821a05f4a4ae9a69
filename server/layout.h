// ClusterLayout: the cluster's initial members, its id, and where each
// partition's replicas live. Placement is deterministic (every node computes
// the same from the same flags): partition p's replicas are
// replication_factor consecutive members, in id order, starting at member
// p mod member_count. Partition 0 is the meta partition. Immutable;
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config.h"

namespace rkv::server {

class ClusterLayout final {
 public:
  static absl::StatusOr<ClusterLayout> FromConfig(const NodeConfig& config);

  // A stable id derived from the initial members' ids and peer addresses.
  uint64_t cluster_id() const { return cluster_id_; }
  const std::map<uint64_t, MemberAddresses>& members() const { return members_; }
  uint64_t partition_count() const { return partition_count_; }
  // Partition ids 0 (meta) .. partition_count.
  std::vector<uint64_t> AllPartitions() const;
  // Member ids holding a replica of partition, in id order.
  std::vector<uint64_t> ReplicasOf(uint64_t partition_id) const;
  bool Hosts(uint64_t member_id, uint64_t partition_id) const;
  std::string ClientAddress(uint64_t member_id) const;

 private:
  uint64_t cluster_id_ = 0;
  std::map<uint64_t, MemberAddresses> members_;
  uint64_t partition_count_ = 0;
  uint64_t replication_factor_ = 0;
};

}  // namespace rkv::server
