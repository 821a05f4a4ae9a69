#include "raft/config.h"

#include "absl/strings/str_cat.h"

namespace rkv::raft {

absl::Status Config::Validate() const {
  if (id == kNoNode) return absl::InvalidArgumentError("node id must not be 0");
  if (heartbeat_ticks <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("heartbeat_ticks is ", heartbeat_ticks, "; it must be positive"));
  }
  if (election_ticks <= heartbeat_ticks) {
    return absl::InvalidArgumentError(absl::StrCat("election_ticks (", election_ticks,
                                                   ") must be larger than heartbeat_ticks (",
                                                   heartbeat_ticks, ")"));
  }
  if (max_inflight_msgs == 0) return absl::InvalidArgumentError("max_inflight_msgs must be positive");
  if (max_msg_bytes == 0) return absl::InvalidArgumentError("max_msg_bytes must be positive");
  if (max_proposal_entries == 0) {
    return absl::InvalidArgumentError("max_proposal_entries must be positive");
  }
  if (max_inflight_bytes != 0 && max_inflight_bytes < max_msg_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("max_inflight_bytes (", max_inflight_bytes,
                                                   ") must be at least max_msg_bytes (",
                                                   max_msg_bytes, ")"));
  }
  if (read_only == ReadOnlyOption::kLeaseBased && !check_quorum) {
    return absl::InvalidArgumentError(
        "lease-based reads require check_quorum: without it an isolated leader keeps its lease");
  }
  return absl::OkStatus();
}

}  // namespace rkv::raft
