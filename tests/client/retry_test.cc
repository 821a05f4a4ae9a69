#include "client/retry.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "gtest/gtest.h"

namespace rkv::client {
namespace {

using Code = absl::StatusCode;

struct ClassifyCase {
  OpKind kind;
  Code code;
  bool not_proposed;
  bool sent;
  Verdict want;
};

// Issue #4 retry rules: reads retry UNAVAILABLE (and their own attempt
// timeouts); writes retry only what certainly never reached Raft; any other
// write failure that is not a plain refusal has an unknown outcome.
TEST(ClassifyTest, ReadsRetryAndWritesRetryOnlyWhenNeverProposed) {
  const OpKind R = OpKind::kRead;
  const OpKind W = OpKind::kWrite;
  const std::vector<ClassifyCase> cases = {
      {R, Code::kUnavailable, false, true, Verdict::kRetry},
      {R, Code::kUnavailable, true, true, Verdict::kRetry},
      {R, Code::kDeadlineExceeded, false, true, Verdict::kRetry},
      {R, Code::kUnavailable, false, false, Verdict::kRetry},
      {R, Code::kInvalidArgument, false, true, Verdict::kFail},
      {R, Code::kResourceExhausted, false, true, Verdict::kFail},
      {R, Code::kFailedPrecondition, false, true, Verdict::kFail},
      {R, Code::kOutOfRange, false, true, Verdict::kFail},
      {R, Code::kInternal, false, true, Verdict::kFail},
      {R, Code::kUnknown, false, true, Verdict::kFail},
      {W, Code::kUnavailable, true, true, Verdict::kRetry},
      {W, Code::kUnavailable, false, false, Verdict::kRetry},
      {W, Code::kDeadlineExceeded, false, false, Verdict::kRetry},
      {W, Code::kUnavailable, false, true, Verdict::kIndeterminate},
      {W, Code::kDeadlineExceeded, false, true, Verdict::kIndeterminate},
      {W, Code::kDeadlineExceeded, true, true, Verdict::kIndeterminate},
      {W, Code::kCancelled, false, true, Verdict::kIndeterminate},
      {W, Code::kUnknown, false, true, Verdict::kIndeterminate},
      {W, Code::kInternal, false, true, Verdict::kIndeterminate},
      {W, Code::kDataLoss, false, true, Verdict::kIndeterminate},
      {W, Code::kInvalidArgument, false, true, Verdict::kFail},
      {W, Code::kResourceExhausted, false, true, Verdict::kFail},
      {W, Code::kResourceExhausted, true, true, Verdict::kFail},
      {W, Code::kFailedPrecondition, false, true, Verdict::kFail},
      {W, Code::kOutOfRange, false, true, Verdict::kFail},
      {W, Code::kAborted, false, true, Verdict::kFail},
      {W, Code::kUnimplemented, false, true, Verdict::kFail},
  };
  for (const ClassifyCase& c : cases) {
    AttemptFailure failure;
    failure.code = c.code;
    failure.not_proposed = c.not_proposed;
    failure.sent = c.sent;
    EXPECT_EQ(Classify(c.kind, failure), c.want)
        << (c.kind == R ? "read " : "write ") << absl::StatusCodeToString(c.code)
        << " not_proposed=" << c.not_proposed << " sent=" << c.sent;
  }
}

// Issue #4: an indeterminate write has its own status, distinct from every
// other failure.
TEST(ErrorsTest, OutcomeUnknownIsRecognisedAndNothingElseIs) {
  const absl::Status unknown = OutcomeUnknownError("put of key \"k\" timed out");
  EXPECT_TRUE(IsIndeterminate(unknown));
  EXPECT_EQ(unknown.code(), Code::kUnknown);
  EXPECT_EQ(unknown.message(), "outcome unknown: put of key \"k\" timed out");
  EXPECT_FALSE(IsIndeterminate(absl::OkStatus()));
  EXPECT_FALSE(IsIndeterminate(absl::UnknownError("something else")));
  EXPECT_FALSE(IsIndeterminate(absl::DeadlineExceededError("outcome unknown: wrong code")));
  EXPECT_FALSE(IsIndeterminate(absl::UnavailableError("no leader")));
}

RetryOptions Retry(absl::Duration initial, absl::Duration max, double multiplier, double jitter) {
  RetryOptions options;
  options.initial_backoff = initial;
  options.max_backoff = max;
  options.backoff_multiplier = multiplier;
  options.jitter = jitter;
  return options;
}

// Without jitter the delays are initial * multiplier^n, capped at max.
TEST(BackoffTest, GrowsByMultiplierUpToMax) {
  Backoff backoff(Retry(absl::Milliseconds(10), absl::Milliseconds(50), 2.0, 0.0), 1);
  const std::vector<absl::Duration> want = {absl::Milliseconds(10), absl::Milliseconds(20),
                                            absl::Milliseconds(40), absl::Milliseconds(50),
                                            absl::Milliseconds(50)};
  for (absl::Duration d : want) EXPECT_EQ(backoff.Next(), d);
}

// Jitter only shortens a delay, by less than the jitter fraction, and the
// same seed gives the same delays (runs repeat).
TEST(BackoffTest, JitterIsBoundedAndSeeded) {
  const RetryOptions options = Retry(absl::Milliseconds(100), absl::Milliseconds(100), 2.0, 0.5);
  Backoff a(options, 42);
  Backoff b(options, 42);
  Backoff c(options, 43);
  bool any_differs = false;
  for (int i = 0; i < 100; ++i) {
    const absl::Duration da = a.Next();
    EXPECT_EQ(da, b.Next());
    EXPECT_LE(da, absl::Milliseconds(100));
    EXPECT_GT(da, absl::Milliseconds(50));
    if (da != c.Next()) any_differs = true;
  }
  EXPECT_TRUE(any_differs);
}

}  // namespace
}  // namespace rkv::client
