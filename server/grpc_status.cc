#include "server/grpc_status.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "absl/strings/str_cat.h"

namespace rkv::server {
namespace {

constexpr char kPayloadUrl[] = "type.rkv.dev/rkv.v1.ErrorDetail";

}  // namespace

absl::Status WithDetail(absl::Status status, const v1::ErrorDetail& detail) {
  status.SetPayload(kPayloadUrl, absl::Cord(detail.SerializeAsString()));
  return status;
}

bool GetDetail(const absl::Status& status, v1::ErrorDetail* detail) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload) return false;
  return detail->ParseFromString(std::string(*payload));
}

absl::Status NotProposed(absl::string_view message, uint64_t partition_id, uint64_t leader_id,
                         const std::string& leader_address) {
  v1::ErrorDetail detail;
  detail.set_not_proposed(true);
  detail.set_partition_id(partition_id);
  detail.set_leader_id(leader_id);
  detail.set_leader_address(leader_address);
  return WithDetail(absl::UnavailableError(message), detail);
}

grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context) {
  if (status.ok()) return grpc::Status::OK;
  v1::ErrorDetail detail;
  if (context != nullptr && GetDetail(status, &detail)) {
    context->AddTrailingMetadata(kErrorDetailMetadata, detail.SerializeAsString());
  }
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status, const grpc::ClientContext& client_context) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  const auto& trailers = client_context.GetServerTrailingMetadata();
  auto it = trailers.find(kErrorDetailMetadata);
  v1::ErrorDetail detail;
  if (it != trailers.end() && detail.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()))) {
    out = WithDetail(std::move(out), detail);
  }
  return out;
}

}  // namespace rkv::server
