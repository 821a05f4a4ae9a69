// A gRPC server interceptor that counts every client request by method and
// status code and observes its latency (rkv_grpc_requests_total,
// rkv_grpc_request_duration_seconds). Thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "server/metrics.h"

namespace rkv::server {

class MetricsInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* metrics_;
};

// The full method names ("/rkv.v1.KV/Put") of rkv's public services.
std::vector<std::string> PublicRpcMethods();

}  // namespace rkv::server
