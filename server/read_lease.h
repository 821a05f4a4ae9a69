// ReadLease: a leader's read lease on one partition (Raft thesis §6.4.1).
// When a quorum acknowledges heartbeats the leader sent at time T, no other
// leader can be elected before T plus an election timeout: every voter that
// acknowledged ignores vote requests for that long after hearing from the
// leader (check-quorum), and keeps doing so across a restart
// (raft::Config::ignore_votes_at_start). Until then the leader's commit
// index is a valid ReadIndex without a round of heartbeats, so a
// linearizable read that finds the state machine caught up runs at once.
//
// The driver thread starts rounds, confirms them and revokes the lease;
// Covers() may be called from any thread. The lease is measured on
// CLOCK_BOOTTIME, which keeps counting while the machine is suspended.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace rkv::server {

class ReadLease final {
 public:
  // A lease lasts `duration_ns` from the start of the round that confirmed
  // it; 0 disables it.
  explicit ReadLease(int64_t duration_ns) : duration_ns_(duration_ns) {}
  ReadLease(const ReadLease&) = delete;
  ReadLease& operator=(const ReadLease&) = delete;

  // Now, in nanoseconds on the lease's clock.
  static int64_t Now();

  // Any thread: whether the lease holds now. The clock is read after the
  // lease, so a revocation ordered before this call is always seen.
  bool Covers() const;
  // Any thread: notes that a read relied on the lease, so the driver renews it.
  void MarkUsed() {
    if (!used_.load(std::memory_order_relaxed)) used_.store(true, std::memory_order_relaxed);
  }

  // Driver thread. A round of heartbeats (a ReadIndex request with this
  // context) started at `now` in `term`.
  void StartRound(const std::string& context, uint64_t term, int64_t now);
  // The round's ReadIndex was answered: a quorum acknowledged heartbeats
  // sent after its start. Extends the lease unless it was revoked since the
  // round started. Returns whether it extended it.
  bool Confirm(const std::string& context);
  // Ends the lease and forgets every round in flight: the node stops leading,
  // changes term or changes membership. `term` is the current term.
  // REQUIRES: called before any message of that change is sent.
  void Revoke(uint64_t term);
  // Revokes the lease for the rest of `term`: the node sends a TimeoutNow,
  // which lets its target be elected whatever the voters promised, and which
  // may arrive any time later in the term, even after the transfer was
  // abandoned.
  void RevokeForTerm(uint64_t term);
  // The term the lease belongs to (the term at the last revocation).
  uint64_t term() const { return term_; }
  // Whether to start a round that renews the lease now: a read used the
  // lease since the last renewal, it ends within half a lease, and no round
  // started within `retry_ns` (one lost with its messages is retried).
  bool RenewalDue(int64_t now, int64_t retry_ns);
  bool enabled() const { return duration_ns_ > 0; }

 private:
  struct Round {
    uint64_t term = 0;
    uint64_t epoch = 0;
    int64_t started = 0;
  };

  const int64_t duration_ns_;
  // 0 when revoked or never confirmed.
  std::atomic<int64_t> expiry_{0};
  std::atomic<bool> used_{false};
  // Driver thread only. The epoch counts revocations, so a round started
  // before one never extends the lease after it.
  uint64_t term_ = 0;
  uint64_t epoch_ = 0;
  // The term in which a TimeoutNow went out; no lease holds in it.
  uint64_t forbidden_term_ = 0;
  int64_t last_round_started_ = 0;
  // Rounds not yet confirmed, by context. Bounded: see kMaxRounds.
  std::map<std::string, Round> rounds_;
};

}  // namespace rkv::server
