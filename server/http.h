// HttpServer: the node's metrics address. Serves /metrics (Prometheus text
// format), /healthz (the process runs and its storage takes a synced write),
// /readyz (every hosted partition has a leader and has applied close to its
// commit index) and /sd (Prometheus HTTP service discovery: every member's
// metrics address). Runs on civetweb's own threads. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

class CivetServer;

namespace rkv::server {

struct HttpHandlers {
  // The Prometheus text exposition.
  std::function<std::string()> metrics;
  // OK, or why the node is not healthy / not ready.
  std::function<absl::Status()> healthy;
  std::function<absl::Status()> ready;
  // The JSON document of /sd.
  std::function<std::string()> service_discovery;
};

class HttpServer final {
 public:
  // Listens on address ("host:port"). UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                           HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  class Handler;
  HttpServer() = default;
  HttpHandlers handlers_;
  std::vector<std::unique_ptr<Handler>> routes_;
  std::unique_ptr<CivetServer> server_;
};

// One target group per member for Prometheus's http_sd_configs.
struct SdTarget {
  uint64_t member_id;
  std::string metrics_address;
};
std::string ServiceDiscoveryJson(const std::vector<SdTarget>& targets, uint64_t cluster_id);

}  // namespace rkv::server
