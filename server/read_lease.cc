#include "server/read_lease.h"

#include <time.h>

#include "raft/check.h"
#include "server/failpoint.h"

namespace rkv::server {
namespace {

// Rounds whose answer never came (lost with a connection) are forgotten
// past this many; forgetting one only loses an extension.
constexpr size_t kMaxRounds = 64;

}  // namespace

int64_t ReadLease::Now() {
  timespec ts;
  RKV_CHECK(clock_gettime(CLOCK_BOOTTIME, &ts) == 0);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool ReadLease::Covers() const {
  const int64_t expiry = expiry_.load(std::memory_order_seq_cst);
  if (RKV_BUG("endless-lease")) return expiry != 0;  // the bug: a lease, once held, never ends
  return expiry != 0 && Now() < expiry;
}

void ReadLease::StartRound(const std::string& context, uint64_t term, int64_t now) {
  if (!enabled()) return;
  if (rounds_.size() >= kMaxRounds) rounds_.clear();
  rounds_[context] = Round{term, epoch_, now};
  last_round_started_ = now;
}

bool ReadLease::Confirm(const std::string& context) {
  auto it = rounds_.find(context);
  if (it == rounds_.end()) return false;
  const Round round = it->second;
  // The answer confirms every round started before this one too.
  std::erase_if(rounds_, [&](const auto& entry) { return entry.second.started <= round.started; });
  if (round.epoch != epoch_ || round.term != term_ || round.term == forbidden_term_) return false;
  const int64_t expiry = round.started + duration_ns_;
  if (expiry <= expiry_.load(std::memory_order_relaxed)) return false;
  expiry_.store(expiry, std::memory_order_seq_cst);
  return true;
}

void ReadLease::Revoke(uint64_t term) {
  if (!RKV_BUG("endless-lease")) expiry_.store(0, std::memory_order_seq_cst);
  term_ = term;
  ++epoch_;
  rounds_.clear();
}

void ReadLease::RevokeForTerm(uint64_t term) {
  Revoke(term);
  forbidden_term_ = term;
}

bool ReadLease::RenewalDue(int64_t now, int64_t retry_ns) {
  if (!enabled() || !used_.load(std::memory_order_relaxed)) return false;
  if (expiry_.load(std::memory_order_relaxed) - now > duration_ns_ / 2) return false;
  if (last_round_started_ != 0 && now - last_round_started_ < retry_ns) return false;
  used_.store(false, std::memory_order_relaxed);
  return true;
}

}  // namespace rkv::server
