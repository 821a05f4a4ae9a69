// Random: the Raft core's only source of randomness (election timeout jitter).
// A seeded SplitMix64 generator, so the same seed gives the same run. Not
// thread-safe; owned by one Consensus.
#pragma once

#include <cstdint>

namespace rkv::raft {

class Random final {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace rkv::raft
