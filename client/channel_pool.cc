#include "client/channel_pool.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rkv::client {

ChannelPool::ChannelPool(ChannelPoolConfig config) : config_(config) {}

std::vector<std::unique_ptr<Connection>> ChannelPool::MakeConnections(
    const std::string& address) const {
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < config_.connections_per_address; ++i) {
    grpc::ChannelArguments args;
    // A local subchannel pool gives every channel its own TCP connection
    // (by default channels with equal arguments share one).
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("rkv.connection_index", i);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetMaxReceiveMessageSize(config_.max_receive_message_bytes);
    const int max_backoff_ms =
        static_cast<int>(absl::ToInt64Milliseconds(config_.max_reconnect_backoff));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_backoff_ms));
    // gRPC takes its "minimum reconnect backoff" as the least time one
    // connection attempt is given: too small, and a loaded machine never
    // finishes a handshake.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                static_cast<int>(absl::ToInt64Milliseconds(config_.connect_timeout)));
    auto connection = std::make_unique<Connection>();
    connection->address = address;
    connection->channel =
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    connection->kv = v1::KV::NewStub(connection->channel);
    connection->cluster = v1::Cluster::NewStub(connection->channel);
    connection->maintenance = v1::Maintenance::NewStub(connection->channel);
    connections.push_back(std::move(connection));
  }
  return connections;
}

absl::StatusOr<const std::vector<std::unique_ptr<Connection>>*> ChannelPool::Find(
    const std::string& address) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_address_.find(address);
    if (it != by_address_.end()) return &it->second;
  }
  absl::MutexLock lock(&mu_);
  auto it = by_address_.find(address);
  if (it != by_address_.end()) return &it->second;
  if (by_address_.size() >= config_.max_addresses) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("client holds channels to %d addresses; the limit is %d (new: %s)",
                        by_address_.size(), config_.max_addresses, address));
  }
  // Creating a channel does not connect, so holding the lock is cheap.
  auto inserted = by_address_.emplace(address, MakeConnections(address));
  return &inserted.first->second;
}

absl::StatusOr<Connection*> ChannelPool::Get(const std::string& address, uint64_t salt) {
  absl::StatusOr<const std::vector<std::unique_ptr<Connection>>*> found = Find(address);
  if (!found.ok()) return found.status();
  const std::vector<std::unique_ptr<Connection>>& connections = **found;
  return connections[salt % connections.size()].get();
}

absl::StatusOr<std::vector<Connection*>> ChannelPool::All(const std::string& address) {
  absl::StatusOr<const std::vector<std::unique_ptr<Connection>>*> found = Find(address);
  if (!found.ok()) return found.status();
  std::vector<Connection*> out;
  for (const std::unique_ptr<Connection>& connection : **found) out.push_back(connection.get());
  return out;
}

void ChannelPool::Warm(const std::string& address) {
  absl::StatusOr<std::vector<Connection*>> connections = All(address);
  if (!connections.ok()) return;
  for (Connection* connection : *connections) connection->channel->GetState(true);
}

absl::Status ChannelPool::WaitConnected(const std::string& address, absl::Time deadline) {
  absl::StatusOr<std::vector<Connection*>> connections = All(address);
  if (!connections.ok()) return connections.status();
  for (Connection* connection : *connections) {
    if (!connection->channel->WaitForConnected(absl::ToChronoTime(deadline))) {
      return absl::DeadlineExceededError(absl::StrCat("could not connect to ", address));
    }
  }
  return absl::OkStatus();
}

}  // namespace rkv::client
