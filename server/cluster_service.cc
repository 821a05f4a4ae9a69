#include "server/cluster_service.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/convert.h"
#include "server/grpc_status.h"
#include "server/logging.h"
#include "server/meta.h"
#include "spdlog/spdlog.h"
#include "storage/checksum.h"
#include "storage/snapshot.h"

namespace rkv::server {
namespace {

namespace pb = rkv::internal;

v1::ReplicaStatus::Role ToRole(raft::Role role) {
  switch (role) {
    case raft::Role::kLeader:
      return v1::ReplicaStatus::LEADER;
    case raft::Role::kCandidate:
    case raft::Role::kPreCandidate:
      return v1::ReplicaStatus::CANDIDATE;
    case raft::Role::kFollower:
      return v1::ReplicaStatus::FOLLOWER;
  }
  return v1::ReplicaStatus::ROLE_UNSPECIFIED;
}

bool IsLearner(const raft::ConfState& cs, uint64_t id) {
  for (uint64_t learner : cs.learners()) {
    if (learner == id) return true;
  }
  return false;
}

}  // namespace

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const v1::MemberListRequest* /*request*/,
                                                     v1::MemberListResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto from_layout = [this, response, reactor] {
    for (const auto& [id, addresses] : ctx_.layout->members()) *response->add_members() = ToMember(id, addresses);
    ctx_.FillHeader(kMetaPartition, 0, response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  };
  Replica* meta = ctx_.Local(kMetaPartition);
  if (meta == nullptr) {
    from_layout();
    return reactor;
  }
  pb::RangeOp op;
  op.set_key(kMetaMembersPrefix);
  op.set_range_end(PrefixEnd(kMetaMembersPrefix));
  ReadPartitionLocally(ctx_, *meta, op, /*serializable=*/false, RequestDeadline(*context),
                       [this, response, reactor, context, from_layout](
                           absl::StatusOr<pb::RangeResult> range, uint64_t revision) {
                         if (!range.ok()) {
                           reactor->Finish(ToGrpcStatus(range.status(), context));
                           return;
                         }
                         // Until the meta leader recorded the layout, the flags describe it.
                         if (range->kvs_size() == 0) {
                           from_layout();
                           return;
                         }
                         absl::StatusOr<std::vector<v1::Member>> members = ParseMembers(*range);
                         if (!members.ok()) {
                           reactor->Finish(ToGrpcStatus(members.status(), context));
                           return;
                         }
                         for (v1::Member& m : *members) *response->add_members() = std::move(m);
                         ctx_.FillHeader(kMetaPartition, revision, response->mutable_header());
                         reactor->Finish(grpc::Status::OK);
                       });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::PartitionList(grpc::CallbackServerContext* context,
                                                        const v1::PartitionListRequest* /*request*/,
                                                        v1::PartitionListResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // RawNode state is read on the driver thread, its only owner.
  const bool queued = ctx_.driver->Call([this, response, reactor] {
    for (uint64_t p : ctx_.layout->AllPartitions()) {
      v1::Partition* partition = response->add_partitions();
      partition->set_id(p);
      if (p != kMetaPartition) {
        partition->set_hash_start(ctx_.partitioner->RangeOf(p).start);
        partition->set_hash_end(ctx_.partitioner->RangeOf(p).end);
      }
      Replica* local = ctx_.Local(p);
      const raft::Status status = local != nullptr ? local->raw().GetStatus() : raft::Status();
      if (local != nullptr) partition->set_leader_id(status.soft_state.leader);
      for (uint64_t member : ctx_.layout->ReplicasOf(p)) {
        v1::ReplicaStatus* replica = partition->add_replicas();
        replica->set_member_id(member);
        if (local == nullptr) continue;
        if (member == ctx_.node_id) {
          replica->set_role(IsLearner(status.conf_state, member) ? v1::ReplicaStatus::LEARNER
                                                                 : ToRole(status.soft_state.role));
          replica->set_term(status.hard_state.term());
          replica->set_commit_index(status.hard_state.commit());
          replica->set_applied_index(local->state_machine()->applied_index());
        }
        if (auto it = status.peers.find(member); it != status.peers.end()) {
          replica->set_match_index(it->second.match);
        }
      }
    }
    ctx_.FillHeader(kMetaPartition, 0, response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 absl::StrCat("node ", ctx_.node_id, " is shutting down")));
  }
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::TransferLeader(grpc::CallbackServerContext* context,
                                                         const v1::TransferLeaderRequest* request,
                                                         v1::TransferLeaderResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Replica* local = ctx_.Local(request->partition_id());
  if (request->partition_id() > ctx_.layout->partition_count()) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
                                     "partition ", request->partition_id(), " does not exist; the cluster has ",
                                     ctx_.layout->partition_count(), " data partitions")),
                                 context));
    return reactor;
  }
  if (!ctx_.layout->Hosts(request->to_member_id(), request->partition_id())) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
                                     "member ", request->to_member_id(), " holds no replica of partition ",
                                     request->partition_id())),
                                 context));
    return reactor;
  }
  if (local == nullptr || !local->info().is_leader.load()) {
    const uint64_t leader = local != nullptr ? local->info().leader.load() : 0;
    reactor->Finish(ToGrpcStatus(
        NotProposed(absl::StrCat("node ", ctx_.node_id, " does not lead partition ",
                                 request->partition_id(), "; ask its leader"),
                    request->partition_id(), leader, ctx_.layout->ClientAddress(leader)),
        context));
    return reactor;
  }
  const uint64_t partition = request->partition_id();
  const uint64_t to = request->to_member_id();
  const bool queued = ctx_.driver->Call([this, local, partition, to, response, reactor] {
    local->raw().TransferLeader(to);
    ctx_.FillHeader(partition, 0, response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued) reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is shutting down"));
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* context,
                                                     const v1::StatusRequest* /*request*/,
                                                     v1::StatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  uint64_t led = 0;
  for (const auto& [id, replica] : *ctx_.replicas) led += replica->info().is_leader.load() ? 1 : 0;
  std::error_code ec;
  uint64_t bytes = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  response->set_version(RKV_VERSION);
  response->set_partitions_hosted(ctx_.replicas->size());
  response->set_partitions_led(led);
  response->set_db_size_bytes(bytes);
  ctx_.FillHeader(kMetaPartition, 0, response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Health(grpc::CallbackServerContext* context,
                                                     const v1::HealthRequest* /*request*/,
                                                     v1::HealthResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  response->set_healthy(true);
  for (const auto& [id, replica] : *ctx_.replicas) {
    if (replica->info().leader.load() == 0) {
      response->set_healthy(false);
      response->set_reason(absl::StrCat("partition ", id, " has no leader"));
      break;
    }
  }
  ctx_.FillHeader(kMetaPartition, 0, response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Echo(grpc::CallbackServerContext* context,
                                                   const v1::EchoRequest* request,
                                                   v1::EchoResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  response->set_payload(request->payload());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::PartitionHash(grpc::CallbackServerContext* context,
                                                            const v1::PartitionHashRequest* request,
                                                            v1::PartitionHashResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Replica* local = ctx_.Local(request->partition_id());
  if (local == nullptr) {
    reactor->Finish(ToGrpcStatus(absl::NotFoundError(absl::StrCat("node ", ctx_.node_id,
                                                                  " hosts no replica of partition ",
                                                                  request->partition_id())),
                                 context));
    return reactor;
  }
  absl::StatusOr<std::unique_ptr<storage::SnapshotReader>> reader =
      local->state_machine()->OpenSnapshot(storage::SnapshotLimits());
  if (!reader.ok()) {
    reactor->Finish(ToGrpcStatus(reader.status(), context));
    return reactor;
  }
  storage::StreamChecksum hash;
  while (true) {
    absl::StatusOr<std::optional<std::string>> chunk = (*reader)->Next();
    if (!chunk.ok()) {
      reactor->Finish(ToGrpcStatus(chunk.status(), context));
      return reactor;
    }
    if (!chunk->has_value()) break;
    hash.Update(**chunk);
  }
  response->set_applied_index((*reader)->metadata().index());
  response->set_applied_term((*reader)->metadata().term());
  response->set_hash(hash.Digest());
  ctx_.FillHeader(request->partition_id(), (*reader)->metadata().index(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::SetLogLevel(grpc::CallbackServerContext* context,
                                                          const v1::SetLogLevelRequest* request,
                                                          v1::SetLogLevelResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto previous = spdlog::get_level();
  absl::Status s = rkv::server::SetLogLevel(request->level());
  if (s.ok()) {
    const auto name = spdlog::level::to_string_view(previous);
    response->set_previous_level(std::string(name.data(), name.size()));
    ctx_.FillHeader(kMetaPartition, 0, response->mutable_header());
    spdlog::warn("log level changed to {} by an admin request", request->level());
  }
  reactor->Finish(ToGrpcStatus(s, context));
  return reactor;
}

}  // namespace rkv::server
