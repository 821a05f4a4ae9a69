#include "server/replica.h"

#include "absl/strings/str_cat.h"

namespace rkv::server {

absl::Status Replica::StartRaft(raft::Config config) {
  config.logger = logger_.get();
  config.applied = state_machine_->applied_index();
  absl::StatusOr<std::unique_ptr<raft::RawNode>> raw = raft::RawNode::Create(config, log_store_.get());
  if (!raw.ok()) {
    return absl::Status(raw.status().code(), absl::StrCat("partition ", partition_id_, ": ",
                                                          raw.status().message()));
  }
  raw_ = std::move(*raw);
  applied_index_ = config.applied;
  conf_history_[applied_index_] = state_machine_->conf_state();
  return absl::OkStatus();
}

}  // namespace rkv::server
