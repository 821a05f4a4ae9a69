// Snapshot transfer between nodes (DESIGN §4): a leader streams a partition's
// state to a follower that is behind its log on Peer.SendSnapshot, separately
// from the message streams so heartbeats never wait behind it. The sync gRPC
// writer gives back-pressure; the receiver stages the chunks into SST files
// and hands the staged state and the Raft message to the driver.
// Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "raft/types.h"
#include "rkv/internal/peer.grpc.pb.h"
#include "server/metrics.h"
#include "server/stall_watch.h"
#include "storage/engine.h"
#include "storage/limits.h"
#include "storage/snapshot.h"
#include "storage/state_machine.h"

namespace rkv::server {

class SnapshotSender final {
 public:
  using ReportFn = std::function<void(uint64_t partition_id, uint64_t peer, bool succeeded)>;

  // Longer than a peer stream's stall timeout: a receiver may take seconds
  // to stage a large snapshot, and at thousands of partitions each
  // column-family create holds its writes for about a second.
  static constexpr absl::Duration kDefaultStallTimeout = absl::Seconds(30);

  // A transfer blocked in one call (opening, one write, or waiting for the
  // receiver's answer) for stall_timeout is cancelled and reported failed.
  SnapshotSender(uint64_t cluster_id, uint64_t self_id, std::map<uint64_t, std::string> peer_addresses,
                 const storage::SnapshotLimits& limits, size_t max_concurrent, Metrics* metrics,
                 ReportFn report, absl::Duration stall_timeout = kDefaultStallTimeout);
  ~SnapshotSender();
  SnapshotSender(const SnapshotSender&) = delete;
  SnapshotSender& operator=(const SnapshotSender&) = delete;

  // Streams the state machine's current state to `to`, carrying message (whose
  // snapshot metadata is replaced by the streamed state's). Reports the
  // outcome; past max_concurrent transfers it reports failure at once and
  // Raft retries later.
  void Send(uint64_t to, uint64_t partition_id, raft::Message message,
            std::shared_ptr<storage::StateMachine> state_machine);
  // Cancels transfers in progress and waits for them.
  void Stop();

 private:
  // One transfer's call, as the watchdog sees it.
  struct Call {
    grpc::ClientContext* context;
    ProgressWatch* progress;
  };

  bool Stream(uint64_t to, uint64_t partition_id, raft::Message message,
              storage::StateMachine& state_machine, grpc::ClientContext* context,
              ProgressWatch& progress);
  // Cancels the transfers blocked on one call for longer than
  // stall_timeout_ (run by the watchdog thread).
  void CancelStalled();

  const uint64_t cluster_id_;
  const uint64_t self_id_;
  const std::map<uint64_t, std::string> peer_addresses_;
  const storage::SnapshotLimits limits_;
  const size_t max_concurrent_;
  Metrics* const metrics_;
  ReportFn report_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t active_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  struct Transfer {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  // Joined when finished, at the next Send or at Stop (bounded by max_concurrent).
  std::vector<Transfer> transfers_ ABSL_GUARDED_BY(mu_);
  const absl::Duration stall_timeout_;
  // Declared last: it reads calls_ until it stops.
  PeriodicThread watchdog_;
};

// Receives one snapshot stream; on success hands the Raft message (with the
// staged state's metadata) and the staged state to `deliver`.
using SnapshotDeliverFn = std::function<void(uint64_t partition_id, raft::Message message,
                                             std::unique_ptr<storage::StagedSnapshot> staged)>;
grpc::Status ReceiveSnapshot(storage::Engine* engine, const storage::SnapshotLimits& limits,
                             uint64_t cluster_id, uint64_t self_id, Metrics* metrics,
                             grpc::ServerReader<rkv::internal::SnapshotChunk>* reader,
                             const SnapshotDeliverFn& deliver);

}  // namespace rkv::server
