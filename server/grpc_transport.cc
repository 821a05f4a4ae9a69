#include "server/grpc_transport.h"

#include <algorithm>
#include <deque>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/logging.h"
#include "server/stall_watch.h"
#include "server/steady_mutex.h"
#include "spdlog/spdlog.h"

namespace rkv::server {

// The sender of one peer: a bounded queue and one Peer.Stream at a time,
// written with gRPC's callback API. Whoever queues messages starts the write
// when the stream is idle (usually the driver, between its passes), and each
// finished write starts the next from the gRPC thread that completed it. A
// sender thread cost a wake-up and a context switch per batch (35% of its
// time went to waiting and switching under linearizable reads).
//
// The current stream carries a gRPC hold, so gRPC cannot finish it (and it
// cannot delete itself) while another thread is about to write to it; a
// stream that broke while idle is found out by its next write. A broken
// stream drops what was queued (Raft retransmits), reports those partitions
// unreachable, and no new stream opens until a back-off, doubling per
// failure and timed on the monotonic clock, has passed.
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
        on_unreachable_(std::move(on_unreachable)),
        backoff_(absl::Milliseconds(limits.min_backoff_ms)) {}
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
    if (!dropped.empty()) {
      if (metrics_ != nullptr) Add(metrics_->send_failures, static_cast<double>(dropped.size()));
      on_unreachable_(peer_id_, std::move(dropped));
    }
    StartNextWrite();
  }

  // Cancels the stream, waits until gRPC is done with it, and drops what is
  // queued. Later Enqueues are dropped without a report.
  void Stop() {
    std::shared_ptr<grpc::ClientContext> context;
    Stream* idle = nullptr;
    {
      SteadyMutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      queue_.clear();
      if (stream_ != nullptr) {
        context = stream_->context();
        // A write in flight ends in WriteDone, which lets the stream go.
        if (!writing_) idle = ForgetStream();
      }
    }
    // Outside the lock: gRPC may run the stream's callbacks in these calls.
    if (context) context->TryCancel();
    if (idle != nullptr) idle->Release();
    SteadyMutexLock lock(&mu_);
    mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_streams_ == 0; });
  }

  // Called every so often by the transport's watchdog thread. A stream stuck
  // opening or in one write past the stall timeout is cancelled, which fails
  // the write at once, so the sender reconnects. Messages that queued while a
  // back-off held the stream closed go out once it has passed, even if
  // nothing new is queued.
  void Poll() {
    if (progress_.TakeStall(absl::Milliseconds(limits_.stall_timeout_ms))) {
      std::shared_ptr<grpc::ClientContext> context;
      {
        SteadyMutexLock lock(&mu_);
        if (stream_ != nullptr && writing_) context = stream_->context();
      }
      if (context) {
        if (metrics_ != nullptr) Add(metrics_->stalled_streams);
        spdlog::warn("the stream to node {} at {} made no progress for {} ms; reconnecting", peer_id_,
                     address_, limits_.stall_timeout_ms);
        context->TryCancel();
      }
    }
    StartNextWrite();
  }

 private:
  // One Peer.Stream call. Deletes itself when gRPC is done with it.
  class Stream final : public grpc::ClientWriteReactor<rkv::internal::MessageBatch> {
   public:
    explicit Stream(PeerSender* sender)
        : sender_(sender), context_(std::make_shared<grpc::ClientContext>()) {}
    const std::shared_ptr<grpc::ClientContext>& context() const { return context_; }
    // The batch being written; only the writer (PeerSender::writing_) touches it.
    rkv::internal::MessageBatch& wire() { return wire_; }

    void Open(rkv::internal::Peer::Stub* stub) {
      stub->async()->Stream(context_.get(), &ack_, this);
      AddHold();
      StartWrite(&wire_);
      StartCall();
    }
    void Write() { StartWrite(&wire_); }
    // Lets gRPC finish the call (cancelled first) and then call OnDone.
    void Release() {
      context_->TryCancel();
      RemoveHold();
    }

    void OnWriteDone(bool ok) override { sender_->WriteDone(this, ok); }
    void OnDone(const grpc::Status& status) override {
      sender_->StreamDone(status);
      delete this;
    }

   private:
    PeerSender* const sender_;
    const std::shared_ptr<grpc::ClientContext> context_;
    rkv::internal::BatchAck ack_;
    rkv::internal::MessageBatch wire_;
  };

  // Writes the next queued batch if nothing is being written, opening a
  // stream first when there is none and the back-off has passed. Never called
  // with mu_ held: gRPC may run callbacks (which lock it) inside its calls.
  void StartNextWrite() {
    Stream* stream = nullptr;
    // Set when the write opens a new stream, on this channel.
    rkv::internal::Peer::Stub* open_on = nullptr;
    // Destroyed after the unlock.
    std::unique_ptr<rkv::internal::Peer::Stub> retired;
    {
      SteadyMutexLock lock(&mu_);
      if (stopping_ || writing_ || queue_.empty()) return;
      if (stream_ == nullptr) {
        if (SteadyClock::now() < reconnect_after_) return;
        // Each stream gets a new channel, and with it a new connection
        // (channels do not share subchannels; see ChannelArgs): reconnecting
        // then waits only for the sender's own back-off, on the monotonic
        // clock, never for a gRPC reconnect timer that a wall-clock step may
        // hold back. The old channel goes once the new one exists; a stream
        // still closing on it keeps what it needs alive.
        retired = std::move(stub_);
        stub_ = rkv::internal::Peer::NewStub(grpc::CreateCustomChannel(
            address_, grpc::InsecureChannelCredentials(), GrpcTransport::ChannelArgs(limits_)));
        stream_ = new Stream(this);
        ++open_streams_;
        open_on = stub_.get();
      }
      stream = stream_;
      writing_ = true;
      FillBatch(&stream->wire());
      progress_.Arm();
    }
    if (open_on != nullptr) {
      stream->Open(open_on);
    } else {
      stream->Write();
    }
  }

  // Moves up to max_batch_bytes of queued messages into wire.
  void FillBatch(rkv::internal::MessageBatch* wire) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    wire->Clear();
    wire->set_cluster_id(cluster_id_);
    wire->set_from_node(self_id_);
    wire->set_to_node(peer_id_);
    size_t bytes = 0;
    while (!queue_.empty() && (wire->messages_size() == 0 || bytes < limits_.max_batch_bytes)) {
      bytes += queue_.front().ByteSizeLong();
      *wire->add_messages() = std::move(queue_.front());
      queue_.pop_front();
    }
  }

  // Runs on a gRPC thread, or inside StartNextWrite's call into gRPC.
  void WriteDone(Stream* stream, bool ok) {
    progress_.Disarm();
    const rkv::internal::MessageBatch& wire = stream->wire();
    if (metrics_ != nullptr) {
      if (ok) {
        Add(metrics_->sent_messages, static_cast<double>(wire.messages_size()));
        // gRPC sized the batch when it serialized it; ByteSizeLong would
        // walk every message again.
        Add(metrics_->sent_bytes, static_cast<double>(wire.GetCachedSize()));
      } else {
        Add(metrics_->send_failures, static_cast<double>(wire.messages_size()));
      }
    }
    std::set<uint64_t> lost;
    Stream* released = nullptr;
    {
      SteadyMutexLock lock(&mu_);
      writing_ = false;
      if (ok && !stopping_) {
        backoff_ = absl::Milliseconds(limits_.min_backoff_ms);
      } else {
        // The stream broke (or is being stopped): what it carried and what
        // waits behind it is lost. A write in flight is always on the
        // current stream, so this forgets `stream`.
        if (!ok && !stopping_) {
          for (const PartitionMessage& m : wire.messages()) lost.insert(m.partition_id());
          for (const PartitionMessage& m : queue_) lost.insert(m.partition_id());
          queue_.clear();
        }
        released = ForgetStream();
      }
    }
    if (released == nullptr) {
      StartNextWrite();
      return;
    }
    released->Release();  // `stream` may be gone from here on
    if (!lost.empty()) on_unreachable_(peer_id_, {lost.begin(), lost.end()});
  }

  void StreamDone(const grpc::Status& status) {
    if (!status.ok()) {
      spdlog::debug("peer stream to node {} at {} closed: {}", peer_id_, address_,
                    status.error_message());
    }
    SteadyMutexLock lock(&mu_);
    --open_streams_;
    // Under the lock: once Stop sees no open stream, the sender may be gone.
    mu_.NotifyAll();
  }

  // Makes the current stream no longer the one to write to, and returns it;
  // the caller releases it once outside mu_. The next stream waits for the
  // back-off.
  Stream* ForgetStream() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Stream* stream = stream_;
    stream_ = nullptr;
    reconnect_after_ = SteadyClock::now() + absl::ToChronoNanoseconds(backoff_);
    backoff_ = std::min(backoff_ * 2, absl::Milliseconds(limits_.max_backoff_ms));
    return stream;
  }

  const uint64_t cluster_id_;
  const uint64_t self_id_;
  const uint64_t peer_id_;
  const std::string address_;
  const TransportLimits limits_;
  PeerMetrics* const metrics_;
  const UnreachableFn on_unreachable_;

  SteadyMutex mu_;
  std::deque<PartitionMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The stream to write to, if any (it holds a gRPC hold until forgotten and
  // released), and whether a write on it is in flight.
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Streams gRPC has not finished with (a broken one may still be closing).
  int open_streams_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  SteadyClock::time_point reconnect_after_ ABSL_GUARDED_BY(mu_) = SteadyClock::time_point::min();
  // Armed from the start of a write (or of opening a stream) to its end.
  ProgressWatch progress_;
  // The channel of the newest stream. Owned here, not by the stream: a
  // stream ends on a gRPC thread, and the last channel in a process must not
  // be destroyed on one (it would join gRPC's callback threads from one of
  // them).
  std::unique_ptr<rkv::internal::Peer::Stub> stub_ ABSL_GUARDED_BY(mu_);
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
        for (auto& [id, sender] : senders_) sender->Poll();
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
