// ScriptedServer: a controlled fault injector for client tests, not a key-value
// store. A real gRPC server on 127.0.0.1 (a free port) whose KV methods answer
// from a script: each call takes the next scripted reply (a status, an
// optional ErrorDetail sent as "rkv-error-bin", an optional response, or a
// hold until released); with the script empty they answer OK with an empty
// response. Cluster.MemberList / PartitionList answer the maps the test sets.
// Counts the calls of each method and records the keys. Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rkv/v1/cluster.grpc.pb.h"
#include "rkv/v1/kv.grpc.pb.h"
#include "rkv/v1/maintenance.grpc.pb.h"

namespace rkv::client::testing {

struct Reply {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::optional<v1::ErrorDetail> detail;
  // Wait for Release() (bounded by 30 s) before answering, so the client's
  // deadline passes first.
  bool hold = false;
  // For Range: the page to answer with.
  std::optional<v1::RangeResponse> range;
  // For Txn: whether the compares held.
  bool txn_succeeded = true;
};

inline Reply Unavailable(bool not_proposed, uint64_t leader_id = 0, uint64_t partition_id = 0) {
  Reply reply;
  reply.code = grpc::StatusCode::UNAVAILABLE;
  reply.message = "scripted unavailable";
  v1::ErrorDetail detail;
  detail.set_not_proposed(not_proposed);
  detail.set_leader_id(leader_id);
  detail.set_partition_id(partition_id);
  reply.detail = detail;
  return reply;
}

inline Reply Status(grpc::StatusCode code) {
  Reply reply;
  reply.code = code;
  reply.message = "scripted";
  return reply;
}

class ScriptedServer final : public v1::KV::Service,
                             public v1::Cluster::Service,
                             public v1::Maintenance::Service {
 public:
  ScriptedServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(static_cast<v1::KV::Service*>(this));
    builder.RegisterService(static_cast<v1::Cluster::Service*>(this));
    builder.RegisterService(static_cast<v1::Maintenance::Service*>(this));
    server_ = builder.BuildAndStart();
  }
  ~ScriptedServer() override { Stop(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool ok() const { return server_ != nullptr && port_ != 0; }

  void Stop() {
    release_.Release();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  void Script(std::vector<Reply> replies) {
    absl::MutexLock lock(&mu_);
    for (Reply& reply : replies) script_.push_back(std::move(reply));
  }
  void SetMaps(v1::MemberListResponse members, v1::PartitionListResponse partitions) {
    absl::MutexLock lock(&mu_);
    members_ = std::move(members);
    partitions_ = std::move(partitions);
  }
  // Lets held calls answer.
  void Release() { release_.Release(); }

  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int echoes() const {
    absl::MutexLock lock(&mu_);
    return echoes_;
  }
  std::vector<std::string> keys() const {
    absl::MutexLock lock(&mu_);
    return keys_;
  }

  grpc::Status Put(grpc::ServerContext* context, const v1::PutRequest* request,
                   v1::PutResponse* response) override {
    Reply reply = Next(request->key());
    response->set_revision(7);
    return Answer(context, reply);
  }
  grpc::Status Get(grpc::ServerContext* context, const v1::GetRequest* request,
                   v1::GetResponse* response) override {
    Reply reply = Next(request->key());
    response->set_found(true);
    response->mutable_kv()->set_key(request->key());
    return Answer(context, reply);
  }
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteRequest* request,
                      v1::DeleteResponse*) override {
    return Answer(context, Next(request->key()));
  }
  grpc::Status Range(grpc::ServerContext* context, const v1::RangeRequest* request,
                     v1::RangeResponse* response) override {
    Reply reply = Next(request->key());
    if (reply.range.has_value()) *response = *reply.range;
    return Answer(context, reply);
  }
  grpc::Status Txn(grpc::ServerContext* context, const v1::TxnRequest*,
                   v1::TxnResponse* response) override {
    Reply reply = Next("txn");
    response->set_succeeded(reply.txn_succeeded);
    return Answer(context, reply);
  }
  grpc::Status Echo(grpc::ServerContext*, const v1::EchoRequest* request,
                    v1::EchoResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      ++echoes_;
    }
    response->set_payload(request->payload());
    return grpc::Status::OK;
  }
  grpc::Status Health(grpc::ServerContext*, const v1::HealthRequest*,
                      v1::HealthResponse* response) override {
    response->set_healthy(true);
    return grpc::Status::OK;
  }
  grpc::Status MemberList(grpc::ServerContext*, const v1::MemberListRequest*,
                          v1::MemberListResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response = members_;
    return grpc::Status::OK;
  }
  grpc::Status PartitionList(grpc::ServerContext*, const v1::PartitionListRequest*,
                             v1::PartitionListResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response = partitions_;
    return grpc::Status::OK;
  }

 private:
  // A latch that can be released more than once.
  class Latch {
   public:
    void Release() {
      absl::MutexLock lock(&mu_);
      released_ = true;
    }
    void Wait(absl::Duration timeout) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&released_), timeout);
    }

   private:
    absl::Mutex mu_;
    bool released_ ABSL_GUARDED_BY(mu_) = false;
  };

  Reply Next(const std::string& key) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    keys_.push_back(key);
    if (script_.empty()) return Reply{};
    Reply reply = std::move(script_.front());
    script_.pop_front();
    return reply;
  }

  grpc::Status Answer(grpc::ServerContext* context, const Reply& reply) {
    if (reply.hold) release_.Wait(absl::Seconds(30));
    if (reply.detail.has_value()) {
      context->AddTrailingMetadata("rkv-error-bin", reply.detail->SerializeAsString());
    }
    return grpc::Status(reply.code, reply.message);
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  Latch release_;
  mutable absl::Mutex mu_;
  std::deque<Reply> script_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int echoes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
  v1::MemberListResponse members_ ABSL_GUARDED_BY(mu_);
  v1::PartitionListResponse partitions_ ABSL_GUARDED_BY(mu_);
};

// A cluster map of `addresses.size()` members (ids 1..n) and one data
// partition owning every hash, led by leader_id.
inline void SetOnePartitionMap(ScriptedServer& server, const std::vector<std::string>& addresses,
                               uint64_t leader_id) {
  v1::MemberListResponse members;
  for (size_t i = 0; i < addresses.size(); ++i) {
    v1::Member* member = members.add_members();
    member->set_id(i + 1);
    member->set_client_address(addresses[i]);
  }
  v1::PartitionListResponse partitions;
  v1::Partition* meta = partitions.add_partitions();
  meta->set_id(0);
  meta->set_leader_id(leader_id);
  v1::Partition* data = partitions.add_partitions();
  data->set_id(1);
  data->set_hash_start(0);
  data->set_hash_end(~uint64_t{0});
  data->set_leader_id(leader_id);
  for (size_t i = 0; i < addresses.size(); ++i) data->add_replicas()->set_member_id(i + 1);
  server.SetMaps(members, partitions);
}

}  // namespace rkv::client::testing
