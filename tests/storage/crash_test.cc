// Crash safety under SIGKILL (STYLE §3, Storage tests): a child process runs
// the seeded workload of crash_workload.h (group-committed appends with
// conflicting tails, applies, compactions, snapshot installs) and is killed at
// a random moment, many times: 12 kills per seed, RKV_TEST_SCALE=n runs n
// seeds. After each kill the storage is reopened and must equal the model
// after exactly the events the child acknowledged, or after one more that
// finished but was not acknowledged yet: the log is a clean prefix of what was
// written, the hard state is consistent with it, the applied index matches
// exactly the data present, and nothing acknowledged is missing. A state
// machine may be back at an earlier applied index of its own history (Apply
// writes no WAL; only flushes make it durable), provided the log still holds
// every entry after it, so replay restores it. A failure
// prints RKV_SIM_SEED to replay the same workload and kill points (the kill
// lands after the same count of acknowledged events).
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/storage/crash_workload.h"
#include "tests/util/seed.h"
#include "tests/util/temp_dir.h"

extern char** environ;

namespace rkv::storage::crash {
namespace {

constexpr int kLivesPerSeed = 12;
// How long a child may take to acknowledge what the parent waits for.
constexpr int kChildTimeoutMs = 60000;

struct Child {
  pid_t pid = -1;
  int output = -1;  // read end of the child's stdout
};

Child Spawn(const std::string& dir, uint64_t seed) {
  int fds[2];
  RKV_CHECK_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::string seed_arg = std::to_string(seed);
  std::string max_events = "1000000";
  const char* path = RKV_CRASH_CHILD_PATH;
  std::vector<char*> argv = {const_cast<char*>(path), const_cast<char*>(dir.c_str()),
                             seed_arg.data(), max_events.data(), nullptr};
  Child child;
  int error = posix_spawn(&child.pid, path, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  RKV_CHECK_EQ(error, 0);
  close(fds[1]);
  child.output = fds[0];
  return child;
}

// Reads one byte with a deadline; returns 0 at EOF, -1 on timeout.
int ReadByte(int fd, char* byte) {
  pollfd poll_fd{.fd = fd, .events = POLLIN, .revents = 0};
  int ready = poll(&poll_fd, 1, kChildTimeoutMs);
  if (ready <= 0) return -1;
  ssize_t n = read(fd, byte, 1);
  return n == 1 ? 1 : 0;
}

struct Life {
  uint64_t acknowledged = 0;
  bool killed = false;
  std::string failure;
};

// Runs one life of the child: waits until it acknowledged kill_after events
// (no wait at all when kill_during_open), kills it, and counts every
// acknowledged event.
Life RunLife(const std::string& dir, uint64_t seed, bool kill_during_open, uint64_t kill_after) {
  Life life;
  Child child = Spawn(dir, seed);
  bool ready = false;
  char byte = 0;
  if (!kill_during_open) {
    while (!ready || life.acknowledged < kill_after) {
      int n = ReadByte(child.output, &byte);
      if (n != 1) {
        life.failure = n < 0 ? "the child stopped acknowledging" : "the child exited early";
        break;
      }
      if (byte == 'R') ready = true;
      if (byte == 'E') ++life.acknowledged;
    }
  }
  life.killed = kill(child.pid, SIGKILL) == 0;
  int status = 0;
  RKV_CHECK_EQ(waitpid(child.pid, &status, 0), child.pid);
  while (ReadByte(child.output, &byte) == 1) {
    if (byte == 'E') ++life.acknowledged;
  }
  close(child.output);
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) && life.failure.empty()) {
    life.failure = absl::StrCat("the child ended on its own, status ", status);
  }
  return life;
}

// Whether recovered is the model after `count` events, except that a
// partition's state machine may be back at the state it had after an earlier
// event of the same life, as long as the log holds every entry after its
// applied index. Counts those in *fallen_back.
bool Matches(const Model& recovered, const std::vector<Model>& models, size_t count,
             uint64_t* fallen_back) {
  const Model& expected = models[count];
  Model log_part = recovered;
  uint64_t back = 0;
  for (size_t p = 0; p < recovered.partitions.size(); ++p) {
    const PartitionModel& state = recovered.partitions[p];
    auto same_state = [&](const Model& model) {
      const PartitionModel& m = model.partitions[p];
      return m.applied_index == state.applied_index && m.applied_term == state.applied_term &&
             m.kv == state.kv;
    };
    if (same_state(expected)) continue;
    if (state.applied_index < expected.partitions[p].snapshot_index) return false;
    if (std::none_of(models.begin(), models.begin() + count, same_state)) return false;
    ++back;
    PartitionModel& copy = log_part.partitions[p];
    copy.applied_index = expected.partitions[p].applied_index;
    copy.applied_term = expected.partitions[p].applied_term;
    copy.kv = expected.partitions[p].kv;
  }
  if (!(log_part == expected)) return false;
  *fallen_back += back;
  return true;
}

void RunSeries(uint64_t seed) {
  rkv::testing::TempDir dir;
  ASSERT_TRUE(Bootstrap(dir.path()).ok());
  Model model;
  model.partitions.resize(kPartitionCount);
  std::mt19937_64 random(seed);
  uint64_t total = 0;
  uint64_t unacknowledged_durable = 0;
  uint64_t fallen_back = 0;
  std::map<EventKind, uint64_t> kinds_done;
  for (int life_number = 0; life_number < kLivesPerSeed; ++life_number) {
    const uint64_t life_seed = random();
    const bool kill_during_open = random() % 6 == 0;
    const uint64_t kill_after = random() % 100;
    SCOPED_TRACE(absl::StrCat("life ", life_number, " (child seed ", life_seed, ", kill ",
                              kill_during_open ? "during open" : absl::StrCat("after ", kill_after, " events"),
                              ")"));
    Life life = RunLife(dir.path(), life_seed, kill_during_open, kill_after);
    ASSERT_TRUE(life.failure.empty()) << life.failure;
    // The model after every event the child could have finished.
    std::vector<EventKind> kinds;
    std::vector<Model> models = ModelsAfter(model, life_seed, life.acknowledged + 1, &kinds);
    auto storage = Storage::Open(dir.path());
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto recovered = (*storage)->Read();
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    // The next child goes on from what it finds, as this check does.
    if (Matches(*recovered, models, life.acknowledged, &fallen_back)) {
      model = *recovered;
    } else if (Matches(*recovered, models, life.acknowledged + 1, &fallen_back)) {
      model = *recovered;
      ++unacknowledged_durable;
    } else {
      FAIL() << "after " << life.acknowledged << " acknowledged events the storage holds\n"
             << Describe(*recovered) << "but the model expects\n"
             << Describe(models[life.acknowledged]) << "or (one more event)\n"
             << Describe(models[life.acknowledged + 1]);
    }
    total += life.acknowledged;
    for (uint64_t i = 0; i < life.acknowledged; ++i) ++kinds_done[kinds[i]];
  }
  std::printf(
      "crash series seed %llu: %d kills, %llu acknowledged events (%llu log commits, %llu "
      "applies, %llu compactions, %llu snapshot installs); %llu kills found one more event "
      "durable than acknowledged; %llu state machines were back at an earlier applied index\n",
      static_cast<unsigned long long>(seed), kLivesPerSeed, static_cast<unsigned long long>(total),
      static_cast<unsigned long long>(kinds_done[EventKind::kLogCommit]),
      static_cast<unsigned long long>(kinds_done[EventKind::kApply]),
      static_cast<unsigned long long>(kinds_done[EventKind::kCompact]),
      static_cast<unsigned long long>(kinds_done[EventKind::kInstall]),
      static_cast<unsigned long long>(unacknowledged_durable),
      static_cast<unsigned long long>(fallen_back));
  EXPECT_GT(total, 0u);
}

TEST(CrashTest, SigkillAtRandomMomentsLosesNothingAcknowledged) {
  for (uint64_t seed : rkv::testing::SimSeeds(/*default_count=*/1)) {
    SCOPED_TRACE(absl::StrCat("replay: RKV_SIM_SEED=", seed));
    std::printf("crash series: RKV_SIM_SEED=%llu\n", static_cast<unsigned long long>(seed));
    RunSeries(seed);
    if (HasFatalFailure()) return;
  }
}

TEST(CrashTest, ModelIsDeterministic) {
  // The parent and the child derive the same events from the same seed.
  Model start;
  start.partitions.resize(kPartitionCount);
  std::vector<Model> a = ModelsAfter(start, 42, 300);
  std::vector<Model> b = ModelsAfter(start, 42, 300);
  EXPECT_TRUE(a == b);
  EXPECT_GT(a.back().partitions[0].applied_index + a.back().partitions[1].applied_index, 0u);
}

}  // namespace
}  // namespace rkv::storage::crash
