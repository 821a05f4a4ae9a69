// raft_sim: runs many seeded simulations (see simulation.h) and reports every
// failure with its seed, the command that replays it and the events before it.
//
//   raft_sim --seeds N --steps N --nodes N [--seed S] [--first-seed B]
//            [--jobs J] [--events E] [--snapshot-on-membership-change 0|1]
//            [--remove-leader 0|1]
//
// --seed S runs exactly seed S (a replay); otherwise seeds B..B+N-1 run on J
// threads, each simulation on one thread (a run is a pure function of its
// seed, so the thread count never changes a result). Prints progress every
// 10 seconds and ends with one summary line. Exits 1 if any seed failed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/raft/sim/simulation.h"

namespace rkv::raft::sim {
namespace {

struct Flags {
  uint64_t seeds = 100;
  uint64_t steps = 1000;
  uint64_t nodes = 3;
  uint64_t first_seed = 1;
  bool one_seed = false;
  uint64_t jobs = 1;
  uint64_t events = 50;
  bool snapshot_on_membership_change = SimulationOptions{}.snapshot_on_membership_change;
  bool remove_leader = SimulationOptions{}.remove_leader;
};

// Failures printed in full; the rest are listed by seed only.
constexpr size_t kMaxDetailedFailures = 3;

[[noreturn]] void Usage(const char* error) {
  std::fprintf(stderr,
               "raft_sim: %s\nusage: raft_sim --seeds N --steps N --nodes N [--seed S] "
               "[--first-seed B] [--jobs J] [--events E] [--snapshot-on-membership-change 0|1] "
               "[--remove-leader 0|1]\n",
               error);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name == "--help" || name == "-h") Usage("help");
    if (i + 1 >= argc) Usage(absl::StrCat(name, " needs a value").c_str());
    char* end = nullptr;
    uint64_t value = std::strtoull(argv[++i], &end, 10);
    if (end == nullptr || *end != '\0') Usage(absl::StrCat(name, " needs a number").c_str());
    if (name == "--seeds") {
      flags.seeds = value;
    } else if (name == "--steps") {
      flags.steps = value;
    } else if (name == "--nodes") {
      flags.nodes = value;
    } else if (name == "--seed") {
      flags.first_seed = value;
      flags.one_seed = true;
    } else if (name == "--first-seed") {
      flags.first_seed = value;
    } else if (name == "--jobs") {
      flags.jobs = value;
    } else if (name == "--events") {
      flags.events = value;
    } else if (name == "--snapshot-on-membership-change") {
      flags.snapshot_on_membership_change = value != 0;
    } else if (name == "--remove-leader") {
      flags.remove_leader = value != 0;
    } else {
      Usage(absl::StrCat("unknown flag ", name).c_str());
    }
  }
  if (flags.one_seed) flags.seeds = 1;
  if (flags.nodes == 0 || flags.nodes > 9) Usage("--nodes must be in [1, 9]");
  if (flags.seeds == 0) Usage("--seeds must be positive");
  flags.jobs = std::clamp<uint64_t>(flags.jobs, 1, 64);
  return flags;
}

struct Totals {
  uint64_t done = 0;
  uint64_t ticks = 0;
  uint64_t committed = 0;
  uint64_t leader_terms = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t membership_changes = 0;
  uint64_t snapshots = 0;
  uint64_t reads = 0;
  uint64_t lease_reads = 0;
  uint64_t messages = 0;
  std::vector<uint64_t> failed_seeds;
};

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  std::atomic<uint64_t> next{0};
  std::mutex mu;
  Totals totals;             // guarded by mu
  double last_progress = 0;  // guarded by mu

  auto worker = [&] {
    for (uint64_t i = next++; i < flags.seeds; i = next++) {
      const uint64_t seed = flags.first_seed + i;
      Simulation sim({.seed = seed,
                      .nodes = flags.nodes,
                      .steps = flags.steps,
                      .event_capacity = std::max<uint64_t>(flags.events, 1),
                      .snapshot_on_membership_change = flags.snapshot_on_membership_change,
                      .remove_leader = flags.remove_leader});
      absl::Status status = sim.Run();
      std::lock_guard<std::mutex> lock(mu);
      ++totals.done;
      const RunStats& s = sim.stats();
      totals.ticks += s.ticks;
      totals.committed += s.committed_index;
      totals.leader_terms += s.leader_terms;
      totals.crashes += s.crashes;
      totals.partitions += s.partitions;
      totals.membership_changes += s.membership_changes_accepted;
      totals.snapshots += s.cluster.snapshots_delivered;
      totals.reads += s.cluster.reads_completed;
      totals.lease_reads += s.cluster.reads_answered_under_lease;
      totals.messages += s.cluster.messages_sent;
      if (!status.ok()) {
        totals.failed_seeds.push_back(seed);
        if (totals.failed_seeds.size() <= kMaxDetailedFailures) {
          std::printf(
              "FAILED seed %llu: %s\nlast %llu events:\n%s\nreplay: %s\n   or: "
              "RKV_SIM_SEED=%llu ctest -R 'Nodes%llu' --output-on-failure\n\n",
              static_cast<unsigned long long>(seed), std::string(status.message()).c_str(),
              static_cast<unsigned long long>(flags.events), sim.LastEvents(flags.events).c_str(),
              sim.ReplayCommand().c_str(), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(flags.nodes));
        } else {
          std::printf("FAILED seed %llu: %s\n", static_cast<unsigned long long>(seed),
                      std::string(status.message().substr(0, status.message().find('\n'))).c_str());
        }
        std::fflush(stdout);
      }
      if (elapsed() - last_progress >= 10) {
        last_progress = elapsed();
        std::printf("progress: %llu/%llu seeds, %zu failed, %.1f s, %.1f seeds/s\n",
                    static_cast<unsigned long long>(totals.done),
                    static_cast<unsigned long long>(flags.seeds), totals.failed_seeds.size(),
                    last_progress, totals.done / last_progress);
        std::fflush(stdout);
      }
    }
  };
  std::vector<std::thread> threads;
  for (uint64_t j = 0; j < flags.jobs; ++j) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  std::sort(totals.failed_seeds.begin(), totals.failed_seeds.end());
  const double seconds = elapsed();
  std::string failed;
  for (size_t i = 0; i < totals.failed_seeds.size() && i < 100; ++i) {
    absl::StrAppend(&failed, i == 0 ? "" : ",", totals.failed_seeds[i]);
  }
  std::printf(
      "raft_sim: nodes=%llu steps=%llu seeds=%llu (%llu..%llu) failures=%zu%s%s elapsed=%.1fs "
      "seeds/s=%.1f | ticks=%llu committed=%llu leader_terms=%llu crashes=%llu partitions=%llu "
      "membership_changes=%llu snapshots=%llu reads=%llu lease_reads=%llu messages=%llu\n",
      static_cast<unsigned long long>(flags.nodes), static_cast<unsigned long long>(flags.steps),
      static_cast<unsigned long long>(totals.done),
      static_cast<unsigned long long>(flags.first_seed),
      static_cast<unsigned long long>(flags.first_seed + flags.seeds - 1),
      totals.failed_seeds.size(), failed.empty() ? "" : " failed_seeds=", failed.c_str(), seconds,
      totals.done / std::max(seconds, 1e-9), static_cast<unsigned long long>(totals.ticks),
      static_cast<unsigned long long>(totals.committed),
      static_cast<unsigned long long>(totals.leader_terms),
      static_cast<unsigned long long>(totals.crashes),
      static_cast<unsigned long long>(totals.partitions),
      static_cast<unsigned long long>(totals.membership_changes),
      static_cast<unsigned long long>(totals.snapshots),
      static_cast<unsigned long long>(totals.reads),
      static_cast<unsigned long long>(totals.lease_reads),
      static_cast<unsigned long long>(totals.messages));
  return totals.failed_seeds.empty() ? 0 : 1;
}

}  // namespace
}  // namespace rkv::raft::sim

int main(int argc, char** argv) { return rkv::raft::sim::Main(argc, argv); }
