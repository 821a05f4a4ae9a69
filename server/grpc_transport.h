// GrpcTransport: one long-lived client stream per peer (Peer.Stream) carrying
// batches of Raft messages for every partition. Each peer has its own bounded
// queue and its writes never block the caller, so a slow or dead peer never
// stalls the others; broken streams reconnect with exponential backoff. Both
// ends use gRPC's callback API: PeerService reads each stream and hands the
// batches to a callback. Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rkv/internal/peer.grpc.pb.h"
#include "server/metrics.h"
#include "server/stall_watch.h"
#include "server/transport.h"

namespace rkv::server {

struct TransportLimits {
  // Messages queued per peer before new ones are dropped.
  size_t max_queued_messages = 10000;
  // Bytes of one batch on the wire (gRPC's default receive limit is 4 MiB).
  size_t max_batch_bytes = 2 << 20;
  // The senders' back-off between attempts to open a stream.
  int min_backoff_ms = 50;
  int max_backoff_ms = 2000;
  // How long one connection attempt, TCP and HTTP/2 handshakes, may take.
  // gRPC takes it from its minimum reconnect back-off. At min_backoff_ms
  // (50 ms) a slower handshake would time out, and as each stream opens a
  // new channel, gRPC's back-off would never grow past it.
  int connect_timeout_ms = 5000;
  // A stream that has been opening, or blocked in one write, for this long
  // is cancelled and reconnected. gRPC's own timers (keepalive, connect
  // deadline, reconnect backoff) wait on the wall clock in the Abseil Debian
  // ships, so a step of the clock can hold them for as long as the step; this
  // watchdog runs on the monotonic clock.
  int stall_timeout_ms = 5000;
};

// Called with the partitions whose messages to `peer` were dropped.
using UnreachableFn = std::function<void(uint64_t peer, std::vector<uint64_t> partitions)>;

class PeerSender;

class GrpcTransport final : public Transport {
 public:
  GrpcTransport(uint64_t cluster_id, uint64_t self_id, const std::map<uint64_t, std::string>& peers,
                const TransportLimits& limits, Metrics* metrics, UnreachableFn on_unreachable);
  ~GrpcTransport() override;
  GrpcTransport(const GrpcTransport&) = delete;
  GrpcTransport& operator=(const GrpcTransport&) = delete;

  void Send(uint64_t to_node, std::vector<PartitionMessage> messages) override;
  // Cancels every stream and waits until gRPC is done with them; queued
  // messages are dropped, and so is anything sent afterwards.
  void Stop();

  // Channel arguments shared by peer and forwarding channels: keepalives that
  // notice a dead peer within seconds, fast reconnects.
  static grpc::ChannelArguments ChannelArgs(const TransportLimits& limits);

 private:
  std::map<uint64_t, std::unique_ptr<PeerSender>> senders_;
  // Cancels streams that stopped making progress (TransportLimits::
  // stall_timeout_ms) and sends what waited out a reconnect back-off.
  std::unique_ptr<PeriodicThread> watchdog_;
};

// Receives Raft message batches from peers. Validates the cluster and the
// addressee; the deliver callback must not block for long (it feeds the
// driver's inbox).
// Snapshot streams are handed to `receive_snapshot` (server/snapshot_transfer.h).
class PeerService final
    : public rkv::internal::Peer::WithCallbackMethod_Stream<rkv::internal::Peer::Service> {
 public:
  using DeliverFn = std::function<void(rkv::internal::MessageBatch batch)>;
  using ReceiveSnapshotFn =
      std::function<grpc::Status(grpc::ServerReader<rkv::internal::SnapshotChunk>* reader)>;
  // Blocks until the read is done (the service runs on gRPC's sync pool).
  using ReadPartitionFn = std::function<grpc::Status(const rkv::internal::PartitionReadRequest&,
                                                     absl::Time deadline,
                                                     rkv::internal::PartitionReadResponse*)>;
  PeerService(uint64_t cluster_id, uint64_t self_id, Metrics* metrics, DeliverFn deliver,
              ReceiveSnapshotFn receive_snapshot, ReadPartitionFn read_partition)
      : cluster_id_(cluster_id),
        self_id_(self_id),
        metrics_(metrics),
        deliver_(std::move(deliver)),
        receive_snapshot_(std::move(receive_snapshot)),
        read_partition_(std::move(read_partition)) {}

  // On gRPC's callback API: each batch goes to `deliver` from the gRPC thread
  // that read it. A sync handler would put a pool thread between them, and
  // wake it for every batch (measured: 10% more server CPU per write and per
  // linearizable read).
  grpc::ServerReadReactor<rkv::internal::MessageBatch>* Stream(grpc::CallbackServerContext* context,
                                                               rkv::internal::BatchAck* ack) override;
  grpc::Status SendSnapshot(grpc::ServerContext* context,
                            grpc::ServerReader<rkv::internal::SnapshotChunk>* reader,
                            rkv::internal::SnapshotAck* ack) override;
  grpc::Status ReadPartition(grpc::ServerContext* context,
                             const rkv::internal::PartitionReadRequest* request,
                             rkv::internal::PartitionReadResponse* response) override;
  grpc::Status Ping(grpc::ServerContext* context, const rkv::internal::PingRequest* request,
                    rkv::internal::PingResponse* response) override;

 private:
  const uint64_t cluster_id_;
  const uint64_t self_id_;
  Metrics* const metrics_;
  DeliverFn deliver_;
  ReceiveSnapshotFn receive_snapshot_;
  ReadPartitionFn read_partition_;

  class StreamReader;
};

}  // namespace rkv::server
