// The key-to-hash rule shared by rkv servers and smart clients (it is part of
// the wire contract; kv.proto describes it for clients in other languages):
// the hashed part of a key is the first "{tag}" with a non-empty tag, else the
// whole key (Redis Cluster hash tags); its hash is XXH3-64 with seed 0. A
// partition owns a contiguous range of hashes (Cluster.PartitionList).
// Header-only; thread-safe.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace rkv::client {

inline std::string_view HashedPart(std::string_view key) {
  const size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  // "{}" or an unclosed brace: the whole key is hashed (Redis Cluster rule).
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

inline uint64_t KeyHash(std::string_view key) {
  const std::string_view part = HashedPart(key);
  return XXH3_64bits(part.data(), part.size());
}

}  // namespace rkv::client
