// RaftLogStore implements raft::LogReader (raft/log_reader.h) over RocksDB:
// bounds and errors exactly as documented there, conflicting appends,
// compaction boundaries, restart, and corruption detection.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "gtest/gtest.h"
#include "raft/log_reader.h"
#include "storage/keys.h"
#include "storage/log_batch.h"
#include "storage/raft_log_store.h"
#include "storage/slice.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/temp_dir.h"

namespace rkv::storage {
namespace {

using ::rkv::storage::testing::MakeEntries;
using ::rkv::storage::testing::MakeEntry;
using ::rkv::storage::testing::MakeHardState;
using ::rkv::storage::testing::OpenEngine;
using ::rkv::storage::testing::Voters;
using ::rkv::testing::TempDir;

constexpr uint64_t kPartition = 11;
constexpr uint64_t kNoLimit = ~0ull;

class RaftLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(/*create=*/true); }

  void Reopen(bool create = false) {
    log_.reset();
    engine_.reset();
    engine_ = OpenEngine(dir_.path());
    ASSERT_NE(engine_, nullptr);
    if (create) {
      ASSERT_TRUE(engine_->CreatePartition(kPartition, Voters({1, 2, 3})).ok());
    }
    auto log = RaftLogStore::Open(engine_.get(), kPartition, LogLimits());
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }

  void Append(const std::vector<raft::Entry>& entries, uint64_t commit = 0) {
    LogBatch batch(engine_.get(), LogLimits());
    ASSERT_TRUE(batch.Append(log_.get(), entries).ok());
    uint64_t term = std::max(log_->hard_state().term(), entries.back().term());
    ASSERT_TRUE(
        batch.SetHardState(log_.get(), MakeHardState(term, 1, std::max(commit, log_->hard_state().commit())))
            .ok());
    absl::Status s = batch.Commit();
    ASSERT_TRUE(s.ok()) << s;
  }

  std::vector<uint64_t> Terms(uint64_t lo, uint64_t hi) {
    auto entries = log_->Entries(lo, hi, kNoLimit);
    EXPECT_TRUE(entries.ok()) << entries.status();
    std::vector<uint64_t> terms;
    if (!entries.ok()) return terms;
    for (size_t i = 0; i < entries->size(); ++i) {
      EXPECT_EQ((*entries)[i].index(), lo + i);
      terms.push_back((*entries)[i].term());
    }
    return terms;
  }

  // Replaces the stored record of entry index with f(record).
  void Tamper(uint64_t index, const std::function<void(std::string*)>& f) {
    auto key = keys::LogEntryKey(kPartition, index);
    std::string value;
    ASSERT_TRUE(engine_->db()
                    ->Get(rocksdb::ReadOptions(), engine_->raft_cf(), ToSlice(key.view()), &value)
                    .ok());
    f(&value);
    ASSERT_TRUE(engine_->db()
                    ->Put(rocksdb::WriteOptions(), engine_->raft_cf(), ToSlice(key.view()), value)
                    .ok());
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RaftLogStore> log_;
};

TEST_F(RaftLogStoreTest, EmptyLogStartsAtIndexOne) {
  // raft/log_reader.h: LastIndex() is FirstIndex() - 1 when the log is empty,
  // and Term(FirstIndex() - 1) is the snapshot's term (0 without one).
  EXPECT_EQ(log_->FirstIndex(), 1u);
  EXPECT_EQ(log_->LastIndex(), 0u);
  EXPECT_EQ(*log_->Term(0), 0u);
  EXPECT_TRUE(raft::IsUnavailableIndex(log_->Term(1).status()));
  EXPECT_TRUE(log_->Entries(1, 1, kNoLimit)->empty());
  EXPECT_TRUE(raft::IsUnavailableIndex(log_->Entries(1, 2, kNoLimit).status()));
  EXPECT_TRUE(raft::IsEmptySnapshot(*log_->GetSnapshot()));
  auto initial = log_->LoadInitialState();
  ASSERT_TRUE(initial.ok());
  EXPECT_TRUE(raft::IsEmpty(initial->hard_state));
  EXPECT_EQ(initial->conf_state.voters_size(), 3);
}

TEST_F(RaftLogStoreTest, AppendedEntriesReadBackAndSurviveRestart) {
  Append(MakeEntries(1, 6, 1), /*commit=*/3);
  Append(MakeEntries(6, 9, 2));
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "before restart" : "after restart");
    EXPECT_EQ(log_->FirstIndex(), 1u);
    EXPECT_EQ(log_->LastIndex(), 8u);
    EXPECT_EQ(Terms(1, 9), (std::vector<uint64_t>{1, 1, 1, 1, 1, 2, 2, 2}));
    auto entries = log_->Entries(7, 8, kNoLimit);
    ASSERT_TRUE(entries.ok());
    EXPECT_EQ((*entries)[0].data(), "i7t2");
    EXPECT_EQ(*log_->Term(5), 1u);
    EXPECT_EQ(*log_->Term(6), 2u);
    EXPECT_EQ(log_->hard_state().term(), 2u);
    EXPECT_EQ(log_->hard_state().commit(), 3u);
    Reopen();
  }
}

TEST_F(RaftLogStoreTest, RangeErrorsFollowTheLogReaderContract) {
  Append(MakeEntries(1, 11, 1), /*commit=*/10);
  ASSERT_TRUE(log_->Compact(4, Voters({1})).ok());  // first index 4
  struct Case {
    uint64_t lo, hi;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {3, 5, absl::StatusCode::kOutOfRange},    // below FirstIndex: compacted
      {4, 12, absl::StatusCode::kNotFound},     // past LastIndex + 1: unavailable
      {12, 12, absl::StatusCode::kNotFound},
      {6, 5, absl::StatusCode::kInvalidArgument},
      {4, 4, absl::StatusCode::kOk},
      {4, 11, absl::StatusCode::kOk},
      {11, 11, absl::StatusCode::kOk},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(log_->Entries(c.lo, c.hi, kNoLimit).status().code(), c.code)
        << "[" << c.lo << ", " << c.hi << ")";
  }
  EXPECT_TRUE(raft::IsCompacted(log_->Term(2).status()));
  EXPECT_EQ(*log_->Term(3), 1u);  // FirstIndex() - 1: the snapshot's term
  EXPECT_TRUE(raft::IsUnavailableIndex(log_->Term(11).status()));
}

TEST_F(RaftLogStoreTest, EntriesAreBoundedByBytesButNeverEmpty) {
  Append(MakeEntries(1, 11, 1));
  const uint64_t size = (*log_->Entries(1, 2, kNoLimit))[0].ByteSizeLong();
  struct Case {
    uint64_t max_bytes;
    size_t count;
  };
  const Case cases[] = {{0, 1}, {1, 1}, {size, 1}, {2 * size - 1, 1}, {2 * size, 2},
                        {5 * size, 5}, {kNoLimit, 10}};
  for (const Case& c : cases) {
    auto entries = log_->Entries(1, 11, c.max_bytes);
    ASSERT_TRUE(entries.ok());
    EXPECT_EQ(entries->size(), c.count) << "max_bytes " << c.max_bytes;
  }
}

TEST_F(RaftLogStoreTest, ConflictingAppendReplacesTheTail) {
  // ready.h: an entry whose index is already stored replaces it and every
  // entry after it.
  Append(MakeEntries(1, 11, 1), /*commit=*/4);
  Append(MakeEntries(6, 8, 2));
  EXPECT_EQ(log_->LastIndex(), 7u);
  EXPECT_EQ(Terms(1, 8), (std::vector<uint64_t>{1, 1, 1, 1, 1, 2, 2}));
  EXPECT_TRUE(raft::IsUnavailableIndex(log_->Term(8).status()));
  // Replacing from just after the commit index, with a longer tail.
  Append(MakeEntries(5, 13, 3));
  EXPECT_EQ(log_->LastIndex(), 12u);
  Reopen();
  EXPECT_EQ(log_->LastIndex(), 12u);
  EXPECT_EQ(Terms(1, 13), (std::vector<uint64_t>{1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3}));
  // Nothing of the replaced tails is left in RocksDB.
  auto key = keys::LogEntryKey(kPartition, 13);
  std::string value;
  EXPECT_TRUE(engine_->db()
                  ->Get(rocksdb::ReadOptions(), engine_->raft_cf(), ToSlice(key.view()), &value)
                  .IsNotFound());
}

TEST_F(RaftLogStoreTest, CompactionBoundaries) {
  Append(MakeEntries(1, 6, 1));
  Append(MakeEntries(6, 11, 2), /*commit=*/8);
  struct Case {
    uint64_t index;
    absl::StatusCode code;
  };
  const Case errors[] = {
      {12, absl::StatusCode::kNotFound},            // past LastIndex() + 1
      {10, absl::StatusCode::kFailedPrecondition},  // 9 is not committed
  };
  for (const Case& c : errors) {
    absl::Status s = log_->Compact(c.index, Voters({1}));
    EXPECT_EQ(s.code(), c.code) << c.index << ": " << s;
  }
  ASSERT_TRUE(log_->Compact(1, Voters({1})).ok());  // FirstIndex(): nothing to do
  EXPECT_EQ(log_->FirstIndex(), 1u);

  ASSERT_TRUE(log_->Compact(7, Voters({1, 2})).ok());
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "before restart" : "after restart");
    EXPECT_EQ(log_->FirstIndex(), 7u);
    EXPECT_EQ(log_->LastIndex(), 10u);
    EXPECT_EQ(*log_->Term(6), 2u);
    EXPECT_TRUE(raft::IsCompacted(log_->Term(5).status()));
    EXPECT_TRUE(raft::IsCompacted(log_->Entries(6, 8, kNoLimit).status()));
    EXPECT_EQ(Terms(7, 11), (std::vector<uint64_t>{2, 2, 2, 2}));
    auto snapshot = log_->GetSnapshot();
    EXPECT_EQ(snapshot->metadata().index(), 6u);
    EXPECT_EQ(snapshot->metadata().term(), 2u);
    EXPECT_EQ(snapshot->metadata().conf_state().voters_size(), 2);
    EXPECT_EQ(log_->Compact(6, Voters({1})).code(), absl::StatusCode::kOutOfRange);
    Reopen();
  }
  // Compacting every entry keeps the last one's term.
  Append(MakeEntries(11, 13, 2), /*commit=*/12);
  ASSERT_TRUE(log_->Compact(13, Voters({1})).ok());
  EXPECT_EQ(log_->FirstIndex(), 13u);
  EXPECT_EQ(log_->LastIndex(), 12u);
  EXPECT_EQ(*log_->Term(12), 2u);
  Reopen();
  EXPECT_EQ(log_->FirstIndex(), 13u);
  EXPECT_EQ(log_->LastIndex(), 12u);
  Append(MakeEntries(13, 14, 3));
  EXPECT_EQ(Terms(13, 14), std::vector<uint64_t>{3});
}

TEST_F(RaftLogStoreTest, RecentTermsComeFromTheCache) {
  // The hot path (a leader sending appends, a follower matching them) asks
  // for terms of recent entries; those must not read RocksDB.
  for (uint64_t term = 1; term <= 3; ++term) {
    Append(MakeEntries(term * 10 - 9, term * 10 + 1, term));
  }
  for (uint64_t index = 1; index <= 30; ++index) ASSERT_TRUE(log_->Term(index).ok());
  EXPECT_EQ(log_->term_reads_for_testing(), 0u);
  // After a restart only the last entry is cached; older terms are read once
  // from RocksDB (and verified).
  Reopen();
  EXPECT_EQ(*log_->Term(30), 3u);
  EXPECT_EQ(log_->term_reads_for_testing(), 0u);
  EXPECT_EQ(*log_->Term(5), 1u);
  EXPECT_EQ(log_->term_reads_for_testing(), 1u);
}

TEST_F(RaftLogStoreTest, FlippedByteInAStoredEntryIsDataLossNamingIt) {
  Append(MakeEntries(1, 21, 1));
  Reopen();  // Only the last entry's term stays cached.
  // Flip each byte of entry 7's record in turn: every flip is caught.
  auto key = keys::LogEntryKey(kPartition, 7);
  std::string original;
  ASSERT_TRUE(engine_->db()
                  ->Get(rocksdb::ReadOptions(), engine_->raft_cf(), ToSlice(key.view()), &original)
                  .ok());
  for (size_t i = 0; i < original.size(); ++i) {
    Tamper(7, [&](std::string* value) {
      *value = original;
      (*value)[i] ^= 0x20;
    });
    auto entries = log_->Entries(5, 10, kNoLimit);
    ASSERT_FALSE(entries.ok()) << "byte " << i;
    EXPECT_EQ(entries.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(entries.status().message().find("partition 11 log entry 7"), absl::string_view::npos)
        << entries.status();
    auto term = log_->Term(7);
    EXPECT_EQ(term.status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
  }
  // A valid record of another index, copied under index 7, is caught too.
  std::string other;
  auto key8 = keys::LogEntryKey(kPartition, 8);
  ASSERT_TRUE(engine_->db()
                  ->Get(rocksdb::ReadOptions(), engine_->raft_cf(), ToSlice(key8.view()), &other)
                  .ok());
  Tamper(7, [&](std::string* value) { *value = other; });
  EXPECT_EQ(log_->Entries(7, 8, kNoLimit).status().code(), absl::StatusCode::kDataLoss);
  // Truncated to nothing.
  Tamper(7, [&](std::string* value) { value->clear(); });
  EXPECT_EQ(log_->Entries(7, 8, kNoLimit).status().code(), absl::StatusCode::kDataLoss);
  // Restored, everything reads again.
  Tamper(7, [&](std::string* value) { *value = original; });
  EXPECT_TRUE(log_->Entries(1, 21, kNoLimit).ok());
}

TEST_F(RaftLogStoreTest, MissingEntryIsDataLoss) {
  Append(MakeEntries(1, 11, 1));
  auto key = keys::LogEntryKey(kPartition, 4);
  ASSERT_TRUE(
      engine_->db()->Delete(rocksdb::WriteOptions(), engine_->raft_cf(), ToSlice(key.view())).ok());
  auto entries = log_->Entries(2, 8, kNoLimit);
  EXPECT_EQ(entries.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(entries.status().message().find("log entry 4 is missing"), absl::string_view::npos)
      << entries.status();
}

TEST_F(RaftLogStoreTest, CorruptLastEntryOrHardStateFailsOpen) {
  Append(MakeEntries(1, 6, 1), /*commit=*/2);
  Tamper(5, [](std::string* value) { (*value)[value->size() - 1] ^= 1; });
  log_.reset();
  auto reopened = RaftLogStore::Open(engine_.get(), kPartition, LogLimits());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reopened.status().message().find("log entry 5"), absl::string_view::npos);

  auto key = keys::HardStateKey(kPartition);
  ASSERT_TRUE(engine_->db()
                  ->Put(rocksdb::WriteOptions(), engine_->raft_cf(), ToSlice(key.view()), "garbage!!")
                  .ok());
  reopened = RaftLogStore::Open(engine_.get(), kPartition, LogLimits());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reopened.status().message().find("partition 11 hard state"), absl::string_view::npos)
      << reopened.status();
}

TEST_F(RaftLogStoreTest, CorruptSstFileIsDataLoss) {
  // Below our checksums sits RocksDB's block checksum: a flipped byte in an
  // SST file is reported as DATA_LOSS too, with our context.
  std::vector<raft::Entry> entries;
  for (uint64_t i = 1; i <= 2000; ++i) entries.push_back(MakeEntry(i, 1, std::string(100, 'a' + i % 26)));
  Append(entries);
  ASSERT_TRUE(engine_->db()->Flush(rocksdb::FlushOptions(), engine_->raft_cf()).ok());
  log_.reset();
  engine_.reset();
  std::vector<std::filesystem::path> ssts;
  for (const auto& file : std::filesystem::directory_iterator(dir_.path() + "/db")) {
    if (file.path().extension() == ".sst") ssts.push_back(file.path());
  }
  ASSERT_EQ(ssts.size(), 1u);
  {
    std::fstream file(ssts[0], std::ios::in | std::ios::out | std::ios::binary);
    uint64_t middle = std::filesystem::file_size(ssts[0]) / 3;
    file.seekg(middle);
    char byte = 0;
    file.read(&byte, 1);
    byte ^= 0x5a;
    file.seekp(middle);
    file.write(&byte, 1);
  }
  engine_ = OpenEngine(dir_.path());
  ASSERT_NE(engine_, nullptr);
  auto log = RaftLogStore::Open(engine_.get(), kPartition, LogLimits());
  ASSERT_TRUE(log.ok()) << log.status();
  auto read = (*log)->Entries(1, 2001, kNoLimit);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
  EXPECT_NE(read.status().message().find("partition 11"), absl::string_view::npos)
      << read.status();
}

}  // namespace
}  // namespace rkv::storage
