// Group commit (LogBatch): many partitions' appends and hard states become
// durable with one synced write; a call that fails validation changes
// nothing; stores see changes only once the write succeeded.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/log_batch.h"
#include "storage/raft_log_store.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/temp_dir.h"

namespace rkv::storage {
namespace {

using ::rkv::storage::testing::MakeEntries;
using ::rkv::storage::testing::MakeEntry;
using ::rkv::storage::testing::MakeHardState;
using ::rkv::storage::testing::OpenEngine;
using ::rkv::testing::TempDir;

class LogBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = OpenEngine(dir_.path());
    ASSERT_NE(engine_, nullptr);
    for (uint64_t p = 1; p <= 3; ++p) {
      ASSERT_TRUE(engine_->CreatePartition(p, {}).ok());
      auto log = RaftLogStore::Open(engine_.get(), p, LogLimits());
      ASSERT_TRUE(log.ok());
      logs_.push_back(*std::move(log));
    }
  }

  RaftLogStore* log(int i) { return logs_[i].get(); }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::vector<std::unique_ptr<RaftLogStore>> logs_;
};

TEST_F(LogBatchTest, ManyPartitionsCommitWithOneSyncedWrite) {
  LogBatch batch(engine_.get(), LogLimits());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(batch.Append(log(i), MakeEntries(1, 4 + i, 1)).ok());
    ASSERT_TRUE(batch.SetHardState(log(i), MakeHardState(1, 1, 2)).ok());
  }
  EXPECT_EQ(batch.partition_count(), 3u);
  EXPECT_GT(batch.bytes(), 0u);
  // Nothing is visible before the commit.
  EXPECT_EQ(log(0)->LastIndex(), 0u);
  EXPECT_EQ(log(0)->hard_state().term(), 0u);
  uint64_t syncs = engine_->synced_write_count();
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(engine_->synced_write_count(), syncs + 1);
  EXPECT_TRUE(batch.empty());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(log(i)->LastIndex(), 3u + i);
    EXPECT_EQ(log(i)->hard_state().commit(), 2u);
    EXPECT_EQ(log(i)->Entries(1, 4 + i, ~0ull)->size(), 3u + i);
  }
  // An empty batch writes nothing.
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(engine_->synced_write_count(), syncs + 1);
}

TEST_F(LogBatchTest, CallsOnOneStoreApplyInOrder) {
  LogBatch batch(engine_.get(), LogLimits());
  ASSERT_TRUE(batch.Append(log(0), MakeEntries(1, 6, 1)).ok());
  ASSERT_TRUE(batch.SetHardState(log(0), MakeHardState(2, 0, 2)).ok());
  ASSERT_TRUE(batch.Append(log(0), MakeEntries(4, 5, 2)).ok());  // replaces 4 and 5
  ASSERT_TRUE(batch.Append(log(0), MakeEntries(5, 7, 2)).ok());
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(log(0)->LastIndex(), 6u);
  auto entries = log(0)->Entries(1, 7, ~0ull);
  ASSERT_TRUE(entries.ok());
  std::vector<uint64_t> terms;
  for (const auto& e : *entries) terms.push_back(e.term());
  EXPECT_EQ(terms, (std::vector<uint64_t>{1, 1, 1, 2, 2, 2}));
}

TEST_F(LogBatchTest, InterleavedAppendsTruncationsAndCompactionsKeepEveryLog) {
  // The raft column family remembers an insert position per partition
  // (storage/rocks_options.cc). Interleave the three partitions' appends with
  // conflicting suffixes and compactions, which are range deletions in the
  // same memtable, and check every entry against a model, before and after
  // the memtable is rebuilt from the WAL by a reopen.
  std::vector<std::vector<uint64_t>> terms(3, std::vector<uint64_t>{0});  // [index] -> term
  std::vector<uint64_t> first(3, 1);
  for (uint64_t round = 1; round <= 30; ++round) {
    LogBatch batch(engine_.get(), LogLimits());
    for (int p = 0; p < 3; ++p) {
      uint64_t from = terms[p].size();
      if ((round + p) % 4 == 0 && from - 3 >= first[p]) from -= 3;  // replaces the last 3
      terms[p].resize(from);
      terms[p].insert(terms[p].end(), 5, round);
      absl::Status appended = batch.Append(log(p), MakeEntries(from, from + 5, round));
      ASSERT_TRUE(appended.ok()) << appended;
      // The last 3 entries stay uncommitted, so the next round may replace them.
      ASSERT_TRUE(batch.SetHardState(log(p), MakeHardState(round, 0, terms[p].size() - 4)).ok());
    }
    ASSERT_TRUE(batch.Commit().ok());
    const int compacted = static_cast<int>(round % 3);
    if (round % 5 == 0) {
      first[compacted] = terms[compacted].size() - 4;
      ASSERT_TRUE(log(compacted)->Compact(first[compacted], testing::Voters({1})).ok());
    }
  }
  auto expect_model = [&](const char* when) {
    for (int p = 0; p < 3; ++p) {
      const uint64_t last = terms[p].size() - 1;
      ASSERT_EQ(log(p)->FirstIndex(), first[p]) << when << " partition " << p + 1;
      ASSERT_EQ(log(p)->LastIndex(), last) << when << " partition " << p + 1;
      auto entries = log(p)->Entries(first[p], last + 1, ~0ull);
      ASSERT_TRUE(entries.ok()) << entries.status();
      ASSERT_EQ(entries->size(), last + 1 - first[p]) << when << " partition " << p + 1;
      for (const raft::Entry& e : *entries) {
        EXPECT_EQ(e.term(), terms[p][e.index()]) << when << " partition " << p + 1 << " index " << e.index();
        EXPECT_EQ(e.data(), absl::StrCat("i", e.index(), "t", e.term()));
      }
    }
  };
  expect_model("before reopening");
  logs_.clear();
  engine_.reset();
  engine_ = OpenEngine(dir_.path());
  ASSERT_NE(engine_, nullptr);
  for (uint64_t p = 1; p <= 3; ++p) {
    auto log = RaftLogStore::Open(engine_.get(), p, LogLimits());
    ASSERT_TRUE(log.ok()) << log.status();
    logs_.push_back(*std::move(log));
  }
  expect_model("after reopening");
}

TEST_F(LogBatchTest, InvalidCallsAreRejectedAndChangeNothing) {
  // Prepare: partition 1 holds [1, 10] in terms 1..2, commit 5, vote 1 in term 2.
  {
    LogBatch batch(engine_.get(), LogLimits());
    ASSERT_TRUE(batch.Append(log(0), MakeEntries(1, 6, 1)).ok());
    ASSERT_TRUE(batch.Append(log(0), MakeEntries(6, 11, 2)).ok());
    ASSERT_TRUE(batch.SetHardState(log(0), MakeHardState(2, 1, 5)).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  LogLimits small;
  small.max_entry_bytes = 100;
  small.max_batch_bytes = 1000;
  auto with_type = [](raft::Entry e, int type) {
    e.set_type(static_cast<rkv::internal::EntryType>(type));
    return e;
  };
  struct Case {
    const char* name;
    std::vector<raft::Entry> entries;
    absl::StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"gap", MakeEntries(12, 13, 2), absl::StatusCode::kInvalidArgument, "gap after the last index 10"},
      {"not consecutive", {MakeEntry(11, 2), MakeEntry(13, 2)}, absl::StatusCode::kInvalidArgument,
       "not consecutive"},
      {"term 0", {MakeEntry(11, 0)}, absl::StatusCode::kInvalidArgument, "term 0"},
      {"falling terms", {MakeEntry(11, 3), MakeEntry(12, 2)}, absl::StatusCode::kInvalidArgument,
       "below the term 3"},
      {"term below previous entry", {MakeEntry(11, 1)}, absl::StatusCode::kInvalidArgument,
       "below the term 2 of entry 10"},
      {"unknown type", {with_type(MakeEntry(11, 2), 7)}, absl::StatusCode::kInvalidArgument,
       "unknown type 7"},
      {"oversized entry", {MakeEntry(11, 2, std::string(101, 'x'))},
       absl::StatusCode::kInvalidArgument, "the limit is 100"},
      {"oversized batch", MakeEntries(11, 60, 2), absl::StatusCode::kResourceExhausted,
       "the limit is 1000"},
      {"replaces committed", MakeEntries(5, 6, 3), absl::StatusCode::kFailedPrecondition,
       "would replace the committed entry"},
  };
  for (const Case& c : cases) {
    LogBatch batch(engine_.get(), small);
    absl::Status s = batch.Append(log(0), c.entries);
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s;
    EXPECT_NE(s.message().find(c.message), absl::string_view::npos) << c.name << ": " << s;
    EXPECT_NE(s.message().find("partition 1"), absl::string_view::npos) << c.name;
    EXPECT_EQ(batch.bytes(), 0u) << c.name;
    ASSERT_TRUE(batch.Commit().ok());
  }
  // Rewriting committed entries with their own terms is allowed.
  {
    LogBatch batch(engine_.get(), small);
    EXPECT_TRUE(batch.Append(log(0), MakeEntries(5, 6, 1)).ok());
  }
  const struct {
    const char* name;
    raft::HardState hard_state;
    const char* message;
  } hard_states[] = {
      {"term goes down", MakeHardState(1, 1, 5), "term would go down"},
      {"vote changes", MakeHardState(2, 3, 5), "vote in term 2 would change"},
      {"commit goes down", MakeHardState(2, 1, 4), "commit index would go down"},
  };
  for (const auto& c : hard_states) {
    LogBatch batch(engine_.get(), small);
    absl::Status s = batch.SetHardState(log(0), c.hard_state);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << c.name;
    EXPECT_NE(s.message().find(c.message), absl::string_view::npos) << c.name << ": " << s;
  }
  EXPECT_EQ(log(0)->LastIndex(), 10u);
  EXPECT_EQ(log(0)->hard_state().commit(), 5u);
}

TEST_F(LogBatchTest, InconsistentEndStateFailsTheWholeCommit) {
  LogBatch batch(engine_.get(), LogLimits());
  ASSERT_TRUE(batch.Append(log(1), MakeEntries(1, 3, 1)).ok());
  ASSERT_TRUE(batch.SetHardState(log(1), MakeHardState(1, 0, 2)).ok());
  ASSERT_TRUE(batch.Append(log(0), MakeEntries(1, 3, 1)).ok());
  ASSERT_TRUE(batch.SetHardState(log(0), MakeHardState(1, 0, 5)).ok());  // commit past last
  uint64_t syncs = engine_->synced_write_count();
  absl::Status s = batch.Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("partition 1: the hard state would commit index 5 past the last index 2"),
            absl::string_view::npos)
      << s;
  EXPECT_EQ(engine_->synced_write_count(), syncs);
  EXPECT_EQ(log(0)->LastIndex(), 0u);
  EXPECT_EQ(log(1)->LastIndex(), 0u);

  // A last entry whose term is above the hard state's term.
  ASSERT_TRUE(batch.Append(log(0), MakeEntries(1, 3, 4)).ok());
  ASSERT_TRUE(batch.SetHardState(log(0), MakeHardState(3, 0, 0)).ok());
  s = batch.Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("term 4 would be above the hard state's term 3"),
            absl::string_view::npos)
      << s;
}

TEST_F(LogBatchTest, StoreChangedBehindTheBatchFailsTheCommit) {
  {
    LogBatch batch(engine_.get(), LogLimits());
    ASSERT_TRUE(batch.Append(log(0), MakeEntries(1, 6, 1)).ok());
    ASSERT_TRUE(batch.SetHardState(log(0), MakeHardState(1, 0, 5)).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  LogBatch batch(engine_.get(), LogLimits());
  ASSERT_TRUE(batch.Append(log(0), MakeEntries(6, 7, 1)).ok());
  ASSERT_TRUE(log(0)->Compact(3, {}).ok());
  absl::Status s = batch.Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log(0)->LastIndex(), 5u);
  EXPECT_EQ(log(0)->FirstIndex(), 3u);
}

}  // namespace
}  // namespace rkv::storage
