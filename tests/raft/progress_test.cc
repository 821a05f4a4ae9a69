#include "raft/progress.h"

#include <vector>

#include "gtest/gtest.h"

namespace rkv::raft {
namespace {

// Raft paper §5.3: on rejection the leader decrements nextIndex; rkv jumps to
// the follower's hint. Stale rejections must not move it.
TEST(ProgressTest, MaybeDecrToHonoursStateAndIgnoresStaleRejections) {
  struct Case {
    ProgressState state;
    uint64_t match, next, rejected, hint;
    bool want_ok;
    uint64_t want_next;
  };
  const std::vector<Case> cases = {
      // Replicate: a rejection at or below match is stale.
      {ProgressState::kReplicate, 5, 10, 5, 5, false, 10},
      {ProgressState::kReplicate, 5, 10, 4, 4, false, 10},
      // Replicate: a newer rejection restarts from match + 1.
      {ProgressState::kReplicate, 5, 10, 9, 9, true, 6},
      // Probe: only a rejection of next - 1 counts.
      {ProgressState::kProbe, 0, 10, 5, 5, false, 10},
      {ProgressState::kProbe, 0, 10, 9, 9, true, 9},
      // Probe: the hint jumps further back, but never below match + 1.
      {ProgressState::kProbe, 0, 10, 9, 2, true, 3},
      {ProgressState::kProbe, 4, 10, 9, 1, true, 5},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    Progress pr(c.next, 16, 0);
    // With next > match, MaybeUpdate leaves next as the case gives it.
    if (c.match > 0) pr.MaybeUpdate(c.match);
    if (c.state == ProgressState::kReplicate) {
      // BecomeReplicate restarts from match + 1; sending reaches the case's next.
      pr.BecomeReplicate();
      pr.SentEntries(c.next - pr.next(), 0);
    }
    ASSERT_EQ(pr.next(), c.next) << "case " << i;
    EXPECT_EQ(pr.MaybeDecrTo(c.rejected, c.hint), c.want_ok) << "case " << i;
    EXPECT_EQ(pr.next(), c.want_next) << "case " << i;
  }
}

TEST(ProgressTest, PausedByStateProbeSentWindowOrSnapshot) {
  Progress probe(1, 2, 0);
  EXPECT_FALSE(probe.IsPaused());
  probe.SentEntries(1, 10);
  EXPECT_TRUE(probe.IsPaused()) << "one probe at a time";
  probe.ResumeProbe();
  EXPECT_FALSE(probe.IsPaused());

  Progress replicate(1, 2, 0);
  replicate.BecomeReplicate();
  replicate.SentEntries(1, 1);
  EXPECT_FALSE(replicate.IsPaused());
  replicate.SentEntries(1, 1);
  EXPECT_TRUE(replicate.IsPaused()) << "the inflight window is full";
  replicate.MaybeUpdate(1);
  replicate.FreeInflightsUpTo(1);
  EXPECT_FALSE(replicate.IsPaused());

  Progress snapshot(1, 2, 0);
  snapshot.BecomeSnapshot(50);
  EXPECT_TRUE(snapshot.IsPaused());
}

// After a snapshot succeeded the follower holds at least its index, so probing
// resumes after it; after a failure it resumes from match.
TEST(ProgressTest, SnapshotDoneResumesProbingAfterTheSnapshot) {
  Progress ok(1, 4, 0);
  ok.BecomeSnapshot(50);
  ok.OnSnapshotDone(true);
  EXPECT_EQ(ok.state(), ProgressState::kProbe);
  EXPECT_EQ(ok.next(), 51u);
  EXPECT_TRUE(ok.IsPaused()) << "waits for the follower's answer";

  Progress failed(1, 4, 0);
  failed.MaybeUpdate(7);
  failed.BecomeSnapshot(50);
  failed.OnSnapshotDone(false);
  EXPECT_EQ(failed.next(), 8u);
}

}  // namespace
}  // namespace rkv::raft
