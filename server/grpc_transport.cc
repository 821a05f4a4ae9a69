#include "server/grpc_transport.h"

#include <algorithm>
#include <deque>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/logging.h"
#include "server/stall_watch.h"
#include "server/steady_mutex.h"
#include "server/thread_name.h"
#include "spdlog/spdlog.h"

namespace rkv::server {

// The sender of one peer: a bounded queue drained by one thread that keeps a
// Peer.Stream open.
class PeerSender final {
 public:
  PeerSender(uint64_t cluster_id, uint64_t self_id, uint64_t peer_id, std::string address,
             const TransportLimits& limits, PeerMetrics* metrics, UnreachableFn on_unreachable)
      : cluster_id_(cluster_id),
        self_id_(self_id),
        peer_id_(peer_id),
        address_(std::move(address)),
        limits_(limits),
        metrics_(metrics),
        on_unreachable_(std::move(on_unreachable)) {
    thread_ = StartNamedThread("rkv-send-" + std::to_string(peer_id_), [this] { Run(); });
  }
  ~PeerSender() { Stop(); }

  void Enqueue(std::vector<PartitionMessage> messages) {
    std::vector<uint64_t> dropped;
    {
      SteadyMutexLock lock(&mu_);
      if (stopping_) return;
      for (PartitionMessage& m : messages) {
        if (queue_.size() >= limits_.max_queued_messages) {
          dropped.push_back(m.partition_id());
        } else {
          queue_.push_back(std::move(m));
        }
      }
    }
    mu_.NotifyAll();
    if (!dropped.empty()) {
      if (metrics_ != nullptr) Add(metrics_->send_failures, static_cast<double>(dropped.size()));
      on_unreachable_(peer_id_, std::move(dropped));
    }
  }

  void Stop() {
    {
      SteadyMutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      if (context_) context_->TryCancel();
    }
    mu_.NotifyAll();
    if (thread_.joinable()) thread_.join();
  }

  // A stream stuck opening or writing past the stall timeout is cancelled,
  // which fails the blocked call at once, so the sender reconnects. Called by
  // the transport's watchdog thread.
  void CancelIfStalled() {
    if (!progress_.TakeStall(absl::Milliseconds(limits_.stall_timeout_ms))) return;
    SteadyMutexLock lock(&mu_);
    if (context_ != nullptr) {
      if (metrics_ != nullptr) Add(metrics_->stalled_streams);
      spdlog::warn("the stream to node {} at {} made no progress for {} ms; reconnecting", peer_id_,
                   address_, limits_.stall_timeout_ms);
      context_->TryCancel();
    }
  }

 private:
  void Run() {
    int backoff_ms = limits_.min_backoff_ms;
    while (true) {
      std::vector<PartitionMessage> batch;
      if (!TakeBatch(&batch)) return;
      if (!writer_) OpenStream();
      if (Write(&batch)) {
        backoff_ms = limits_.min_backoff_ms;
        continue;
      }
      // The stream broke: report what was lost, close it and back off.
      std::set<uint64_t> partitions;
      for (const PartitionMessage& m : batch) partitions.insert(m.partition_id());
      on_unreachable_(peer_id_, {partitions.begin(), partitions.end()});
      CloseStream();
      DropQueued();
      SteadyMutexLock lock(&mu_);
      mu_.AwaitFor([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; },
                   absl::Milliseconds(backoff_ms));
      backoff_ms = std::min(backoff_ms * 2, limits_.max_backoff_ms);
      if (stopping_) return;
    }
  }

  // Waits for queued messages and takes up to max_batch_bytes of them.
  bool TakeBatch(std::vector<PartitionMessage>* batch) {
    SteadyMutexLock lock(&mu_);
    mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); });
    if (stopping_) return false;
    size_t bytes = 0;
    while (!queue_.empty() && (batch->empty() || bytes < limits_.max_batch_bytes)) {
      bytes += queue_.front().ByteSizeLong();
      batch->push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return true;
  }

  // Each stream gets a new channel, and with it a new connection (channels
  // do not share subchannels; see ChannelArgs): reconnecting then waits only
  // for the sender's own back-off, on the monotonic clock, never for a gRPC
  // reconnect timer that a wall-clock step may hold back.
  void OpenStream() {
    auto context = std::make_unique<grpc::ClientContext>();
    {
      SteadyMutexLock lock(&mu_);
      context_ = context.get();
    }
    stub_ = rkv::internal::Peer::NewStub(grpc::CreateCustomChannel(
        address_, grpc::InsecureChannelCredentials(), GrpcTransport::ChannelArgs(limits_)));
    ack_ = rkv::internal::BatchAck();
    writer_ = progress_.Watched([&] { return stub_->Stream(context.get(), &ack_); });
    owned_context_ = std::move(context);
  }

  bool Write(std::vector<PartitionMessage>* batch) {
    rkv::internal::MessageBatch wire;
    wire.set_cluster_id(cluster_id_);
    wire.set_from_node(self_id_);
    wire.set_to_node(peer_id_);
    wire.mutable_messages()->Reserve(static_cast<int>(batch->size()));
    for (PartitionMessage& m : *batch) *wire.add_messages() = std::move(m);
    if (progress_.Watched([&] { return writer_->Write(wire); })) {
      if (metrics_ != nullptr) {
        Add(metrics_->sent_messages, static_cast<double>(wire.messages_size()));
        Add(metrics_->sent_bytes, static_cast<double>(wire.ByteSizeLong()));
      }
      return true;
    }
    if (metrics_ != nullptr) Add(metrics_->send_failures, static_cast<double>(wire.messages_size()));
    // Give the messages back for the unreachable report.
    batch->clear();
    for (PartitionMessage& m : *wire.mutable_messages()) batch->push_back(std::move(m));
    return false;
  }

  // Only a broken stream is closed, so nothing is left to flush: cancelling
  // first keeps Finish from waiting on a peer that may never answer. A stream
  // that already failed keeps its first status.
  void CloseStream() {
    if (!writer_) return;
    owned_context_->TryCancel();
    grpc::Status status = writer_->Finish();
    spdlog::debug("peer stream to node {} at {} closed: {}", peer_id_, address_, status.error_message());
    writer_.reset();
    stub_.reset();
    SteadyMutexLock lock(&mu_);
    context_ = nullptr;
    owned_context_.reset();
  }

  void DropQueued() {
    std::set<uint64_t> partitions;
    {
      SteadyMutexLock lock(&mu_);
      for (const PartitionMessage& m : queue_) partitions.insert(m.partition_id());
      queue_.clear();
    }
    if (!partitions.empty()) on_unreachable_(peer_id_, {partitions.begin(), partitions.end()});
  }

  const uint64_t cluster_id_;
  const uint64_t self_id_;
  const uint64_t peer_id_;
  const std::string address_;
  const TransportLimits limits_;
  PeerMetrics* const metrics_;
  UnreachableFn on_unreachable_;

  SteadyMutex mu_;
  std::deque<PartitionMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The open stream's context, so Stop() and the watchdog can cancel a
  // blocked call.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Armed by the sender thread around the calls that may block on the peer.
  ProgressWatch progress_;

  // Used by the sender thread only.
  std::unique_ptr<rkv::internal::Peer::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> owned_context_;
  std::unique_ptr<grpc::ClientWriter<rkv::internal::MessageBatch>> writer_;
  rkv::internal::BatchAck ack_;
  std::thread thread_;
};

grpc::ChannelArguments GrpcTransport::ChannelArgs(const TransportLimits& limits) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, limits.connect_timeout_ms);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, limits.min_backoff_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, limits.max_backoff_ms);
  // Each channel owns its connection: a new channel connects at once instead
  // of inheriting the back-off timer of a shared subchannel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 << 20);
  return args;
}

GrpcTransport::GrpcTransport(uint64_t cluster_id, uint64_t self_id,
                             const std::map<uint64_t, std::string>& peers,
                             const TransportLimits& limits, Metrics* metrics,
                             UnreachableFn on_unreachable) {
  for (const auto& [id, address] : peers) {
    if (id == self_id) continue;
    senders_.emplace(id, std::make_unique<PeerSender>(cluster_id, self_id, id, address, limits,
                                                      metrics->Peer(id), on_unreachable));
  }
  watchdog_ = std::make_unique<PeriodicThread>(
      "rkv-send-watch", absl::Milliseconds(std::max(limits.stall_timeout_ms / 4, 10)), [this] {
        for (auto& [id, sender] : senders_) sender->CancelIfStalled();
      });
}

GrpcTransport::~GrpcTransport() { Stop(); }

void GrpcTransport::Stop() {
  watchdog_->Stop();
  for (auto& [id, sender] : senders_) sender->Stop();
}

void GrpcTransport::Send(uint64_t to_node, std::vector<PartitionMessage> messages) {
  auto it = senders_.find(to_node);
  if (it == senders_.end()) {
    spdlog::warn("dropped {} messages for unknown node {}", messages.size(), to_node);
    return;
  }
  it->second->Enqueue(std::move(messages));
}

// Reads one peer's stream of batches until the peer closes it or sends a
// batch meant for another node or cluster.
class PeerService::StreamReader final
    : public grpc::ServerReadReactor<rkv::internal::MessageBatch> {
 public:
  explicit StreamReader(const PeerService& service) : service_(service) { StartRead(&batch_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    if (batch_.cluster_id() != service_.cluster_id_ || batch_.to_node() != service_.self_id_) {
      Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("a batch for node ", batch_.to_node(), " of cluster ",
                                       batch_.cluster_id(), " reached node ", service_.self_id_,
                                       " of cluster ", service_.cluster_id_)));
      return;
    }
    if (PeerMetrics* m = service_.metrics_->Peer(batch_.from_node())) {
      Add(m->received_messages, static_cast<double>(batch_.messages_size()));
      Add(m->received_bytes, static_cast<double>(batch_.ByteSizeLong()));
    }
    service_.deliver_(std::move(batch_));
    batch_.Clear();
    StartRead(&batch_);
  }

  void OnDone() override { delete this; }

 private:
  const PeerService& service_;
  rkv::internal::MessageBatch batch_;
};

grpc::ServerReadReactor<rkv::internal::MessageBatch>* PeerService::Stream(
    grpc::CallbackServerContext* /*context*/, rkv::internal::BatchAck* /*ack*/) {
  return new StreamReader(*this);
}

grpc::Status PeerService::SendSnapshot(grpc::ServerContext* /*context*/,
                                       grpc::ServerReader<rkv::internal::SnapshotChunk>* reader,
                                       rkv::internal::SnapshotAck* ack) {
  grpc::Status status = receive_snapshot_(reader);
  ack->set_accepted(status.ok());
  if (!status.ok()) ack->set_error(status.error_message());
  return grpc::Status::OK;
}

grpc::Status PeerService::Ping(grpc::ServerContext* /*context*/,
                               const rkv::internal::PingRequest* /*request*/,
                               rkv::internal::PingResponse* /*response*/) {
  return grpc::Status::OK;
}

grpc::Status PeerService::ReadPartition(grpc::ServerContext* context,
                                        const rkv::internal::PartitionReadRequest* request,
                                        rkv::internal::PartitionReadResponse* response) {
  if (request->cluster_id() != cluster_id_) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("a read for cluster ", request->cluster_id(), " reached cluster ",
                                     cluster_id_));
  }
  const auto deadline = context->deadline();
  const absl::Time until = deadline == std::chrono::system_clock::time_point::max()
                               ? absl::Now() + absl::Seconds(30)
                               : absl::FromChrono(deadline);
  return read_partition_(*request, until, response);
}

}  // namespace rkv::server
