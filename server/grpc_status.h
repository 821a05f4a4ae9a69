// The one place where absl::Status becomes grpc::Status (STYLE §3). A status
// may carry an rkv.v1.ErrorDetail as a payload (leader hint, not-proposed);
// it travels to the client as the trailing metadata "rkv-error-bin".
// Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "rkv/v1/kv.pb.h"

namespace rkv::server {

inline constexpr char kErrorDetailMetadata[] = "rkv-error-bin";

// Returns status with detail attached as its payload.
absl::Status WithDetail(absl::Status status, const v1::ErrorDetail& detail);
// The detail attached to status, if any.
bool GetDetail(const absl::Status& status, v1::ErrorDetail* detail);

// UNAVAILABLE for a request that was never proposed: safe to retry anywhere.
absl::Status NotProposed(absl::string_view message, uint64_t partition_id, uint64_t leader_id,
                         const std::string& leader_address);

// Converts status, adding its detail (if any) to the context's trailing
// metadata. REQUIRES: context not yet finished.
grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context);
// The inverse, for a status received from a forwarded call; restores the
// detail from the trailing metadata of client_context.
absl::Status FromGrpcStatus(const grpc::Status& status, const grpc::ClientContext& client_context);

}  // namespace rkv::server
