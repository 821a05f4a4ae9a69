// SimRandom: the simulator's one source of random choices (faults, workload,
// message delays). It wraps raft::Random, so a seed replays a run exactly; the
// simulator never reads a clock or an unseeded generator. Header only.
// Not thread-safe; owned by one Simulation.
#pragma once

#include <cstdint>
#include <vector>

#include "raft/check.h"
#include "raft/random.h"

namespace rkv::raft::sim {

class SimRandom final {
 public:
  explicit SimRandom(uint64_t seed) : random_(seed) {}
  SimRandom(const SimRandom&) = delete;
  SimRandom& operator=(const SimRandom&) = delete;

  uint64_t Next() { return random_.Next(); }

  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) {
    RKV_CHECK_GT(n, 0u);
    return random_.Uniform(n);
  }

  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  uint64_t Range(uint64_t lo, uint64_t hi) {
    RKV_CHECK_LE(lo, hi);
    return lo + random_.Uniform(hi - lo + 1);
  }

  // True with probability p (p <= 0 never, p >= 1 always).
  bool Chance(double p) {
    // 53 random bits give a uniform double in [0, 1).
    return static_cast<double>(random_.Next() >> 11) * 0x1.0p-53 < p;
  }

  // One element of `values`, chosen uniformly. REQUIRES: values is not empty.
  template <typename T>
  const T& Pick(const std::vector<T>& values) {
    return values[Uniform(values.size())];
  }

 private:
  Random random_;
};

}  // namespace rkv::raft::sim
