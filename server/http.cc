#include "server/http.h"

#include <CivetServer.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rkv::server {

class HttpServer::Handler final : public CivetHandler {
 public:
  Handler(std::string content_type, std::function<std::pair<int, std::string>()> respond)
      : content_type_(std::move(content_type)), respond_(std::move(respond)) {}

  bool handleGet(CivetServer* /*server*/, mg_connection* connection) override {
    auto [code, body] = respond_();
    mg_printf(connection,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
              code, code == 200 ? "OK" : "Service Unavailable", content_type_.c_str(), body.size());
    mg_write(connection, body.data(), body.size());
    return true;
  }

 private:
  const std::string content_type_;
  std::function<std::pair<int, std::string>()> respond_;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                              HttpHandlers handlers) {
  std::unique_ptr<HttpServer> http(new HttpServer());
  http->handlers_ = std::move(handlers);
  const HttpHandlers& h = http->handlers_;
  auto check = [](const std::function<absl::Status()>& probe) {
    return [&probe]() -> std::pair<int, std::string> {
      absl::Status s = probe();
      if (s.ok()) return {200, "ok\n"};
      return {503, absl::StrCat(s.message(), "\n")};
    };
  };
  std::vector<std::pair<std::string, std::unique_ptr<Handler>>> routes;
  routes.emplace_back("/metrics", std::make_unique<Handler>("text/plain; version=0.0.4",
                                                            [&h] { return std::make_pair(200, h.metrics()); }));
  routes.emplace_back("/healthz", std::make_unique<Handler>("text/plain", check(h.healthy)));
  routes.emplace_back("/readyz", std::make_unique<Handler>("text/plain", check(h.ready)));
  routes.emplace_back("/sd", std::make_unique<Handler>(
                                 "application/json", [&h] { return std::make_pair(200, h.service_discovery()); }));
  std::vector<std::string> options = {"listening_ports", address, "num_threads", "4"};
  try {
    // civetweb's C++ wrapper reports a bind failure by throwing; this is the
    // one place rkv lets a library throw, and it is caught right here.
    http->server_ = std::make_unique<CivetServer>(options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  for (auto& [uri, handler] : routes) {
    http->server_->addHandler(uri, handler.get());
    http->routes_.push_back(std::move(handler));
  }
  return http;
}

HttpServer::~HttpServer() {
  // Stop the threads before the handlers they call go away.
  if (server_) server_->close();
}

std::string ServiceDiscoveryJson(const std::vector<SdTarget>& targets, uint64_t cluster_id) {
  std::vector<std::string> groups;
  for (const SdTarget& t : targets) {
    groups.push_back(absl::StrCat(R"({"targets":[")", t.metrics_address, R"("],"labels":{"rkv_member_id":")",
                                  t.member_id, R"(","rkv_cluster_id":")", cluster_id, R"("}})"));
  }
  return absl::StrCat("[", absl::StrJoin(groups, ","), "]\n");
}

}  // namespace rkv::server
