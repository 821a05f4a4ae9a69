// One traits struct per RPC the client makes: its request and response types,
// whether it reads or writes (retry.h), the key it routes by, and how to start
// it on a connection with gRPC's callback API. Internal to the client library.
// Stateless; thread-safe.
#pragma once

#include <grpcpp/client_context.h>

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/channel_pool.h"
#include "client/key_hash.h"
#include "client/retry.h"

namespace rkv::client::internal {

using GrpcDone = std::function<void(grpc::Status)>;

// A key as it appears in messages: quoted, escaped, at most 64 bytes.
inline std::string QuoteKey(absl::string_view key) {
  constexpr size_t kMaxShown = 64;
  const bool cut = key.size() > kMaxShown;
  return absl::StrCat("\"", absl::CHexEscape(key.substr(0, kMaxShown)), cut ? "...\"" : "\"");
}

inline uint64_t HashOf(const std::string& key) {
  return KeyHash(std::string_view(key.data(), key.size()));
}

struct PutMethod {
  using Request = v1::PutRequest;
  using Response = v1::PutResponse;
  static OpKind Kind(const Request&) { return OpKind::kWrite; }
  static std::optional<uint64_t> RoutingHash(const Request& r) { return HashOf(r.key()); }
  static bool AnyReplica(const Request&) { return false; }
  static std::string Describe(const Request& r) { return "put of key " + QuoteKey(r.key()); }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.kv->async()->Put(context, request, response, std::move(done));
  }
};

struct GetMethod {
  using Request = v1::GetRequest;
  using Response = v1::GetResponse;
  static OpKind Kind(const Request&) { return OpKind::kRead; }
  static std::optional<uint64_t> RoutingHash(const Request& r) { return HashOf(r.key()); }
  static bool AnyReplica(const Request& r) { return r.serializable(); }
  static std::string Describe(const Request& r) { return "get of key " + QuoteKey(r.key()); }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.kv->async()->Get(context, request, response, std::move(done));
  }
};

struct DeleteMethod {
  using Request = v1::DeleteRequest;
  using Response = v1::DeleteResponse;
  static OpKind Kind(const Request&) { return OpKind::kWrite; }
  static std::optional<uint64_t> RoutingHash(const Request& r) { return HashOf(r.key()); }
  static bool AnyReplica(const Request&) { return false; }
  static std::string Describe(const Request& r) { return "delete of key " + QuoteKey(r.key()); }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.kv->async()->Delete(context, request, response, std::move(done));
  }
};

struct RangeMethod {
  using Request = v1::RangeRequest;
  using Response = v1::RangeResponse;
  static OpKind Kind(const Request&) { return OpKind::kRead; }
  // A one-key range goes to the key's partition; a wider one to any node,
  // which gathers it from every partition.
  static std::optional<uint64_t> RoutingHash(const Request& r) {
    if (r.prefix() || !r.range_end().empty()) return std::nullopt;
    return HashOf(r.key());
  }
  static bool AnyReplica(const Request& r) { return r.serializable(); }
  static std::string Describe(const Request& r) { return "range from key " + QuoteKey(r.key()); }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.kv->async()->Range(context, request, response, std::move(done));
  }
};

// The first key a Txn names, if any (every key must be in one partition).
const std::string* FirstTxnKey(const v1::TxnRequest& request);
// False when neither branch holds a put or a delete: such a Txn changes
// nothing, so it is retried like a read.
bool TxnWrites(const v1::TxnRequest& request);

struct TxnMethod {
  using Request = v1::TxnRequest;
  using Response = v1::TxnResponse;
  static OpKind Kind(const Request& r) { return TxnWrites(r) ? OpKind::kWrite : OpKind::kRead; }
  static std::optional<uint64_t> RoutingHash(const Request& r) {
    const std::string* key = FirstTxnKey(r);
    if (key == nullptr) return std::nullopt;
    return HashOf(*key);
  }
  static bool AnyReplica(const Request&) { return false; }
  static std::string Describe(const Request& r) {
    const std::string* key = FirstTxnKey(r);
    return key == nullptr ? std::string("txn") : "txn on key " + QuoteKey(*key);
  }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.kv->async()->Txn(context, request, response, std::move(done));
  }
};

// Calls without a key: they go to the endpoints in turn.
template <typename Req, typename Resp, OpKind kKind>
struct UnkeyedMethod {
  using Request = Req;
  using Response = Resp;
  static OpKind Kind(const Request&) { return kKind; }
  static std::optional<uint64_t> RoutingHash(const Request&) { return std::nullopt; }
  static bool AnyReplica(const Request&) { return false; }
};

struct MemberListMethod
    : UnkeyedMethod<v1::MemberListRequest, v1::MemberListResponse, OpKind::kRead> {
  static std::string Describe(const Request&) { return "member list"; }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.cluster->async()->MemberList(context, request, response, std::move(done));
  }
};

struct PartitionListMethod
    : UnkeyedMethod<v1::PartitionListRequest, v1::PartitionListResponse, OpKind::kRead> {
  static std::string Describe(const Request&) { return "partition list"; }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.cluster->async()->PartitionList(context, request, response, std::move(done));
  }
};

struct TransferLeaderMethod
    : UnkeyedMethod<v1::TransferLeaderRequest, v1::TransferLeaderResponse, OpKind::kWrite> {
  static std::string Describe(const Request& r) {
    return absl::StrCat("leader transfer of partition ", r.partition_id(), " to member ",
                        r.to_member_id());
  }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.cluster->async()->TransferLeader(context, request, response, std::move(done));
  }
};

struct StatusMethod : UnkeyedMethod<v1::StatusRequest, v1::StatusResponse, OpKind::kRead> {
  static std::string Describe(const Request&) { return "status"; }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.maintenance->async()->Status(context, request, response, std::move(done));
  }
};

struct HealthMethod : UnkeyedMethod<v1::HealthRequest, v1::HealthResponse, OpKind::kRead> {
  static std::string Describe(const Request&) { return "health"; }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.maintenance->async()->Health(context, request, response, std::move(done));
  }
};

struct SetLogLevelMethod
    : UnkeyedMethod<v1::SetLogLevelRequest, v1::SetLogLevelResponse, OpKind::kRead> {
  static std::string Describe(const Request& r) { return "set log level to " + r.level(); }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.maintenance->async()->SetLogLevel(context, request, response, std::move(done));
  }
};

struct PartitionHashMethod
    : UnkeyedMethod<v1::PartitionHashRequest, v1::PartitionHashResponse, OpKind::kRead> {
  static std::string Describe(const Request& r) {
    return absl::StrCat("hash of partition ", r.partition_id());
  }
  static void Start(Connection& c, grpc::ClientContext* context, const Request* request,
                    Response* response, GrpcDone done) {
    c.maintenance->async()->PartitionHash(context, request, response, std::move(done));
  }
};

}  // namespace rkv::client::internal
