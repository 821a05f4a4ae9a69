// Topology: what a smart client knows of the cluster at one moment, built from
// one MemberList and one PartitionList answer: which partition owns which key
// hashes, its leader and replicas, and each member's client address. Finds a
// key's partition by binary search. Data from the network is validated here,
// so a malformed answer becomes a Status, never a crash.
// Immutable after Build; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "rkv/v1/cluster.pb.h"

namespace rkv::client {

// Bounds on what a server's answer may hold.
inline constexpr size_t kMaxMembers = 1024;
inline constexpr size_t kMaxPartitions = 65536;

struct PartitionInfo {
  uint64_t partition_id = 0;
  // The partition owns key hashes in [hash_start, hash_end].
  uint64_t hash_start = 0;
  uint64_t hash_end = 0;
  // 0 when the answering node knew no leader.
  uint64_t leader_id = 0;
  // Member ids of the replicas (voters and learners), in the answer's order.
  std::vector<uint64_t> replica_ids;
};

class Topology final {
 public:
  // Checks and indexes the two answers. Partition 0 (meta) owns no keys and
  // is left out. INTERNAL when the answer is malformed (overlapping ranges,
  // hash_start > hash_end, duplicate ids, more than kMaxMembers or
  // kMaxPartitions). Gaps in the hash space are allowed: keys there are sent to
  // any node.
  static absl::StatusOr<Topology> Build(const v1::MemberListResponse& members,
                                        const v1::PartitionListResponse& partitions);

  // The partition owning key_hash, or null.
  const PartitionInfo* FindByHash(uint64_t key_hash) const;
  const PartitionInfo* FindById(uint64_t partition_id) const;
  // A member's client address, or null when unknown or empty.
  const std::string* AddressOf(uint64_t member_id) const;

  // Data partitions sorted by hash_start.
  const std::vector<PartitionInfo>& partitions() const { return partitions_; }

 private:
  Topology() = default;

  std::vector<PartitionInfo> partitions_;
  absl::flat_hash_map<uint64_t, size_t> index_by_id_;
  absl::flat_hash_map<uint64_t, std::string> addresses_;
};

}  // namespace rkv::client
