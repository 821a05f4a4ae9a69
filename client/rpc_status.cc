#include "client/rpc_status.h"

#include <string>

namespace rkv::client {

absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::optional<v1::ErrorDetail> ErrorDetailOf(const grpc::ClientContext& context) {
  const std::multimap<grpc::string_ref, grpc::string_ref>& trailers =
      context.GetServerTrailingMetadata();
  auto it = trailers.find(kErrorDetailMetadata);
  if (it == trailers.end()) return std::nullopt;
  v1::ErrorDetail detail;
  if (!detail.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()))) {
    return std::nullopt;
  }
  return detail;
}

}  // namespace rkv::client
