// KvService: the public KV API (proto/rkv/v1/kv.proto) on gRPC's callback
// API. Every request is validated first (server/validate.h). Writes are
// proposed on this node when it leads the key's partition, else forwarded to
// the leader. The member that receives a forwarded request never forwards it
// again, so a stale view cannot loop; the forwarding node itself follows one
// leader hint (see ForwardTargets). Linearizable reads use ReadIndex on any
// local replica, leader or follower (thesis §6.4), which a leader's read lease
// answers without a round (§6.4.1); serializable reads read the local state.
// Range reads every partition and merges in key order.
// Thread-safe; handlers never block.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "rkv/internal/peer.grpc.pb.h"
#include "rkv/v1/kv.grpc.pb.h"
#include "server/driver.h"
#include "server/layout.h"
#include "server/partitioner.h"
#include "server/replica.h"
#include "server/validate.h"

namespace rkv::server {

// Forwarding channels to other members, created on first use. Thread-safe.
class MemberChannels final {
 public:
  explicit MemberChannels(const ClusterLayout& layout) : layout_(layout) {}
  v1::KV::Stub* Kv(uint64_t member_id);
  // False when the connection to the member is known to be failing, so a
  // request would not even be sent.
  bool Reachable(uint64_t member_id);
  rkv::internal::Peer::Stub* Peer(uint64_t member_id);

 private:
  std::shared_ptr<grpc::Channel> Channel(uint64_t member_id, bool peer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ClusterLayout& layout_;
  absl::Mutex mu_;
  std::map<uint64_t, std::unique_ptr<v1::KV::Stub>> kv_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::unique_ptr<rkv::internal::Peer::Stub>> peer_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<uint64_t, bool>, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

// Whom this node forwards the requests of a partition it does not host to:
// the leader that the partition's last forwarded answer or error named, else
// the partition's preferred leader (server/partitioner.h), which leads it
// whenever leaders are balanced. Thread-safe.
class ForwardTargets final {
 public:
  explicit ForwardTargets(const ClusterLayout& layout) : layout_(layout) {}
  uint64_t For(uint64_t partition_id) const;
  // Ignores a member that is not one of the partition's replicas.
  void Learn(uint64_t partition_id, uint64_t leader_id);

 private:
  const ClusterLayout& layout_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, uint64_t> leaders_ ABSL_GUARDED_BY(mu_);
};

// What the services need to know about the node. Plain pointers into the
// Node, which outlives its services.
struct ServiceContext {
  uint64_t node_id = 0;
  const ClusterLayout* layout = nullptr;
  const Partitioner* partitioner = nullptr;
  const Limits* limits = nullptr;
  Driver* driver = nullptr;
  // Hosted partitions only.
  const std::map<uint64_t, Replica*>* replicas = nullptr;
  MemberChannels* channels = nullptr;
  ForwardTargets* forward_targets = nullptr;

  Replica* Local(uint64_t partition_id) const;
  void FillHeader(uint64_t partition_id, uint64_t revision, v1::ResponseHeader* header) const;
};

class KvService final : public v1::KV::CallbackService {
 public:
  explicit KvService(const ServiceContext& context) : ctx_(context) {}

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context, const v1::PutRequest* request,
                                v1::PutResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const v1::GetRequest* request,
                                v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context,
                                  const v1::RangeRequest* request,
                                  v1::RangeResponse* response) override;
  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* context, const v1::TxnRequest* request,
                                v1::TxnResponse* response) override;

 private:
  const ServiceContext ctx_;
};

// Reads one partition's slice of a range on this node: linearizable through
// ReadIndex unless serializable. `done` runs on a driver or apply thread, or
// before this returns (serializable, or under the leader's read lease).
using PartitionReadDone =
    absl::AnyInvocable<void(absl::StatusOr<rkv::internal::RangeResult>, uint64_t revision) &&>;
void ReadPartitionLocally(const ServiceContext& ctx, Replica& replica,
                          const rkv::internal::RangeOp& op, bool serializable, absl::Time deadline,
                          PartitionReadDone done);

// The time a request may take: the client's deadline, capped.
absl::Time RequestDeadline(const grpc::ServerContextBase& context);

}  // namespace rkv::server
