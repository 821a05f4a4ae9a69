// Partitioner: which partition owns a key (DESIGN §4). Data partitions
// 1..count split the 64-bit hash space into contiguous ranges of equal size;
// partition 0 is the meta partition and owns no keys. If a key contains
// "{tag}" with a non-empty tag, only the tag is hashed (as Redis Cluster's hash
// tags), so related keys share a partition and a transaction.
// Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace rkv::server {

inline constexpr uint64_t kMetaPartition = 0;

struct HashRange {
  uint64_t start = 0;  // inclusive
  uint64_t end = 0;    // inclusive
};

class Partitioner final {
 public:
  // REQUIRES: partition_count >= 1.
  explicit Partitioner(uint64_t partition_count);

  // The part of the key that is hashed: the first "{...}" tag if non-empty,
  // else the whole key.
  static std::string_view HashedPart(std::string_view key);
  static uint64_t KeyHash(std::string_view key);

  uint64_t PartitionOf(std::string_view key) const;
  // REQUIRES: 1 <= partition <= partition_count().
  HashRange RangeOf(uint64_t partition) const;
  // The data partitions, 1..partition_count().
  std::vector<uint64_t> DataPartitions() const;
  uint64_t partition_count() const { return count_; }

 private:
  uint64_t count_;
};

// The voter that should lead `partition_id` while it is up: the voters in
// ascending id order, taken round robin by partition id, so that each of N
// nodes leads about 1/N of the partitions. 0 when there are no voters.
uint64_t PreferredLeader(uint64_t partition_id, std::vector<uint64_t> voters);

}  // namespace rkv::server
