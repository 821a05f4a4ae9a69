#include "client/retry.h"

#include <algorithm>

namespace rkv::client {
namespace {

// Codes with which a server refuses a request before acting on it: the write
// certainly did not happen, so the caller gets the status unchanged.
bool IsDefiniteRefusal(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

}  // namespace

Verdict Classify(OpKind kind, const AttemptFailure& failure) {
  if (!failure.sent) return Verdict::kRetry;
  if (kind == OpKind::kRead) {
    // A read attempt that ran out of its own time slice is retried; the call
    // checks its overall deadline before trying again.
    if (failure.code == absl::StatusCode::kUnavailable ||
        failure.code == absl::StatusCode::kDeadlineExceeded) {
      return Verdict::kRetry;
    }
    return Verdict::kFail;
  }
  if (failure.code == absl::StatusCode::kUnavailable && failure.not_proposed) {
    return Verdict::kRetry;
  }
  if (IsDefiniteRefusal(failure.code)) return Verdict::kFail;
  // UNAVAILABLE without not_proposed, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN,
  // INTERNAL, DATA_LOSS: the request may have been proposed and applied.
  return Verdict::kIndeterminate;
}

Backoff::Backoff(const RetryOptions& options, uint64_t seed)
    : max_(options.max_backoff),
      multiplier_(options.backoff_multiplier),
      jitter_(options.jitter),
      current_(options.initial_backoff),
      state_(seed) {}

absl::Duration Backoff::Next() {
  const absl::Duration base = current_;
  current_ = std::min(max_, current_ * multiplier_);
  // 53 random bits make a uniform double in [0, 1).
  const double unit = static_cast<double>(NextRandom() >> 11) * 0x1.0p-53;
  return base * (1.0 - jitter_ * unit);
}

uint64_t Backoff::NextRandom() {
  // SplitMix64: small, seeded, identical on every platform.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace rkv::client
