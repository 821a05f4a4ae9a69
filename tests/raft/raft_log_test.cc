#include "raft/raft_log.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "raft/memory_log.h"
#include "tests/raft/test_entries.h"

namespace rkv::raft {
namespace {

std::vector<Entry> Entries(std::vector<std::pair<uint64_t, uint64_t>> term_index) {
  std::vector<Entry> out;
  for (auto [term, index] : term_index) {
    Entry e;
    e.set_term(term);
    e.set_index(index);
    out.push_back(e);
  }
  return out;
}

// A log with persisted entries 1..3 at terms 1,2,3 (plus optional unstable ones).
struct LogFixture {
  MemoryLog storage;
  std::unique_ptr<RaftLog> log;
  LogFixture() {
    storage.Append(Entries({{1, 1}, {2, 2}, {3, 3}}));
    log = std::make_unique<RaftLog>(&storage, 1 << 20);
  }
};

// Raft paper Figure 2, AppendEntries receiver rules 2-5: reject on a missing
// or mismatching previous entry; replace a conflicting suffix; append new
// entries; advance commit to min(leaderCommit, index of last new entry).
TEST(RaftLogTest, MaybeAppendFollowsTheReceiverRules) {
  struct Case {
    uint64_t index, log_term, commit;
    std::vector<std::pair<uint64_t, uint64_t>> entries;
    bool want_ok;
    uint64_t want_last_new, want_last_index, want_commit;
  };
  const std::vector<Case> cases = {
      // Previous entry's term mismatches: rejected.
      {3, 2, 3, {{4, 4}}, false, 0, 3, 1},
      // Previous entry missing: rejected.
      {4, 4, 3, {{4, 5}}, false, 0, 3, 1},
      // Heartbeat-like empty append.
      {3, 3, 3, {}, true, 3, 3, 3},
      // Commit is bounded by the last new entry, not by our last index.
      {1, 1, 3, {}, true, 1, 3, 1},
      // New entries appended.
      {3, 3, 4, {{4, 4}, {4, 5}}, true, 5, 5, 4},
      // Duplicated entries change nothing.
      {2, 2, 2, {{3, 3}}, true, 3, 3, 2},
      // A conflicting suffix is replaced.
      {2, 2, 2, {{4, 3}, {4, 4}}, true, 4, 4, 2},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    LogFixture f;
    f.log->CommitTo(1);
    auto got = f.log->MaybeAppend(c.index, c.log_term, c.commit, Entries(c.entries));
    EXPECT_EQ(got.has_value(), c.want_ok) << "case " << i;
    if (got) {
      EXPECT_EQ(*got, c.want_last_new) << "case " << i;
    }
    EXPECT_EQ(f.log->LastIndex(), c.want_last_index) << "case " << i;
    EXPECT_EQ(f.log->committed(), c.want_commit) << "case " << i;
  }
}

// Raft paper §5.4.2 and Figure 8: a leader commits only an entry of its own
// term by counting replicas; earlier entries commit with it.
TEST(RaftLogTest, MaybeCommitOnlyForTheCurrentTerm) {
  LogFixture f;
  EXPECT_FALSE(f.log->MaybeCommit(2, 3)) << "index 2 has term 2, not the current term 3";
  EXPECT_EQ(f.log->committed(), 0u);
  EXPECT_TRUE(f.log->MaybeCommit(3, 3));
  EXPECT_EQ(f.log->committed(), 3u);
  EXPECT_FALSE(f.log->MaybeCommit(2, 2)) << "commit never goes backwards";
}

// Raft paper §5.4.1: the log with the later last term is more up to date; with
// equal last terms, the longer one is.
TEST(RaftLogTest, IsUpToDateComparesLastTermThenLength) {
  LogFixture f;
  EXPECT_TRUE(f.log->IsUpToDate(1, 4));
  EXPECT_TRUE(f.log->IsUpToDate(3, 3));
  EXPECT_TRUE(f.log->IsUpToDate(4, 3));
  EXPECT_FALSE(f.log->IsUpToDate(2, 3));
  EXPECT_FALSE(f.log->IsUpToDate(9, 2));
}

std::pair<uint64_t, uint64_t> Pair(uint64_t index, uint64_t term) { return {index, term}; }

// Fast back-off: the largest index whose term is <= the given term.
TEST(RaftLogTest, FindConflictByTermSkipsWholeTerms) {
  LogFixture f;
  f.log->Append(Entries({{5, 4}, {5, 5}, {5, 6}}));
  EXPECT_EQ(f.log->FindConflictByTerm(6, 4), Pair(3, 3));
  EXPECT_EQ(f.log->FindConflictByTerm(6, 2), Pair(2, 2));
  EXPECT_EQ(f.log->FindConflictByTerm(6, 5), Pair(6, 5));
  EXPECT_EQ(f.log->FindConflictByTerm(99, 5), Pair(6, 5));
  EXPECT_EQ(f.log->FindConflictByTerm(6, 0), Pair(0, 0));
}

// Slices span the persisted log and the unstable suffix, bounded by bytes but
// always with at least one entry; a compacted start is an error.
TEST(RaftLogTest, SliceSpansStorageAndUnstableWithByteBound) {
  LogFixture f;
  f.log->Append(Entries({{4, 4}, {4, 5}}));
  auto all = f.log->Slice(2, 6, 1 << 20);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].index(), 2u);
  EXPECT_EQ((*all)[3].index(), 5u);

  auto one = f.log->Slice(2, 6, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u) << "at least one entry even over the bound";

  auto two = f.log->Slice(2, 6, 2 * EntryBytes(Entry()));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);

  ASSERT_TRUE(f.storage.CreateSnapshot(2, ConfState(), "").ok());
  ASSERT_TRUE(f.storage.Compact(2).ok());
  EXPECT_TRUE(IsCompacted(f.log->Slice(1, 3, 1 << 20).status()));
}

// Committed entries are handed out once, from applied + 1 to commit.
TEST(RaftLogTest, NextCommittedEntriesAreHandedOutOnce) {
  LogFixture f;
  f.log->CommitTo(2);
  EXPECT_TRUE(f.log->HasNextCommittedEntries());
  auto first = f.log->NextCommittedEntries();
  ASSERT_EQ(first.size(), 2u);
  f.log->AppliedTo(2);
  EXPECT_FALSE(f.log->HasNextCommittedEntries());
  f.log->CommitTo(3);
  auto second = f.log->NextCommittedEntries();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].index(), 3u);
}

// Entries persisted under an older term are not marked stable when a newer
// leader replaced them after the Ready was taken.
TEST(RaftLogTest, StableToIgnoresReplacedEntries) {
  LogFixture f;
  f.log->Append(Entries({{4, 4}, {4, 5}}));
  f.log->StableTo(5, 3);  // Wrong term: not ours.
  EXPECT_EQ(f.log->PersistedLastIndex(), 3u);
  f.log->StableTo(5, 4);
  EXPECT_EQ(f.log->PersistedLastIndex(), 5u);
}

using testing::WithData;

// Persists what the log holds unstable, as a caller following ready.h does.
void Persist(LogFixture& f) {
  const std::vector<Entry>& unstable = f.log->unstable().entries();
  ASSERT_FALSE(unstable.empty());
  f.storage.Append(unstable);
  f.log->StableTo(unstable.back().index(), unstable.back().term());
}

// Entries kept after they were persisted are handed out for apply exactly as
// the log holds them, in order and within the byte bound.
TEST(RaftLogTest, PersistedEntriesAreHandedOutAsStored) {
  LogFixture f;
  f.log = std::make_unique<RaftLog>(&f.storage, 2 * EntryBytes(WithData(4, 4, "a")));
  f.log->CommitTo(3);
  f.log->AppliedTo(3);
  f.log->Append({WithData(4, 4, "a"), WithData(4, 5, "b"), WithData(4, 6, "c")});
  Persist(f);
  f.log->CommitTo(6);
  std::vector<Entry> first = f.log->NextCommittedEntries();
  ASSERT_EQ(first.size(), 2u) << "bounded by max_committed_bytes_per_ready";
  EXPECT_EQ(first[0].data(), "a");
  EXPECT_EQ(first[1].data(), "b");
  f.log->AppliedTo(5);
  std::vector<Entry> second = f.log->NextCommittedEntries();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].index(), 6u);
  EXPECT_EQ(second[0].data(), "c");
}

// Raft paper §5.3: a follower replaces a conflicting uncommitted suffix even
// after persisting it; what it later applies is the replacement.
TEST(RaftLogTest, ReplacedPersistedEntriesAreNotHandedOut) {
  LogFixture f;
  f.log->CommitTo(3);
  f.log->AppliedTo(3);
  ASSERT_TRUE(f.log->MaybeAppend(3, 3, 3, {WithData(4, 4, "old4"), WithData(4, 5, "old5")}));
  Persist(f);
  ASSERT_TRUE(f.log->MaybeAppend(4, 4, 3, {WithData(5, 5, "new5")}));
  Persist(f);
  f.log->CommitTo(5);
  std::vector<Entry> committed = f.log->NextCommittedEntries();
  ASSERT_EQ(committed.size(), 2u);
  EXPECT_EQ(committed[0].data(), "old4");
  EXPECT_EQ(committed[1].term(), 5u);
  EXPECT_EQ(committed[1].data(), "new5");
}

}  // namespace
}  // namespace rkv::raft
