#include "server/grpc_metrics.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "server/steady_mutex.h"
#include "rkv/v1/cluster.pb.h"
#include "rkv/v1/kv.pb.h"
#include "rkv/v1/maintenance.pb.h"

namespace rkv::server {
namespace {

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, Metrics* metrics)
      : method_(info->method()), metrics_(metrics), start_(SteadyClock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      metrics_->RecordRpc(method_, status.error_code(), absl::ToDoubleSeconds(Since(start_)));
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  Metrics* metrics_;
  const SteadyClock::time_point start_;
};

}  // namespace

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // gRPC owns and deletes the interceptor when the call ends.
  return new MetricsInterceptor(info, metrics_);
}

std::vector<std::string> PublicRpcMethods() {
  std::vector<std::string> out;
  for (const google::protobuf::FileDescriptor* file :
       {v1::PutRequest::descriptor()->file(), v1::MemberListRequest::descriptor()->file(),
        v1::EchoRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        out.push_back(absl::StrCat("/", service->full_name(), "/", service->method(m)->name()));
      }
    }
  }
  return out;
}

}  // namespace rkv::server
