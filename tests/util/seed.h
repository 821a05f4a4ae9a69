// Seeds for randomized tests. RKV_SIM_SEED=<n> replays exactly one seed;
// otherwise default_count seeds scaled by RKV_TEST_SCALE (default 1) run,
// starting at RKV_SEED_BASE (default 1). Every randomized test prints its seed
// (SCOPED_TRACE) so a failure can be replayed.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace rkv::testing {

inline uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 10);
}

inline double TestScale() {
  const char* value = std::getenv("RKV_TEST_SCALE");
  if (value == nullptr || *value == '\0') return 1.0;
  double scale = std::strtod(value, nullptr);
  return scale > 0 ? scale : 1.0;
}

inline std::vector<uint64_t> SimSeeds(uint64_t default_count) {
  if (const char* one = std::getenv("RKV_SIM_SEED"); one != nullptr && *one != '\0') {
    return {std::strtoull(one, nullptr, 10)};
  }
  uint64_t count = static_cast<uint64_t>(default_count * TestScale());
  if (count == 0) count = 1;
  uint64_t base = EnvU64("RKV_SEED_BASE", 1);
  std::vector<uint64_t> seeds;
  seeds.reserve(count);
  for (uint64_t i = 0; i < count; ++i) seeds.push_back(base + i);
  return seeds;
}

}  // namespace rkv::testing
