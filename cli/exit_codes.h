// rkvctl's exit codes, which scripts may rely on, and the mapping from a
// Status to one. Stateless; thread-safe.
#pragma once

#include "absl/status/status.h"

namespace rkv::cli {

enum ExitCode : int {
  kExitOk = 0,
  // The cluster refused or failed the request (INVALID_ARGUMENT,
  // FAILED_PRECONDITION, RESOURCE_EXHAUSTED, ...); bench: some operations
  // failed.
  kExitError = 1,
  // Bad command line or txn syntax; nothing was sent.
  kExitUsage = 2,
  // get: the key does not exist.
  kExitNotFound = 3,
  // txn: the compares did not hold; the else branch ran.
  kExitTxnFailed = 4,
  // No node answered in time (UNAVAILABLE, DEADLINE_EXCEEDED); a write that
  // ends so was not applied. Worth retrying later.
  kExitUnavailable = 5,
  // A write's outcome is unknown: it may or may not have been applied.
  kExitOutcomeUnknown = 6,
  // cluster status: a partition has no leader; endpoint health: a node is
  // unhealthy or unreachable.
  kExitUnhealthy = 7,
};

ExitCode ExitCodeFor(const absl::Status& status);

}  // namespace rkv::cli
