// When a failed attempt may be retried, and how long to wait first. These are
// the client's safety rules: a read may be repeated at will; a write is
// repeated only when it certainly never reached Raft (the server said
// ErrorDetail.not_proposed, or the client never sent it because it had no
// connection). Any other failure of a write that the server did not plainly
// refuse has an unknown outcome and goes back to the caller (errors.h).
// Pure functions and a value type; Backoff is not thread-safe (one per call).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/options.h"

namespace rkv::client {

// A read has no effect (Get, Range, a Txn without put or delete, listings);
// a write may have one (Put, Delete, Txn with put or delete, leader transfer).
enum class OpKind { kRead, kWrite };

enum class Verdict {
  // Try again (after a backoff, within the deadline and the attempt budget).
  kRetry,
  // Return the status to the caller as it is.
  kFail,
  // Return "outcome unknown" to the caller; never retry.
  kIndeterminate,
};

// What one failed attempt was.
struct AttemptFailure {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  // The server's ErrorDetail said the request was never proposed.
  bool not_proposed = false;
  // False when the client never sent the request (no connection to the node).
  bool sent = true;
};

// REQUIRES: failure.code != kOk.
Verdict Classify(OpKind kind, const AttemptFailure& failure);

// Delays between attempts: initial, then times multiplier, capped at max;
// each shortened by a random fraction in [0, jitter) from a seeded generator.
class Backoff final {
 public:
  Backoff(const RetryOptions& options, uint64_t seed);

  // The delay before the next attempt.
  absl::Duration Next();

 private:
  uint64_t NextRandom();

  absl::Duration max_;
  double multiplier_;
  double jitter_;
  absl::Duration current_;
  uint64_t state_;
};

}  // namespace rkv::client
