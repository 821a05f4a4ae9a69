// Validation of state-machine commands (proto/rkv/internal/command.proto)
// before any of their effects are applied, so a bad command changes nothing.
// The same checks run on every replica against the same limits, so every
// replica rejects the same commands. Thread-safe (pure functions).
#pragma once

#include "absl/status/status.h"
#include "rkv/internal/command.pb.h"
#include "storage/limits.h"

namespace rkv::storage {

// Returns INVALID_ARGUMENT (lower case, naming the op and the limit) for a
// command with no known type, an empty or oversized key, an oversized value,
// a range end that sorts before its key, a compare whose operand does not
// match its target or whose result is unknown, a txn op of unknown type, or
// RESOURCE_EXHAUSTED for more compares or ops than the limits allow.
absl::Status ValidateCommand(const rkv::internal::Command& command,
                             const StateMachineLimits& limits);

}  // namespace rkv::storage
