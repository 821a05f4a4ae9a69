// ClusterService (proto/rkv/v1/cluster.proto): members from the meta
// partition, partitions with each local replica's Raft state (read on the
// driver thread), and leader transfer. MaintenanceService
// (proto/rkv/v1/maintenance.proto): node status, health and Echo.
// Thread-safe; handlers never block.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "rkv/v1/cluster.grpc.pb.h"
#include "rkv/v1/maintenance.grpc.pb.h"
#include "server/kv_service.h"

namespace rkv::server {

class ClusterService final : public v1::Cluster::CallbackService {
 public:
  explicit ClusterService(const ServiceContext& context) : ctx_(context) {}

  grpc::ServerUnaryReactor* MemberList(grpc::CallbackServerContext* context,
                                       const v1::MemberListRequest* request,
                                       v1::MemberListResponse* response) override;
  grpc::ServerUnaryReactor* PartitionList(grpc::CallbackServerContext* context,
                                          const v1::PartitionListRequest* request,
                                          v1::PartitionListResponse* response) override;
  grpc::ServerUnaryReactor* TransferLeader(grpc::CallbackServerContext* context,
                                           const v1::TransferLeaderRequest* request,
                                           v1::TransferLeaderResponse* response) override;

 private:
  const ServiceContext ctx_;
};

class MaintenanceService final : public v1::Maintenance::CallbackService {
 public:
  MaintenanceService(const ServiceContext& context, std::string data_dir)
      : ctx_(context), data_dir_(std::move(data_dir)) {}

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::StatusRequest* request,
                                   v1::StatusResponse* response) override;
  grpc::ServerUnaryReactor* Health(grpc::CallbackServerContext* context,
                                   const v1::HealthRequest* request,
                                   v1::HealthResponse* response) override;
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override;
  grpc::ServerUnaryReactor* SetLogLevel(grpc::CallbackServerContext* context,
                                        const v1::SetLogLevelRequest* request,
                                        v1::SetLogLevelResponse* response) override;
  // Reads the whole replica on the calling thread; meant for test harnesses.
  grpc::ServerUnaryReactor* PartitionHash(grpc::CallbackServerContext* context,
                                          const v1::PartitionHashRequest* request,
                                          v1::PartitionHashResponse* response) override;

 private:
  const ServiceContext ctx_;
  const std::string data_dir_;
};

}  // namespace rkv::server
