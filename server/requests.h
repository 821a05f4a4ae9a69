// What client requests wait for inside a node: a proposal's applied result,
// or the moment a linearizable read may run. Each completion is called exactly
// once, on the driver or apply thread, or for a read that a leader's lease
// covers, on the caller's thread before Driver::Read returns; it must not block.
#pragma once

#include <cstdint>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/steady_mutex.h"
#include "storage/state_machine.h"

namespace rkv::server {

// Receives the result of applying the proposed entry, or an error: UNAVAILABLE
// with not_proposed when it never entered the log (or was replaced and can
// never apply), DEADLINE_EXCEEDED with "outcome unknown" when time ran out.
using ProposalDone = absl::AnyInvocable<void(absl::StatusOr<storage::EntryResult>) &&>;
// Receives OK once the state machine has applied everything committed before
// the read was asked (ReadIndex, thesis §6.4), else why not.
using ReadDone = absl::AnyInvocable<void(absl::Status) &&>;

struct PendingProposal {
  uint64_t term = 0;
  SteadyClock::time_point deadline;
  ProposalDone done;
};

struct PendingRead {
  uint64_t index = 0;  // filled when the read state arrives
  SteadyClock::time_point deadline;
  ReadDone done;
};

}  // namespace rkv::server
