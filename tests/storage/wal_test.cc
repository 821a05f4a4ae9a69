// The write-ahead log's recovery rule (storage/rocks_options.cc): a torn tail
// (an unsynced, never acknowledged write) is dropped, but corruption before
// the tail makes Open fail instead of silently dropping synced records.
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "storage/log_batch.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/temp_dir.h"

namespace rkv::storage::testing {
namespace {

using rkv::testing::TempDir;

// Writes 200 entries of partition 1 in 20 synced batches, with a vote.
void WriteSyncedLog(const std::string& dir) {
  auto engine = OpenEngine(dir);
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->CreatePartition(1, Voters({1, 2, 3})).ok());
  auto log = RaftLogStore::Open(engine.get(), 1, LogLimits());
  ASSERT_TRUE(log.ok());
  for (uint64_t first = 1; first <= 200; first += 10) {
    LogBatch batch(engine.get(), LogLimits());
    ASSERT_TRUE(batch.Append(log->get(), MakeEntries(first, first + 10, 2)).ok());
    ASSERT_TRUE(batch.SetHardState(log->get(), MakeHardState(2, 3, first - 1)).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
}

std::string LargestWal(const std::string& dir) {
  std::string best;
  uintmax_t best_size = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (f.path().extension() == ".log" && f.file_size() > best_size) {
      best = f.path().string();
      best_size = f.file_size();
    }
  }
  return best;
}

// Chaos-suite finding: bit flips mid-WAL used to make a node restart with a
// shorter log (and possibly a forgotten vote) at the same term.
TEST(WalTest, CorruptionBeforeTheTailRefusesToOpen) {
  TempDir dir;
  WriteSyncedLog(dir.path());
  const std::string wal = LargestWal(dir.path());
  ASSERT_FALSE(wal.empty());
  const uintmax_t size = std::filesystem::file_size(wal);
  ASSERT_GT(size, 4096u);
  {
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    for (uintmax_t offset : {size / 3, size / 3 + 7, size / 3 + 19}) {
      f.seekg(static_cast<std::streamoff>(offset));
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x5a);
      f.seekp(static_cast<std::streamoff>(offset));
      f.write(&c, 1);
    }
  }
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(TestEngineOptions(dir.path()));
  ASSERT_FALSE(engine.ok()) << "a node must not serve from a log that lost synced records";
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kDataLoss) << engine.status();
}

// A crash can leave the last record half-written; that write was never
// synced, so dropping it is right and the log before it is intact.
TEST(WalTest, TornTailIsDroppedAndTheRestRecovers) {
  TempDir dir;
  WriteSyncedLog(dir.path());
  const std::string wal = LargestWal(dir.path());
  ASSERT_FALSE(wal.empty());
  std::filesystem::resize_file(wal, std::filesystem::file_size(wal) - 5);
  auto engine = OpenEngine(dir.path());
  ASSERT_NE(engine, nullptr);
  auto log = RaftLogStore::Open(engine.get(), 1, LogLimits());
  ASSERT_TRUE(log.ok()) << log.status();
  // Everything but (at most) the last batch survives, as a clean prefix.
  EXPECT_GE((*log)->LastIndex(), 190u);
  EXPECT_LE((*log)->LastIndex(), 200u);
  EXPECT_EQ((*log)->hard_state().vote(), 3u);
  auto entries = (*log)->Entries(1, (*log)->LastIndex() + 1, 1 << 30);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(entries->size(), (*log)->LastIndex());
}

}  // namespace
}  // namespace rkv::storage::testing
