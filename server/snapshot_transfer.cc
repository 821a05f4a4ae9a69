#include "server/snapshot_transfer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/failpoint.h"
#include "server/grpc_transport.h"
#include "server/logging.h"
#include "spdlog/spdlog.h"

namespace rkv::server {

namespace pb = rkv::internal;

SnapshotSender::SnapshotSender(uint64_t cluster_id, uint64_t self_id,
                               std::map<uint64_t, std::string> peer_addresses,
                               const storage::SnapshotLimits& limits, size_t max_concurrent,
                               Metrics* metrics, ReportFn report, absl::Duration stall_timeout)
    : cluster_id_(cluster_id),
      self_id_(self_id),
      peer_addresses_(std::move(peer_addresses)),
      limits_(limits),
      max_concurrent_(max_concurrent),
      metrics_(metrics),
      report_(std::move(report)),
      stall_timeout_(stall_timeout),
      watchdog_("rkv-snap-watch", std::min(stall_timeout / 4, absl::Seconds(1)),
                [this] { CancelStalled(); }) {}

SnapshotSender::~SnapshotSender() { Stop(); }

void SnapshotSender::Send(uint64_t to, uint64_t partition_id, raft::Message message,
                          std::shared_ptr<storage::StateMachine> state_machine) {
  absl::MutexLock lock(&mu_);
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (!it->done->load()) {
      ++it;
      continue;
    }
    it->thread.join();
    it = transfers_.erase(it);
  }
  const bool known = peer_addresses_.count(to) > 0;
  if (!known) spdlog::warn("partition={} cannot send a snapshot to node {}: no such member", partition_id, to);
  if (stopping_ || active_ >= max_concurrent_ || !known) {
    // Raft retries after a failed report.
    report_(partition_id, to, false);
    return;
  }
  ++active_;
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, to, partition_id, done, message = std::move(message),
                      sm = std::move(state_machine)]() mutable {
    grpc::ClientContext context;
    ProgressWatch progress;
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back({&context, &progress});
    }
    const bool ok = Stream(to, partition_id, std::move(message), *sm, &context, progress);
    {
      absl::MutexLock lock(&mu_);
      calls_.erase(std::find_if(calls_.begin(), calls_.end(),
                                [&](const Call& c) { return c.context == &context; }));
      --active_;
    }
    report_(partition_id, to, ok);
    done->store(true);
  });
  transfers_.push_back({std::move(thread), std::move(done)});
}

bool SnapshotSender::Stream(uint64_t to, uint64_t partition_id, raft::Message message,
                            storage::StateMachine& state_machine, grpc::ClientContext* context,
                            ProgressWatch& progress) {
  absl::StatusOr<std::unique_ptr<storage::SnapshotReader>> reader = state_machine.OpenSnapshot(limits_);
  if (!reader.ok()) {
    spdlog::warn("partition={} could not open a snapshot for node {}: {}", partition_id, to,
                 reader.status().message());
    return false;
  }
  // The streamed state is authoritative: at the state machine's applied
  // index, which is at or past the log's compaction point the leader saw.
  *message.mutable_snapshot()->mutable_metadata() = (*reader)->metadata();
  const uint64_t index = (*reader)->metadata().index();
  const SteadyClock::time_point start = SteadyClock::now();
  spdlog::info("partition={} sending snapshot at index {} to node {}", partition_id, index, to);
  auto channel = grpc::CreateCustomChannel(peer_addresses_.at(to), grpc::InsecureChannelCredentials(),
                                           GrpcTransport::ChannelArgs(TransportLimits()));
  auto stub = pb::Peer::NewStub(channel);
  pb::SnapshotAck ack;
  std::unique_ptr<grpc::ClientWriter<pb::SnapshotChunk>> writer =
      progress.Watched([&] { return stub->SendSnapshot(context, &ack); });
  bool first = true;
  uint64_t bytes = 0;
  while (true) {
    absl::StatusOr<std::optional<std::string>> chunk = (*reader)->Next();
    if (absl::Status fp = RKV_FAILPOINT("snapshot-send"); chunk.ok() && !fp.ok()) chunk = fp;
    if (!chunk.ok()) {
      spdlog::warn("partition={} snapshot read failed: {}", partition_id, chunk.status().message());
      context->TryCancel();
      writer->Finish();
      return false;
    }
    pb::SnapshotChunk out;
    out.set_cluster_id(cluster_id_);
    out.set_from_node(self_id_);
    out.set_to_node(to);
    out.set_partition_id(partition_id);
    if (first) *out.mutable_message() = message;
    first = false;
    if (!chunk->has_value()) {
      out.set_last(true);
    } else {
      bytes += (*chunk)->size();
      out.set_data(std::move(**chunk));
    }
    if (!progress.Watched([&] { return writer->Write(out); })) break;
    if (out.last()) break;
  }
  // Finish waits for the receiver to stage the whole snapshot.
  grpc::Status status = progress.Watched([&] {
    writer->WritesDone();
    return writer->Finish();
  });
  if (!status.ok() || !ack.accepted()) {
    spdlog::warn("partition={} snapshot to node {} failed: {} {}", partition_id, to,
                 status.error_message(), ack.error());
    return false;
  }
  spdlog::info("partition={} sent snapshot at index {} to node {} ({} bytes)", partition_id, index, to,
               bytes);
  Add(metrics_->snapshots_sent());
  Add(metrics_->snapshot_sent_bytes(), static_cast<double>(bytes));
  Observe(metrics_->snapshot_seconds(), absl::ToDoubleSeconds(Since(start)));
  return true;
}

void SnapshotSender::Stop() {
  watchdog_.Stop();
  std::vector<Transfer> transfers;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const Call& call : calls_) call.context->TryCancel();
    transfers.swap(transfers_);
  }
  for (Transfer& t : transfers) t.thread.join();
}

void SnapshotSender::CancelStalled() {
  absl::MutexLock lock(&mu_);
  for (const Call& call : calls_) {
    if (call.progress->TakeStall(stall_timeout_)) {
      spdlog::warn("a snapshot transfer made no progress for {}; cancelling it",
                   absl::FormatDuration(stall_timeout_));
      call.context->TryCancel();
    }
  }
}

grpc::Status ReceiveSnapshot(storage::Engine* engine, const storage::SnapshotLimits& limits,
                             uint64_t cluster_id, uint64_t self_id, Metrics* metrics,
                             grpc::ServerReader<pb::SnapshotChunk>* reader,
                             const SnapshotDeliverFn& deliver) {
  pb::SnapshotChunk chunk;
  if (!reader->Read(&chunk)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty snapshot stream");
  }
  if (chunk.cluster_id() != cluster_id || chunk.to_node() != self_id) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("a snapshot for node ", chunk.to_node(), " of cluster ",
                                     chunk.cluster_id(), " reached node ", self_id));
  }
  if (!chunk.has_message() || chunk.message().type() != pb::MSG_SNAPSHOT) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first snapshot chunk carries no snapshot message");
  }
  const uint64_t partition_id = chunk.partition_id();
  raft::Message message = chunk.message();
  absl::StatusOr<std::unique_ptr<storage::SnapshotReceiver>> receiver =
      storage::SnapshotReceiver::Start(engine, partition_id, limits);
  if (!receiver.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(receiver.status().code()),
                        std::string(receiver.status().message()));
  }
  uint64_t bytes = 0;
  while (true) {
    bytes += chunk.data().size();
    if (chunk.partition_id() != partition_id) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "snapshot chunks of two partitions mixed");
    }
    if (!chunk.data().empty()) {
      absl::Status s = (*receiver)->Add(chunk.data());
      if (!s.ok()) {
        spdlog::warn("partition={} rejected a snapshot from node {}: {}", partition_id,
                     chunk.from_node(), s.message());
        return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
      }
    }
    if (chunk.last()) break;
    if (!reader->Read(&chunk)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("partition ", partition_id, ": the snapshot stream ended early"));
    }
  }
  absl::StatusOr<std::unique_ptr<storage::StagedSnapshot>> staged = (*receiver)->Finish();
  if (!staged.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(staged.status().code()),
                        std::string(staged.status().message()));
  }
  *message.mutable_snapshot()->mutable_metadata() = (*staged)->metadata();
  Add(metrics->snapshots_received());
  Add(metrics->snapshot_received_bytes(), static_cast<double>(bytes));
  spdlog::info("partition={} received snapshot at index {} from node {}", partition_id,
               (*staged)->metadata().index(), message.from());
  absl::Status fp = RKV_FAILPOINT("snapshot-install");
  if (!fp.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(fp.message()));
  deliver(partition_id, std::move(message), std::move(*staged));
  return grpc::Status::OK;
}

}  // namespace rkv::server
