// The effect of each state-machine operation (Put, Delete, DeleteRange,
// Range, Txn) on an ApplyView, and the result it returns. Expiry is decided
// against the command's now_unix_ms, so every replica decides alike; an
// expired key reads as absent and is physically removed by the next Delete or
// DeleteRange that covers it. Not thread-safe; used by StateMachine on the
// apply thread (and for reads on a read-only view).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "rkv/internal/command.pb.h"
#include "storage/apply_view.h"
#include "storage/limits.h"

namespace rkv::storage {

struct OpContext {
  ApplyView& view;
  const StateMachineLimits& limits;
  uint64_t partition_id;
  // The entry's raft index: the revision of every change it makes.
  uint64_t revision;
  uint64_t now_unix_ms;
};

// Whether an ExecuteCommand error rejects the command (the caller rolls the
// view back and reports it) rather than failing the whole apply.
bool IsRejection(const absl::Status& status);

// Runs a validated command (storage/command.h) and fills result's oneof.
absl::Status ExecuteCommand(const OpContext& context, const rkv::internal::Command& command,
                            rkv::internal::CommandResult* result);

// Runs a validated range read.
absl::Status ExecuteRange(const OpContext& context, const rkv::internal::RangeOp& range,
                          rkv::internal::RangeResult* result);

}  // namespace rkv::storage
