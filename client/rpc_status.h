// The client's side of the error contract (kv.proto, ErrorDetail): converts a
// finished gRPC call into an absl::Status and the server's ErrorDetail, which
// travels as the trailing metadata "rkv-error-bin". Pure functions;
// thread-safe.
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <optional>

#include "absl/status/status.h"
#include "rkv/v1/kv.pb.h"

namespace rkv::client {

inline constexpr char kErrorDetailMetadata[] = "rkv-error-bin";

// The same code and message (gRPC and absl share the canonical numbering).
absl::Status ToAbslStatus(const grpc::Status& status);

// The ErrorDetail the server attached, if any and if it parses.
// REQUIRES: the call on context has finished.
std::optional<v1::ErrorDetail> ErrorDetailOf(const grpc::ClientContext& context);

}  // namespace rkv::client
