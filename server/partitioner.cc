#include "server/partitioner.h"

#include <algorithm>

#include "client/key_hash.h"
#include "raft/check.h"

namespace rkv::server {

Partitioner::Partitioner(uint64_t partition_count) : count_(partition_count) {
  RKV_CHECK_GE(partition_count, 1u);
}

std::string_view Partitioner::HashedPart(std::string_view key) { return client::HashedPart(key); }

uint64_t Partitioner::KeyHash(std::string_view key) { return client::KeyHash(key); }

uint64_t Partitioner::PartitionOf(std::string_view key) const {
  // Multiplying by the count and keeping the high 64 bits maps the hash onto
  // [0, count) in contiguous, equal ranges without a division.
  const unsigned __int128 scaled = static_cast<unsigned __int128>(KeyHash(key)) * count_;
  return static_cast<uint64_t>(scaled >> 64) + 1;
}

HashRange Partitioner::RangeOf(uint64_t partition) const {
  RKV_CHECK_GE(partition, 1u);
  RKV_CHECK_LE(partition, count_);
  // The smallest hash h with floor(h * count / 2^64) == i is ceil(i * 2^64 / count).
  auto first_hash = [this](uint64_t i) -> unsigned __int128 {
    const unsigned __int128 space = static_cast<unsigned __int128>(1) << 64;
    return (static_cast<unsigned __int128>(i) * space + count_ - 1) / count_;
  };
  HashRange range;
  range.start = static_cast<uint64_t>(first_hash(partition - 1));
  range.end = static_cast<uint64_t>(first_hash(partition) - 1);
  return range;
}

std::vector<uint64_t> Partitioner::DataPartitions() const {
  std::vector<uint64_t> ids;
  ids.reserve(count_);
  for (uint64_t i = 1; i <= count_; ++i) ids.push_back(i);
  return ids;
}

uint64_t PreferredLeader(uint64_t partition_id, std::vector<uint64_t> voters) {
  if (voters.empty()) return 0;
  std::sort(voters.begin(), voters.end());
  return voters[partition_id % voters.size()];
}

}  // namespace rkv::server
