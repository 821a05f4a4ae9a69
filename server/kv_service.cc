#include "server/kv_service.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/convert.h"
#include "server/failpoint.h"
#include "server/grpc_status.h"
#include "server/grpc_transport.h"

namespace rkv::server {
namespace {

namespace pb = rkv::internal;

// Marks a request one node forwarded to another; it is never forwarded again.
constexpr char kForwardedMetadata[] = "rkv-forwarded";
// Requests without a deadline still end.
constexpr absl::Duration kMaxRequestTime = absl::Seconds(30);
// A Range response stays well under gRPC's default 4 MiB receive limit.
constexpr size_t kMaxRangeResponseBytes = 3 << 20;

uint64_t NowUnixMs() { return static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())); }

bool WasForwarded(const grpc::CallbackServerContext& context) {
  return context.client_metadata().count(kForwardedMetadata) > 0;
}

// Where a request for a partition goes.
struct Route {
  Replica* local = nullptr;          // serve here
  uint64_t forward_to = 0;           // else forward to this member
  absl::Status error;                // else fail with this
};

Route RouteWrite(const ServiceContext& ctx, uint64_t partition_id, bool forwarded) {
  Route route;
  Replica* local = ctx.Local(partition_id);
  const uint64_t leader = local != nullptr ? local->info().leader.load() : 0;
  if (local != nullptr && local->info().is_leader.load()) {
    route.local = local;
  } else if (forwarded || (local != nullptr && leader == 0)) {
    route.error = NotProposed(
        leader == 0 ? absl::StrCat("partition ", partition_id, " has no leader right now")
                    : absl::StrCat("node ", ctx.node_id, " does not lead partition ", partition_id,
                                   "; node ", leader, " does"),
        partition_id, leader, ctx.layout->ClientAddress(leader));
  } else if (local != nullptr) {
    route.forward_to = leader;
  } else {
    route.forward_to = ctx.forward_targets->For(partition_id);
  }
  return route;
}

Route RouteRead(const ServiceContext& ctx, uint64_t partition_id, bool forwarded) {
  Route route;
  if (Replica* local = ctx.Local(partition_id)) {
    route.local = local;
  } else if (forwarded) {
    route.error = absl::UnavailableError(absl::StrCat("partition ", partition_id,
                                                      " is not hosted on node ", ctx.node_id));
  } else {
    route.forward_to = ctx.forward_targets->For(partition_id);
  }
  return route;
}

// A forwarded write whose transport failed may have reached the leader.
absl::Status ForwardedOutcome(absl::Status status, uint64_t to, bool is_write) {
  v1::ErrorDetail detail;
  const bool has_detail = GetDetail(status, &detail);
  const bool transport_failure = !has_detail && (status.code() == absl::StatusCode::kUnavailable ||
                                                 status.code() == absl::StatusCode::kDeadlineExceeded ||
                                                 status.code() == absl::StatusCode::kCancelled ||
                                                 status.code() == absl::StatusCode::kUnknown);
  if (!is_write || !transport_failure) return status;
  return absl::Status(status.code(), absl::StrCat("outcome unknown: forwarding to node ", to,
                                                  " failed: ", status.message()));
}

// Forwards one unary call to another member and finishes the reactor with its
// answer. `call` starts the async stub method. The answer's header, or an
// error's leader hint, tells ctx.forward_targets whom to send the partition's
// next requests to. A request the member refused as never proposed, naming
// another leader, goes on to that leader once (may_follow_hint): it cannot
// have happened, so sending it again is safe, and a client that does not
// route itself then gets its answer instead of the hint.
template <typename Request, typename Response>
void Forward(const ServiceContext& ctx, grpc::CallbackServerContext* context,
             grpc::ServerUnaryReactor* reactor, uint64_t to, bool is_write,
             const Request* request, Response* response,
             std::function<void(v1::KV::Stub::async_interface*, grpc::ClientContext*, const Request*,
                                Response*, std::function<void(grpc::Status)>)>
                 call,
             bool may_follow_hint = true) {
  v1::KV::Stub* stub = ctx.channels->Kv(to);
  if (stub == nullptr) {
    reactor->Finish(ToGrpcStatus(
        NotProposed(absl::StrCat("member ", to, " is unknown"), 0, 0, ""), context));
    return;
  }
  // A connection known to be down sends nothing: the request is certainly
  // not proposed, and the client may retry elsewhere at once.
  if (!ctx.channels->Reachable(to)) {
    reactor->Finish(ToGrpcStatus(
        NotProposed(absl::StrCat("node ", ctx.node_id, " cannot reach node ", to,
                                 ", which it believes leads the partition"),
                    0, to, ctx.layout->ClientAddress(to)),
        context));
    return;
  }
  auto client_context = std::make_shared<grpc::ClientContext>();
  client_context->set_deadline(absl::ToChronoTime(RequestDeadline(*context)));
  client_context->AddMetadata(kForwardedMetadata, "1");
  call(stub->async(), client_context.get(), request, response,
       [&ctx, context, reactor, client_context, to, is_write, request, response, call,
        may_follow_hint](grpc::Status status) {
         absl::Status s = FromGrpcStatus(status, *client_context);
         if (s.ok()) {
           ctx.forward_targets->Learn(response->header().partition_id(),
                                      response->header().leader_id());
         }
         v1::ErrorDetail hint;
         if (!s.ok() && GetDetail(s, &hint) && hint.leader_id() != 0) {
           ctx.forward_targets->Learn(hint.partition_id(), hint.leader_id());
           if (may_follow_hint && hint.not_proposed() && hint.leader_id() != to) {
             Forward(ctx, context, reactor, hint.leader_id(), is_write, request, response, call,
                     /*may_follow_hint=*/false);
             return;
           }
         }
         reactor->Finish(ToGrpcStatus(ForwardedOutcome(std::move(s), to, is_write), context));
       });
}

// Finishes a reactor with a proposal's result, or its error.
template <typename Fill>
ProposalDone FinishWith(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                        Fill fill) {
  return [context, reactor, fill = std::move(fill)](absl::StatusOr<storage::EntryResult> result) mutable {
    if (!result.ok()) {
      reactor->Finish(ToGrpcStatus(result.status(), context));
      return;
    }
    if (!result->status.ok()) {
      reactor->Finish(ToGrpcStatus(result->status, context));
      return;
    }
    fill(*result);
    reactor->Finish(grpc::Status::OK);
  };
}

}  // namespace

absl::Time RequestDeadline(const grpc::ServerContextBase& context) {
  const absl::Time cap = absl::Now() + kMaxRequestTime;
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return cap;
  return std::min(absl::FromChrono(deadline), cap);
}

// ---------------------------------------------------------------------------
// MemberChannels, ForwardTargets and ServiceContext

uint64_t ForwardTargets::For(uint64_t partition_id) const {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = leaders_.find(partition_id);
    if (it != leaders_.end()) return it->second;
  }
  return PreferredLeader(partition_id, layout_.ReplicasOf(partition_id));
}

void ForwardTargets::Learn(uint64_t partition_id, uint64_t leader_id) {
  if (partition_id == 0 || leader_id == 0) return;
  // Every forwarded answer lands here, and it usually names the leader
  // already known: settle that under the shared lock, without building the
  // partition's replica list.
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = leaders_.find(partition_id);
    if (it != leaders_.end() && it->second == leader_id) return;
  }
  if (!layout_.Hosts(leader_id, partition_id)) return;
  absl::MutexLock lock(&mu_);
  leaders_[partition_id] = leader_id;
}

std::shared_ptr<grpc::Channel> MemberChannels::Channel(uint64_t member_id, bool peer) {
  auto key = std::make_pair(member_id, peer);
  auto it = channels_.find(key);
  if (it != channels_.end()) return it->second;
  auto member = layout_.members().find(member_id);
  if (member == layout_.members().end()) return nullptr;
  auto channel = grpc::CreateCustomChannel(peer ? member->second.peer : member->second.client,
                                           grpc::InsecureChannelCredentials(),
                                           GrpcTransport::ChannelArgs(TransportLimits()));
  channels_[key] = channel;
  return channel;
}

v1::KV::Stub* MemberChannels::Kv(uint64_t member_id) {
  absl::MutexLock lock(&mu_);
  auto& stub = kv_[member_id];
  if (!stub) {
    auto channel = Channel(member_id, false);
    if (!channel) return nullptr;
    stub = v1::KV::NewStub(channel);
  }
  return stub.get();
}

bool MemberChannels::Reachable(uint64_t member_id) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<grpc::Channel> channel = Channel(member_id, false);
  return channel != nullptr && channel->GetState(/*try_to_connect=*/true) != GRPC_CHANNEL_TRANSIENT_FAILURE;
}

rkv::internal::Peer::Stub* MemberChannels::Peer(uint64_t member_id) {
  absl::MutexLock lock(&mu_);
  auto& stub = peer_[member_id];
  if (!stub) {
    auto channel = Channel(member_id, true);
    if (!channel) return nullptr;
    stub = rkv::internal::Peer::NewStub(channel);
  }
  return stub.get();
}

Replica* ServiceContext::Local(uint64_t partition_id) const {
  auto it = replicas->find(partition_id);
  return it == replicas->end() ? nullptr : it->second;
}

void ServiceContext::FillHeader(uint64_t partition_id, uint64_t revision,
                                v1::ResponseHeader* header) const {
  header->set_cluster_id(layout->cluster_id());
  header->set_member_id(node_id);
  header->set_partition_id(partition_id);
  if (Replica* local = Local(partition_id)) {
    header->set_raft_term(local->info().term.load());
    header->set_leader_id(local->info().leader.load());
  }
  header->set_revision(revision);
}

void ReadPartitionLocally(const ServiceContext& ctx, Replica& replica, const pb::RangeOp& op,
                          bool serializable, absl::Time deadline, PartitionReadDone done) {
  std::shared_ptr<storage::StateMachine> sm = replica.state_machine();
  auto read = [sm, op](PartitionReadDone done) {
    const uint64_t revision = sm->applied_index();
    std::move(done)(sm->Range(op, NowUnixMs()), revision);
  };
  if (serializable) {
    read(std::move(done));
    return;
  }
  ctx.driver->Read(replica.partition_id(), deadline,
                   [read, done = std::move(done)](absl::Status s) mutable {
                     if (!s.ok()) {
                       std::move(done)(s, 0);
                       return;
                     }
                     read(std::move(done));
                   });
}

// ---------------------------------------------------------------------------
// Writes

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const v1::PutRequest* request, v1::PutResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = ValidatePut(*request, *ctx_.limits); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s, context));
    return reactor;
  }
  const uint64_t partition = ctx_.partitioner->PartitionOf(request->key());
  Route route = RouteWrite(ctx_, partition, WasForwarded(*context));
  if (!route.error.ok()) {
    reactor->Finish(ToGrpcStatus(route.error, context));
  } else if (route.local == nullptr) {
    Forward<v1::PutRequest, v1::PutResponse>(
        ctx_, context, reactor, route.forward_to, true, request, response,
        [](auto* a, auto* c, auto* req, auto* resp, auto cb) { a->Put(c, req, resp, std::move(cb)); });
  } else {
    pb::Command command;
    const uint64_t now = NowUnixMs();
    command.set_now_unix_ms(now);
    *command.mutable_put() = ToPutOp(*request, now);
    ctx_.driver->Propose(partition, command.SerializeAsString(), RequestDeadline(*context),
                         FinishWith(context, reactor, [this, partition, response](storage::EntryResult& r) {
                           ctx_.FillHeader(partition, r.result.revision(), response->mutable_header());
                           response->set_revision(r.result.revision());
                           if (r.result.put().has_prev_kv()) {
                             ToPublic(r.result.put().prev_kv(), response->mutable_prev_kv());
                           }
                         }));
  }
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* context,
                                            const v1::DeleteRequest* request,
                                            v1::DeleteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = ValidateDelete(*request, *ctx_.limits); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s, context));
    return reactor;
  }
  const uint64_t partition = ctx_.partitioner->PartitionOf(request->key());
  Route route = RouteWrite(ctx_, partition, WasForwarded(*context));
  if (!route.error.ok()) {
    reactor->Finish(ToGrpcStatus(route.error, context));
  } else if (route.local == nullptr) {
    Forward<v1::DeleteRequest, v1::DeleteResponse>(
        ctx_, context, reactor, route.forward_to, true, request, response,
        [](auto* a, auto* c, auto* req, auto* resp, auto cb) { a->Delete(c, req, resp, std::move(cb)); });
  } else {
    pb::Command command;
    command.set_now_unix_ms(NowUnixMs());
    *command.mutable_delete_key() = ToDeleteOp(*request);
    ctx_.driver->Propose(partition, command.SerializeAsString(), RequestDeadline(*context),
                         FinishWith(context, reactor, [this, partition, response](storage::EntryResult& r) {
                           ctx_.FillHeader(partition, r.result.revision(), response->mutable_header());
                           response->set_revision(r.result.revision());
                           response->set_deleted(r.result.delete_key().deleted());
                           if (r.result.delete_key().prev_kvs_size() > 0) {
                             ToPublic(r.result.delete_key().prev_kvs(0), response->mutable_prev_kv());
                           }
                         }));
  }
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const v1::TxnRequest* request, v1::TxnResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<uint64_t> partition = ValidateTxn(*request, *ctx_.limits, *ctx_.partitioner);
  if (!partition.ok()) {
    reactor->Finish(ToGrpcStatus(partition.status(), context));
    return reactor;
  }
  Route route = RouteWrite(ctx_, *partition, WasForwarded(*context));
  if (!route.error.ok()) {
    reactor->Finish(ToGrpcStatus(route.error, context));
  } else if (route.local == nullptr) {
    Forward<v1::TxnRequest, v1::TxnResponse>(
        ctx_, context, reactor, route.forward_to, true, request, response,
        [](auto* a, auto* c, auto* req, auto* resp, auto cb) { a->Txn(c, req, resp, std::move(cb)); });
  } else {
    pb::Command command;
    const uint64_t now = NowUnixMs();
    command.set_now_unix_ms(now);
    *command.mutable_txn() = ToTxnCommand(*request, now);
    const uint64_t p = *partition;
    ctx_.driver->Propose(p, command.SerializeAsString(), RequestDeadline(*context),
                         FinishWith(context, reactor, [this, p, response](storage::EntryResult& r) {
                           ctx_.FillHeader(p, r.result.revision(), response->mutable_header());
                           ToTxnResponse(r.result.txn(), r.result.revision(), response);
                         }));
  }
  return reactor;
}

// ---------------------------------------------------------------------------
// Reads

grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* context,
                                         const v1::GetRequest* request, v1::GetResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = ValidateGet(*request, *ctx_.limits); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s, context));
    return reactor;
  }
  const uint64_t partition = ctx_.partitioner->PartitionOf(request->key());
  Route route = RouteRead(ctx_, partition, WasForwarded(*context));
  if (!route.error.ok()) {
    reactor->Finish(ToGrpcStatus(route.error, context));
    return reactor;
  }
  if (route.local == nullptr) {
    Forward<v1::GetRequest, v1::GetResponse>(
        ctx_, context, reactor, route.forward_to, false, request, response,
        [](auto* a, auto* c, auto* req, auto* resp, auto cb) { a->Get(c, req, resp, std::move(cb)); });
    return reactor;
  }
  std::shared_ptr<storage::StateMachine> sm = route.local->state_machine();
  auto read = [this, sm, partition, request, response, context, reactor]() {
    const uint64_t revision = sm->applied_index();
    absl::StatusOr<std::optional<pb::KeyValue>> kv = sm->Get(request->key(), NowUnixMs());
    if (!kv.ok()) {
      reactor->Finish(ToGrpcStatus(kv.status(), context));
      return;
    }
    ctx_.FillHeader(partition, revision, response->mutable_header());
    response->set_found(kv->has_value());
    if (kv->has_value()) ToPublic(**kv, response->mutable_kv());
    reactor->Finish(grpc::Status::OK);
  };
  if (request->serializable() || RKV_BUG("stale-reads")) {  // the bug skips ReadIndex
    read();
  } else {
    ctx_.driver->Read(partition, RequestDeadline(*context), [read, context, reactor](absl::Status s) {
      if (!s.ok()) {
        reactor->Finish(ToGrpcStatus(s, context));
        return;
      }
      read();
    });
  }
  return reactor;
}

namespace {

// Gathers the partitions' slices of one Range and merges them in key order.
class RangeGather final {
 public:
  RangeGather(const ServiceContext& ctx, const v1::RangeRequest& request, v1::RangeResponse* response,
              grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor, size_t parts)
      : ctx_(ctx), request_(request), response_(response), context_(context), reactor_(reactor),
        remaining_(parts) {}

  void Add(absl::StatusOr<pb::RangeResult> result, uint64_t revision) {
    absl::Status error;
    std::vector<pb::RangeResult> results;
    uint64_t max_revision = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!result.ok()) {
        if (error_.ok()) error_ = result.status();
      } else {
        results_.push_back(std::move(*result));
        revision_ = std::max(revision_, revision);
      }
      if (--remaining_ > 0) return;
      // The last slice: the merge works on what is taken out here, under the
      // lock. Reading the members after the unlock was safe only because
      // every other callback had returned, which the thread-safety analysis
      // (tests/lint) cannot see.
      error = std::move(error_);
      results = std::move(results_);
      max_revision = revision_;
    }
    Finish(error, results, max_revision);
  }

 private:
  void Finish(const absl::Status& error, const std::vector<pb::RangeResult>& results,
              uint64_t revision) {
    if (!error.ok()) {
      reactor_->Finish(ToGrpcStatus(error, context_));
      delete this;
      return;
    }
    std::vector<const pb::KeyValue*> all;
    uint64_t count = 0;
    bool more = false;
    for (const pb::RangeResult& r : results) {
      count += r.count();
      more |= r.more();
      for (const pb::KeyValue& kv : r.kvs()) all.push_back(&kv);
    }
    std::sort(all.begin(), all.end(),
              [](const pb::KeyValue* a, const pb::KeyValue* b) { return a->key() < b->key(); });
    const uint64_t limit = request_.limit() > 0 ? request_.limit() : ctx_.limits->max_range_keys;
    size_t bytes = 0;
    size_t taken = 0;
    for (const pb::KeyValue* kv : all) {
      if (taken >= limit || (taken > 0 && bytes + kv->ByteSizeLong() > kMaxRangeResponseBytes)) break;
      bytes += kv->ByteSizeLong();
      ToPublic(*kv, response_->add_kvs());
      ++taken;
    }
    if (taken < all.size()) more = true;
    ctx_.FillHeader(0, revision, response_->mutable_header());
    response_->set_count(count);
    response_->set_more(more && !request_.count_only());
    if (response_->more() && taken > 0) response_->set_next_key(all[taken - 1]->key() + std::string(1, '\0'));
    reactor_->Finish(grpc::Status::OK);
    delete this;
  }

  const ServiceContext& ctx_;
  const v1::RangeRequest& request_;
  v1::RangeResponse* response_;
  grpc::CallbackServerContext* context_;
  grpc::ServerUnaryReactor* reactor_;
  absl::Mutex mu_;
  size_t remaining_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<pb::RangeResult> results_ ABSL_GUARDED_BY(mu_);
  uint64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const v1::RangeRequest* request,
                                           v1::RangeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = ValidateRange(*request, *ctx_.limits); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s, context));
    return reactor;
  }
  pb::RangeOp op = ToRangeOp(*request);
  // Every partition returns up to the limit; the merge keeps the first ones.
  if (op.limit() == 0) op.set_limit(ctx_.limits->max_range_keys);
  // A single-key read lives in one partition.
  std::vector<uint64_t> partitions;
  if (op.range_end().empty()) {
    partitions.push_back(ctx_.partitioner->PartitionOf(op.key()));
  } else {
    partitions = ctx_.partitioner->DataPartitions();
  }
  if (partitions.empty()) {
    // A layout always has data partitions; were it ever empty, the gather
    // below would wait for slices that never come and the call would hang.
    reactor->Finish(ToGrpcStatus(absl::UnavailableError("this member knows no data partitions"), context));
    return reactor;
  }
  const absl::Time deadline = RequestDeadline(*context);
  auto* gather = new RangeGather(ctx_, *request, response, context, reactor, partitions.size());
  for (uint64_t partition : partitions) {
    if (Replica* local = ctx_.Local(partition)) {
      ReadPartitionLocally(ctx_, *local, op, request->serializable(), deadline,
                           [gather](absl::StatusOr<pb::RangeResult> r, uint64_t revision) {
                             gather->Add(std::move(r), revision);
                           });
      continue;
    }
    // Not hosted here: ask a member that hosts it, the leader if this node
    // knows it (its read lease answers without a round).
    const uint64_t host = ctx_.forward_targets->For(partition);
    rkv::internal::Peer::Stub* stub = ctx_.channels->Peer(host);
    if (stub == nullptr) {
      gather->Add(absl::UnavailableError(absl::StrCat("member ", host, " is unknown")), 0);
      continue;
    }
    auto call = std::make_shared<std::tuple<grpc::ClientContext, pb::PartitionReadRequest,
                                            pb::PartitionReadResponse>>();
    auto& [client_context, read_request, read_response] = *call;
    client_context.set_deadline(absl::ToChronoTime(deadline));
    read_request.set_cluster_id(ctx_.layout->cluster_id());
    read_request.set_partition_id(partition);
    *read_request.mutable_range() = op;
    read_request.set_serializable(request->serializable());
    stub->async()->ReadPartition(&client_context, &read_request, &read_response,
                                 [gather, call](grpc::Status status) {
                                   auto& [c, req, resp] = *call;
                                   if (!status.ok()) {
                                     gather->Add(FromGrpcStatus(status, c), 0);
                                   } else {
                                     gather->Add(std::move(*resp.mutable_result()), resp.revision());
                                   }
                                 });
  }
  return reactor;
}

}  // namespace rkv::server
