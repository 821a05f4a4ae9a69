// Node: one rkvd process. Owns the storage engine, the replicas of the
// partitions placed on this node, the driver, the apply worker, the peer
// transport and the gRPC servers, and starts and stops them in order.
// Start is the only way in; Shutdown (or the destructor) stops everything.
// Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "server/apply_worker.h"
#include "server/cluster_service.h"
#include "server/config.h"
#include "server/driver.h"
#include "server/grpc_transport.h"
#include "server/http.h"
#include "server/kv_service.h"
#include "server/layout.h"
#include "server/metrics.h"
#include "server/partitioner.h"
#include "server/replica.h"
#include "server/snapshot_transfer.h"
#include "server/steady_mutex.h"
#include "storage/engine.h"

namespace rkv::server {

class Node final {
 public:
  // Opens or bootstraps the data directory, starts every component and
  // listens. FAILED_PRECONDITION when the data directory belongs to another
  // cluster or node; INVALID_ARGUMENT for a bad config; UNAVAILABLE when an
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Node>> Start(const NodeConfig& config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Stops serving, fails what is pending with UNAVAILABLE, and closes the
  // storage. Idempotent.
  void Shutdown();

  uint64_t cluster_id() const { return layout_.cluster_id(); }

 private:
  Node(const NodeConfig& config, ClusterLayout layout);
  absl::Status CheckIdentity(bool* fresh);
  absl::Status OpenReplicas(bool fresh);
  absl::Status StartServers();
  void RunHousekeeping();
  void UpdateStorageMetrics();
  void UpdateMemberMetrics();
  void PingPeers();
  std::vector<v1::Member> Members();
  absl::Status Healthy();
  absl::Status Ready();
  grpc::Status ReadPartition(const rkv::internal::PartitionReadRequest& request, absl::Time deadline,
                             rkv::internal::PartitionReadResponse* response);

  const NodeConfig config_;
  const ClusterLayout layout_;
  const Partitioner partitioner_;

  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<storage::Engine> engine_;
  std::map<uint64_t, std::unique_ptr<Replica>> replicas_;
  std::map<uint64_t, Replica*> replica_view_;
  std::unique_ptr<ApplyWorker> apply_worker_;
  std::unique_ptr<GrpcTransport> transport_;
  std::unique_ptr<SnapshotSender> snapshot_sender_;
  std::unique_ptr<Driver> driver_;
  std::unique_ptr<MemberChannels> channels_;
  std::unique_ptr<ForwardTargets> forward_targets_;
  ServiceContext service_context_;
  std::unique_ptr<PeerService> peer_service_;
  std::unique_ptr<KvService> kv_service_;
  std::unique_ptr<ClusterService> cluster_service_;
  std::unique_ptr<MaintenanceService> maintenance_service_;
  std::unique_ptr<grpc::Server> peer_server_;
  std::unique_ptr<grpc::Server> client_server_;
  std::unique_ptr<HttpServer> http_server_;

  // Wakes the housekeeping thread for shutdown.
  StopSignal stopping_;
  std::thread housekeeping_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace rkv::server
