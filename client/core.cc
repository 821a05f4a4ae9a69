#include "client/core.h"

#include <grpcpp/client_context.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/rpc_status.h"
#include "client/topology.h"

namespace rkv::client::internal {
namespace {

// One background topology refresh: MemberList, then PartitionList, on one
// endpoint. Deletes itself when done.
class RefreshCall final {
 public:
  RefreshCall(Core* core, Connection* connection) : core_(core), connection_(connection) {}

  void Start() {
    SetDeadline(&members_context_);
    connection_->cluster->async()->MemberList(
        &members_context_, &members_request_, &members_,
        [this](grpc::Status status) { OnMembers(std::move(status)); });
  }

 private:
  void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + core_->options().dial_timeout));
  }

  void OnMembers(grpc::Status status) {
    if (!status.ok()) return Finish(false);
    SetDeadline(&partitions_context_);
    connection_->cluster->async()->PartitionList(
        &partitions_context_, &partitions_request_, &partitions_,
        [this](grpc::Status status) { OnPartitions(std::move(status)); });
  }

  void OnPartitions(grpc::Status status) {
    if (!status.ok()) return Finish(false);
    absl::StatusOr<Topology> topology = Topology::Build(members_, partitions_);
    if (!topology.ok()) return Finish(false);
    std::vector<std::string> leaders;
    for (const PartitionInfo& partition : topology->partitions()) {
      if (const std::string* address = topology->AddressOf(partition.leader_id)) {
        leaders.push_back(*address);
      }
    }
    core_->router().Update(*std::move(topology));
    for (const std::string& address : leaders) core_->pool().Warm(address);
    Finish(true);
  }

  void Finish(bool ok) {
    Core* core = core_;
    delete this;  // Self-owned, like a gRPC reactor.
    core->router().EndRefresh(ok);
    core->EndCall();
  }

  Core* const core_;
  Connection* const connection_;
  grpc::ClientContext members_context_;
  grpc::ClientContext partitions_context_;
  v1::MemberListRequest members_request_;
  v1::MemberListResponse members_;
  v1::PartitionListRequest partitions_request_;
  v1::PartitionListResponse partitions_;
};

absl::Status FetchTopology(Connection& connection, absl::Time deadline,
                           v1::MemberListResponse* members, v1::PartitionListResponse* partitions) {
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    grpc::Status status = connection.cluster->MemberList(&context, {}, members);
    if (!status.ok()) return ToAbslStatus(status);
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  return ToAbslStatus(connection.cluster->PartitionList(&context, {}, partitions));
}

ChannelPoolConfig PoolConfig(const Options& options) {
  ChannelPoolConfig config;
  config.connections_per_address = options.connections_per_endpoint;
  // The endpoints, plus one address per member the cluster may name.
  config.max_addresses = options.endpoints.size() + kMaxMembers;
  config.max_receive_message_bytes = options.max_receive_message_bytes;
  config.max_reconnect_backoff = options.max_reconnect_backoff;
  config.connect_timeout = options.dial_timeout;
  return config;
}

}  // namespace

Core::Core(const Options& options)
    : options_(options),
      pool_(PoolConfig(options)),
      router_(options.endpoints, options.route_to_leader, options.min_refresh_interval,
              options.max_reconnect_backoff) {}

bool Core::BeginCall() {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  ++calls_in_flight_;
  return true;
}

void Core::EndCall() {
  absl::MutexLock lock(&mu_);
  --calls_in_flight_;
}

void Core::CloseAndWait() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  mu_.Await(absl::Condition(
      +[](int64_t* calls) { return *calls == 0; }, &calls_in_flight_));
}

void Core::MaybeRefresh() {
  if (!options_.route_to_leader) return;
  if (!router_.MaybeBeginRefresh(absl::Now())) return;
  if (!BeginCall()) {
    router_.EndRefresh(false);
    return;
  }
  const uint64_t number = NextCallNumber();
  absl::StatusOr<Connection*> connection = pool_.Get(router_.Seed(number, 0, absl::Now()), number);
  if (!connection.ok()) {
    router_.EndRefresh(false);
    EndCall();
    return;
  }
  // The call deletes itself when its last reply arrives (like a gRPC reactor).
  (new RefreshCall(this, *connection))->Start();
}

absl::Status Core::RefreshNow(absl::Time deadline) {
  absl::Status last = absl::UnavailableError("no endpoint was tried");
  absl::Duration pause = absl::Milliseconds(20);
  while (true) {
    for (size_t i = 0; i < options_.endpoints.size(); ++i) {
      const std::string& endpoint = options_.endpoints[i];
      absl::StatusOr<Connection*> connection = pool_.Get(endpoint, i);
      if (!connection.ok()) return connection.status();
      v1::MemberListResponse members;
      v1::PartitionListResponse partitions;
      absl::Status status = FetchTopology(**connection, deadline, &members, &partitions);
      if (status.ok()) {
        absl::StatusOr<Topology> topology = Topology::Build(members, partitions);
        if (!topology.ok()) {
          return absl::InternalError(absl::StrCat("cluster map from ", endpoint,
                                                  " is malformed: ", topology.status().message()));
        }
        router_.Update(*std::move(topology));
        return absl::OkStatus();
      }
      last = absl::Status(status.code(), absl::StrCat(endpoint, ": ", status.message()));
      // Only an unreachable node is worth trying again; anything else is an
      // answer.
      if (status.code() != absl::StatusCode::kUnavailable &&
          status.code() != absl::StatusCode::kDeadlineExceeded) {
        return absl::Status(status.code(),
                            absl::StrCat("reading the cluster map: ", last.message()));
      }
    }
    if (absl::Now() + pause >= deadline) break;
    // Connect() is blocking by contract; this pause bounds how fast it polls
    // nodes that are still starting.
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(pause));
    pause = std::min(pause * 2, absl::Milliseconds(500));
  }
  return absl::Status(last.code() == absl::StatusCode::kDeadlineExceeded
                          ? last.code()
                          : absl::StatusCode::kUnavailable,
                      absl::StrCat("no endpoint (", absl::StrJoin(options_.endpoints, ", "),
                                   ") returned the cluster map; last error: ", last.message()));
}

}  // namespace rkv::client::internal
