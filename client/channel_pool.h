// ChannelPool: the client's gRPC channels, `connections_per_address` of them
// per node address (each its own TCP connection), created on first use and
// kept for the pool's lifetime, with one stub per service on each. Holds at
// most max_addresses addresses. Connection pointers stay valid until the pool
// is destroyed. Thread-safe (one mutex, read-mostly).
#pragma once

#include <grpcpp/channel.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rkv/v1/cluster.grpc.pb.h"
#include "rkv/v1/kv.grpc.pb.h"
#include "rkv/v1/maintenance.grpc.pb.h"

namespace rkv::client {

// One channel to one node and its stubs. Stubs are thread-safe.
struct Connection {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::KV::Stub> kv;
  std::unique_ptr<v1::Cluster::Stub> cluster;
  std::unique_ptr<v1::Maintenance::Stub> maintenance;
};

struct ChannelPoolConfig {
  int connections_per_address = 1;
  size_t max_addresses = 256;
  int max_receive_message_bytes = 64 << 20;
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // How long one connection attempt may take.
  absl::Duration connect_timeout = absl::Seconds(2);
};

class ChannelPool final {
 public:
  explicit ChannelPool(ChannelPoolConfig config);
  ChannelPool(const ChannelPool&) = delete;
  ChannelPool& operator=(const ChannelPool&) = delete;

  // Connection number `salt % connections_per_address` to address; creates
  // the address's channels on first use (without connecting). RESOURCE_EXHAUSTED
  // when max_addresses other addresses are already held.
  absl::StatusOr<Connection*> Get(const std::string& address, uint64_t salt);

  // All connections to address (created if needed), for warming up.
  absl::StatusOr<std::vector<Connection*>> All(const std::string& address);

  // Makes every channel of address start connecting; returns at once.
  void Warm(const std::string& address);

  // Waits until every channel of address is READY. DEADLINE_EXCEEDED (naming
  // the address) when the deadline passes first.
  absl::Status WaitConnected(const std::string& address, absl::Time deadline);

 private:
  std::vector<std::unique_ptr<Connection>> MakeConnections(const std::string& address) const;
  absl::StatusOr<const std::vector<std::unique_ptr<Connection>>*> Find(const std::string& address);

  const ChannelPoolConfig config_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<Connection>>> by_address_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace rkv::client
