#include "raft/memory_log.h"

#include <vector>

#include "gtest/gtest.h"

namespace rkv::raft {
namespace {

Entry At(uint64_t term, uint64_t index) {
  Entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_data("x");
  return e;
}

// The LogReader contract (log_reader.h): bounds, compaction, conflicts.
TEST(MemoryLogTest, AppendReplacesConflictingTailAndCompactKeepsTheBoundaryTerm) {
  MemoryLog log;
  EXPECT_EQ(log.FirstIndex(), 1u);
  EXPECT_EQ(log.LastIndex(), 0u);
  log.Append({At(1, 1), At(1, 2), At(2, 3)});
  log.Append({At(3, 2)});
  EXPECT_EQ(log.LastIndex(), 2u);
  EXPECT_EQ(*log.Term(2), 3u);

  log.Append({At(3, 3), At(3, 4)});
  ASSERT_TRUE(log.CreateSnapshot(3, ConfState(), "state").ok());
  ASSERT_TRUE(log.Compact(3).ok());
  EXPECT_EQ(log.FirstIndex(), 4u);
  EXPECT_EQ(*log.Term(3), 3u) << "the snapshot's term stays readable";
  EXPECT_TRUE(IsCompacted(log.Term(2).status()));
  EXPECT_TRUE(IsCompacted(log.Entries(3, 5, 100).status()));
  EXPECT_TRUE(IsUnavailableIndex(log.Term(9).status()));
  EXPECT_TRUE(IsUnavailableIndex(log.Entries(4, 9, 100).status()));
  EXPECT_EQ(log.Compact(3).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log.GetSnapshot()->metadata().index(), 3u);
}

TEST(MemoryLogTest, ApplySnapshotReplacesTheLogAndRefusesOlderOnes) {
  MemoryLog log;
  log.Append({At(1, 1), At(1, 2)});
  Snapshot s;
  s.mutable_metadata()->set_index(10);
  s.mutable_metadata()->set_term(4);
  ASSERT_TRUE(log.ApplySnapshot(s).ok());
  EXPECT_EQ(log.FirstIndex(), 11u);
  EXPECT_EQ(log.LastIndex(), 10u);
  EXPECT_EQ(*log.Term(10), 4u);
  s.mutable_metadata()->set_index(5);
  EXPECT_EQ(log.ApplySnapshot(s).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rkv::raft

namespace rkv::raft {
namespace {

// Simulator finding: the membership a restart loads (as of the applied
// index) is not the held snapshot's, which stays as of its own index.
TEST(MemoryLogTest, LaterMembershipDoesNotRewriteTheSnapshot) {
  MemoryLog log;
  log.Append({At(1, 1), At(1, 2), At(1, 3)});
  ConfState joint;
  joint.add_voters(1);
  joint.add_voters_outgoing(1);
  joint.add_voters_outgoing(2);
  ASSERT_TRUE(log.CreateSnapshot(2, joint, "").ok());
  ConfState left;
  left.add_voters(1);
  log.SetConfState(left);
  EXPECT_EQ(log.GetSnapshot()->metadata().conf_state().voters_outgoing_size(), 2);
  EXPECT_EQ(log.LoadInitialState()->conf_state.voters_outgoing_size(), 0);
}

}  // namespace
}  // namespace rkv::raft

namespace rkv::raft {
namespace {

// Entries discarded by compaction or replaced by a conflicting append are
// reused for later appends; what is read back is always what was appended.
TEST(MemoryLogTest, AppendAfterCompactionAndReplacementReadsBackWhatWasAppended) {
  MemoryLog log;
  std::vector<Entry> first;
  for (uint64_t i = 1; i <= 8; ++i) first.push_back(At(1, i));
  log.Append(first);
  ASSERT_TRUE(log.CreateSnapshot(6, ConfState(), "").ok());
  ASSERT_TRUE(log.Compact(6).ok());
  Entry replaced = At(2, 8);
  replaced.set_data("replaced");
  Entry empty;
  empty.set_term(2);
  empty.set_index(9);
  log.Append({replaced, empty});
  absl::StatusOr<std::vector<Entry>> entries = log.Entries(7, 10, 1 << 20);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].data(), "x");
  EXPECT_EQ((*entries)[1].data(), "replaced");
  EXPECT_EQ((*entries)[1].term(), 2u);
  EXPECT_EQ((*entries)[2].data(), "") << "an entry without data reused a buffer";
  EXPECT_EQ((*entries)[2].index(), 9u);
}

}  // namespace
}  // namespace rkv::raft
