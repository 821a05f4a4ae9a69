#include "server/read_lease.h"

#include <string>

#include "gtest/gtest.h"

namespace rkv::server {
namespace {

constexpr int64_t kHour = 3600LL * 1'000'000'000;

// Starts a round at `started` and returns whether its answer extended the lease.
bool ConfirmRound(ReadLease& lease, const std::string& context, uint64_t term, int64_t started) {
  lease.StartRound(context, term, started);
  return lease.Confirm(context);
}

TEST(ReadLeaseTest, ConfirmedRoundCoversUntilItsStartPlusTheDuration) {
  ReadLease lease(kHour);
  lease.Revoke(/*term=*/5);
  EXPECT_FALSE(lease.Covers()) << "no round confirmed yet";
  lease.StartRound("1.1", 5, ReadLease::Now());
  EXPECT_FALSE(lease.Covers()) << "started, not confirmed";
  EXPECT_TRUE(lease.Confirm("1.1"));
  EXPECT_TRUE(lease.Covers());
  EXPECT_FALSE(lease.Confirm("1.1")) << "each round confirms once";
}

TEST(ReadLeaseTest, LeaseRunsFromTheRoundsStartNotItsConfirmation) {
  ReadLease lease(kHour);
  lease.Revoke(5);
  lease.StartRound("1.1", 5, ReadLease::Now() - kHour);
  lease.Confirm("1.1");
  EXPECT_FALSE(lease.Covers()) << "a round started an hour ago gives nothing now";
}

TEST(ReadLeaseTest, RevocationEndsTheLeaseAndVoidsRoundsStartedBeforeIt) {
  ReadLease lease(kHour);
  lease.Revoke(5);
  lease.StartRound("1.1", 5, ReadLease::Now());
  lease.StartRound("1.2", 5, ReadLease::Now());
  ASSERT_TRUE(lease.Confirm("1.1"));
  // A membership change applies: the lease's quorum was one of the old one.
  lease.Revoke(5);
  EXPECT_FALSE(lease.Covers());
  EXPECT_FALSE(lease.Confirm("1.2")) << "started before the revocation";
  EXPECT_FALSE(lease.Covers());
  EXPECT_TRUE(ConfirmRound(lease, "1.3", 5, ReadLease::Now()));
  EXPECT_TRUE(lease.Covers());
}

// A TimeoutNow may reach its target long after the transfer was abandoned,
// and its target is then elected whatever the voters promised.
TEST(ReadLeaseTest, AfterATimeoutNowNoRoundOfTheTermExtendsIt) {
  ReadLease lease(kHour);
  lease.Revoke(5);
  ASSERT_TRUE(ConfirmRound(lease, "1.1", 5, ReadLease::Now()));
  lease.RevokeForTerm(5);
  EXPECT_FALSE(lease.Covers());
  lease.Revoke(5);  // the transfer was abandoned
  EXPECT_FALSE(ConfirmRound(lease, "1.2", 5, ReadLease::Now()));
  EXPECT_FALSE(lease.Covers());
  lease.Revoke(6);  // a new term: a new leadership
  EXPECT_TRUE(ConfirmRound(lease, "1.3", 6, ReadLease::Now()));
  EXPECT_TRUE(lease.Covers());
}

TEST(ReadLeaseTest, RoundsOfAnotherTermNeverExtendIt) {
  ReadLease lease(kHour);
  lease.Revoke(5);
  EXPECT_FALSE(ConfirmRound(lease, "1.1", 4, ReadLease::Now()));
  EXPECT_FALSE(lease.Covers());
}

TEST(ReadLeaseTest, ConfirmingARoundForgetsTheOlderOnes) {
  ReadLease lease(kHour);
  lease.Revoke(5);
  const int64_t now = ReadLease::Now();
  lease.StartRound("1.1", 5, now - 2);
  ASSERT_TRUE(ConfirmRound(lease, "1.2", 5, now - 1));
  EXPECT_FALSE(lease.Confirm("1.1")) << "the newer round's answer covered it";
}

TEST(ReadLeaseTest, AnOlderRoundNeverShortensIt) {
  ReadLease lease(kHour);
  lease.Revoke(5);
  const int64_t now = ReadLease::Now();
  ASSERT_TRUE(ConfirmRound(lease, "1.1", 5, now));
  EXPECT_FALSE(ConfirmRound(lease, "1.0", 5, now - kHour / 2));
  EXPECT_TRUE(lease.Covers());
}

TEST(ReadLeaseTest, DisabledLeaseNeverCovers) {
  ReadLease lease(0);
  EXPECT_FALSE(lease.enabled());
  lease.Revoke(5);
  EXPECT_FALSE(ConfirmRound(lease, "1.1", 5, ReadLease::Now()));
  EXPECT_FALSE(lease.Covers());
  lease.MarkUsed();
  EXPECT_FALSE(lease.RenewalDue(ReadLease::Now(), 0));
}

TEST(ReadLeaseTest, RenewalIsDueWhenUsedAndHalfGoneAndNoRoundIsRecent) {
  const int64_t duration = 1'000'000'000;  // 1 s
  const int64_t retry = 100'000'000;       // 100 ms
  ReadLease lease(duration);
  lease.Revoke(5);
  const int64_t start = ReadLease::Now();
  ASSERT_TRUE(ConfirmRound(lease, "1.1", 5, start));
  EXPECT_FALSE(lease.RenewalDue(start + duration * 3 / 4, retry)) << "not used";
  lease.MarkUsed();
  EXPECT_FALSE(lease.RenewalDue(start + duration / 4, retry)) << "three quarters left";
  EXPECT_TRUE(lease.RenewalDue(start + duration * 3 / 4, retry));
  EXPECT_FALSE(lease.RenewalDue(start + duration * 3 / 4, retry)) << "use is counted once";
  lease.MarkUsed();
  lease.StartRound("1.2", 5, start + duration * 3 / 4);
  EXPECT_FALSE(lease.RenewalDue(start + duration * 3 / 4 + retry / 2, retry)) << "a round is in flight";
  EXPECT_TRUE(lease.RenewalDue(start + duration * 3 / 4 + retry, retry)) << "retried once it is overdue";
}

}  // namespace
}  // namespace rkv::server
