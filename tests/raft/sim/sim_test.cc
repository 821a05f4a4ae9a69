// Seeded simulation of Raft groups under faults (tests/raft/sim). Each seed
// runs one Simulation: Raft's safety properties (paper §5.2-5.4: election
// safety, log matching, leader completeness, state machine safety, no lost
// commit; thesis §6.4 for reads) are checked after every step, and after the
// faults heal the group must elect a leader, commit and serve a read within a
// bounded number of ticks.
//
// RKV_SIM_SEED=<n> replays one seed (in shard 0 of each group size);
// RKV_TEST_SCALE scales the number of seeds; RKV_SEED_BASE moves them.
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/raft/sim/simulation.h"
#include "tests/util/seed.h"

#if defined(__SANITIZE_ADDRESS__)
// The simulation allocates several protobuf objects for every message sent,
// and under ASan the allocator dominates the run. These defaults trim its
// most expensive parts (a 256 MB quarantine that keeps touching fresh pages,
// filling every new block, deep allocation stacks), about 15% of the
// sanitized run, while keeping overflow and use-after-free detection (a 16 MB
// quarantine still catches use shortly after free). ASAN_OPTIONS overrides
// them.
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=16:max_malloc_fill_size=0:malloc_context_size=4";
}
#endif

namespace rkv::raft::sim {
namespace {

constexpr uint64_t kSeeds = 2000;
constexpr uint64_t kSteps = 1000;
// Seeds of one group size are split over this many tests, so that ctest -j
// runs them in parallel.
constexpr size_t kShards = 4;

struct Shard {
  size_t nodes;
  size_t index;
};

// Names the shard in ctest's listing instead of dumping its bytes.
void PrintTo(const Shard& shard, std::ostream* out) {
  *out << shard.nodes << " nodes, shard " << shard.index;
}

class SimTest : public ::testing::TestWithParam<Shard> {};

// Raft paper §5.2-5.4 and Figure 3: every invariant holds at every step under
// drops, delays, duplicates, reordering, partitions, crashes, leader
// transfers and membership changes; liveness returns once the faults heal.
TEST_P(SimTest, SafeUnderFaultsAndLiveAfterHeal) {
  const Shard shard = GetParam();
  const char* replay = std::getenv("RKV_SIM_SEED");
  const bool replaying = replay != nullptr && *replay != '\0';
  if (replaying && shard.index != 0) GTEST_SKIP() << "RKV_SIM_SEED runs in shard 0 only";
  const std::vector<uint64_t> seeds = rkv::testing::SimSeeds(kSeeds);
  const size_t stride = replaying ? 1 : kShards;
  for (size_t i = replaying ? 0 : shard.index; i < seeds.size(); i += stride) {
    const uint64_t seed = seeds[i];
    SCOPED_TRACE(absl::StrCat("replay: RKV_SIM_SEED=", seed, " ctest -R 'Nodes", shard.nodes,
                              "Shard0' --output-on-failure"));
    Simulation sim({.seed = seed, .nodes = shard.nodes, .steps = kSteps});
    absl::Status status = sim.Run();
    ASSERT_TRUE(status.ok()) << status.message() << "\nlast events:\n" << sim.LastEvents(50);
  }
}

// Seeds that once found a bug, run on every build whatever kSeeds is. 2117:
// a ReadIndex on a leader that was its own quorum in a joint configuration
// never completed. 15391: a stale leader never learned a follower's higher
// term. 16682: a removed leader stepped down by check-quorum before any
// remaining voter had its log, and no one could be elected again. 30633: a
// demoted leader whose log a still-joint voter needed never campaigned, so no
// one could be elected. 94610 and 22550 (5 nodes): catch-up traffic under
// reordering was taken for a livelock by the simulator's own check. 63390,
// 98284: refused candidates restarted the election timer of the only node
// that could win.
TEST(SimRegressionTest, SeedsThatFoundBugs) {
  struct Case {
    size_t nodes;
    uint64_t seed;
  };
  for (Case c : {Case{3, 2117}, Case{3, 15391}, Case{3, 16682}, Case{3, 30633}, Case{3, 94610},
                 Case{5, 22550}, Case{3, 63390}, Case{3, 98284}}) {
    SCOPED_TRACE(absl::StrCat("replay: build/bin/raft_sim --nodes ", c.nodes,
                              " --steps 1000 --seed ", c.seed));
    Simulation sim({.seed = c.seed, .nodes = c.nodes, .steps = kSteps});
    absl::Status status = sim.Run();
    ASSERT_TRUE(status.ok()) << status.message() << "\nlast events:\n" << sim.LastEvents(50);
  }
}

std::vector<Shard> AllShards() {
  std::vector<Shard> shards;
  for (size_t nodes : {3, 5}) {
    for (size_t index = 0; index < kShards; ++index) shards.push_back({nodes, index});
  }
  return shards;
}

INSTANTIATE_TEST_SUITE_P(Sim, SimTest, ::testing::ValuesIn(AllShards()),
                         [](const ::testing::TestParamInfo<Shard>& info) {
                           return absl::StrCat("Nodes", info.param.nodes, "Shard",
                                               info.param.index);
                         });

}  // namespace
}  // namespace rkv::raft::sim
