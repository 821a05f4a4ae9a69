#include "server/metrics.h"

#include "absl/strings/str_cat.h"

namespace rkv::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Latency buckets from 100 µs to 10 s: fsyncs, applies and RPCs all fit.
Histogram::BucketBoundaries SecondsBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
Histogram::BucketBoundaries CountBuckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384}; }
Histogram::BucketBoundaries BytesBuckets() {
  return {256, 1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20, 16 << 20, 64 << 20};
}

}  // namespace

Metrics::Metrics(uint64_t node_id, bool enabled, const std::vector<std::string>& rpc_methods)
    : enabled_(enabled), node_label_(absl::StrCat(node_id)), registry_(std::make_shared<prometheus::Registry>()) {
  if (!enabled_) return;
  prometheus::Registry& r = *registry_;
  auto gauge = [&r](const char* name, const char* help) { return &BuildGauge().Name(name).Help(help).Register(r); };
  auto counter = [&r](const char* name, const char* help) {
    return &BuildCounter().Name(name).Help(help).Register(r);
  };
  auto histogram = [&r](const char* name, const char* help) {
    return &BuildHistogram().Name(name).Help(help).Register(r);
  };
  has_leader_ = gauge("rkv_raft_has_leader", "1 when this replica knows a leader for the partition, else 0.");
  is_leader_ = gauge("rkv_raft_is_leader", "1 when this node leads the partition, else 0.");
  term_ = gauge("rkv_raft_term", "The partition's current Raft term on this replica.");
  commit_index_ = gauge("rkv_raft_commit_index", "The highest log index this replica knows is committed.");
  applied_index_ = gauge("rkv_raft_applied_index", "The highest log index applied to this replica's state machine.");
  leader_changes_ = counter("rkv_raft_leader_changes_total",
                            "Times this replica saw the partition's leader change (including to none).");
  proposals_committed_ = counter("rkv_proposals_committed_total",
                                 "Writes proposed on this node whose entries committed.");
  proposals_applied_ = counter("rkv_proposals_applied_total",
                               "Log entries applied to this replica's state machine.");
  proposals_pending_ = gauge("rkv_proposals_pending", "Writes proposed on this node that have not committed yet.");
  proposals_failed_ = counter("rkv_proposals_failed_total",
                              "Writes that failed: not proposed, replaced by a new leader, or timed out.");
  read_index_rounds_ = counter("rkv_read_index_rounds_total",
                               "ReadIndex rounds started; one confirms leadership for every linearizable read "
                               "queued since the one before.");
  lease_read_answers_ = counter("rkv_read_index_lease_answers_total",
                                "Followers' ReadIndex requests this leader answered from its read lease, "
                                "without a round of heartbeats.");
  peer_rtt_ = histogram("rkv_peer_round_trip_seconds", "Round-trip time of a ping to each peer.");
  peer_sent_bytes_ = counter("rkv_peer_sent_bytes_total", "Bytes of Raft message batches sent to each peer.");
  peer_received_bytes_ = counter("rkv_peer_received_bytes_total", "Bytes of Raft message batches received from each peer.");
  peer_sent_messages_ = counter("rkv_peer_sent_messages_total", "Raft messages sent to each peer.");
  peer_received_messages_ = counter("rkv_peer_received_messages_total", "Raft messages received from each peer.");
  peer_send_failures_ = counter("rkv_peer_send_failures_total",
                                "Raft messages dropped because a peer's queue was full or its stream broke.");
  peer_stalled_streams_ = counter("rkv_peer_stalled_streams_total",
                                  "Streams to each peer cancelled and reconnected because they made no progress "
                                  "for the stall timeout.");
  grpc_requests_ = counter("rkv_grpc_requests_total", "Client gRPC requests served, by method and status code.");
  grpc_latency_ = histogram("rkv_grpc_request_duration_seconds", "Latency of client gRPC requests, by method.");
  member_info_ = gauge("rkv_member_info", "One series per cluster member (value 1), with its addresses and role.");

  const prometheus::Labels node = {{"node", node_label_}};
  fsync_seconds_ = &histogram("rkv_log_fsync_duration_seconds",
                              "Duration of the synced write that persists one driver pass (all partitions).")
                        ->Add(node, SecondsBuckets());
  group_commit_partitions_ = &histogram("rkv_group_commit_partitions",
                                        "Partitions whose Raft state one synced write carried.")
                                  ->Add(node, CountBuckets());
  group_commit_bytes_ = &histogram("rkv_group_commit_bytes", "Bytes one synced write carried.")->Add(node, BytesBuckets());
  apply_seconds_ = &histogram("rkv_apply_duration_seconds", "Duration of applying one batch of committed entries.")
                        ->Add(node, SecondsBuckets());
  apply_batch_entries_ = &histogram("rkv_apply_batch_entries", "Entries applied in one batch.")->Add(node, CountBuckets());
  snapshots_sent_ = &counter("rkv_snapshots_sent_total", "Partition snapshots sent to peers.")->Add(node);
  snapshots_received_ = &counter("rkv_snapshots_received_total", "Partition snapshots received from peers.")->Add(node);
  snapshot_sent_bytes_ = &counter("rkv_snapshot_sent_bytes_total", "Bytes of snapshots sent.")->Add(node);
  snapshot_received_bytes_ = &counter("rkv_snapshot_received_bytes_total", "Bytes of snapshots received.")->Add(node);
  snapshot_seconds_ = &histogram("rkv_snapshot_duration_seconds", "Time to send one snapshot.")
                           ->Add(node, Histogram::BucketBoundaries{0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300});
  storage_size_bytes_ = &gauge("rkv_storage_size_bytes", "Size of the node's RocksDB files on disk.")->Add(node);
  storage_live_keys_ = &gauge("rkv_storage_live_keys_estimate", "RocksDB's estimate of the keys stored.")->Add(node);
  storage_pending_compaction_bytes_ =
      &gauge("rkv_storage_pending_compaction_bytes", "Bytes RocksDB estimates compaction must rewrite.")->Add(node);
  storage_block_cache_bytes_ =
      &gauge("rkv_storage_block_cache_usage_bytes",
             "Memory in use by the shared block cache (memtables and cached rows included).")
           ->Add(node);
  auto* row_lookups = counter("rkv_storage_row_cache_lookups_total",
                              "Point reads by whether the row cache answered (hit) or RocksDB did (miss).");
  row_cache_hits_ = &row_lookups->Add({{"node", node_label_}, {"result", "hit"}});
  row_cache_misses_ = &row_lookups->Add({{"node", node_label_}, {"result", "miss"}});
  for (const std::string& method : rpc_methods) {
    known_methods_[method] = std::make_unique<MethodMetrics>();
    known_methods_[method]->latency_seconds =
        &grpc_latency_->Add({{"node", node_label_}, {"method", method}}, SecondsBuckets());
  }
}

PartitionMetrics* Metrics::Partition(uint64_t partition_id) {
  if (!enabled_) return nullptr;
  absl::MutexLock lock(&mu_);
  auto& slot = partitions_[partition_id];
  if (!slot) {
    const prometheus::Labels labels = {{"node", node_label_}, {"partition", absl::StrCat(partition_id)}};
    slot = std::make_unique<PartitionMetrics>(PartitionMetrics{
        &has_leader_->Add(labels), &is_leader_->Add(labels), &term_->Add(labels),
        &commit_index_->Add(labels), &applied_index_->Add(labels), &leader_changes_->Add(labels),
        &proposals_committed_->Add(labels), &proposals_applied_->Add(labels),
        &proposals_pending_->Add(labels), &proposals_failed_->Add(labels),
        &read_index_rounds_->Add(labels), &lease_read_answers_->Add(labels)});
  }
  return slot.get();
}

PeerMetrics* Metrics::Peer(uint64_t peer_id) {
  if (!enabled_) return nullptr;
  absl::MutexLock lock(&mu_);
  auto& slot = peers_[peer_id];
  if (!slot) {
    const prometheus::Labels labels = {{"node", node_label_}, {"peer", absl::StrCat(peer_id)}};
    slot = std::make_unique<PeerMetrics>(PeerMetrics{
        &peer_rtt_->Add(labels, SecondsBuckets()), &peer_sent_bytes_->Add(labels),
        &peer_received_bytes_->Add(labels), &peer_sent_messages_->Add(labels),
        &peer_received_messages_->Add(labels), &peer_send_failures_->Add(labels),
        &peer_stalled_streams_->Add(labels)});
  }
  return slot.get();
}

void Metrics::RecordRpc(const std::string& method, int code, double seconds) {
  if (!enabled_ || code < 0 || code >= 17) return;
  MethodMetrics* m = nullptr;
  if (auto it = known_methods_.find(method); it != known_methods_.end()) {
    m = it->second.get();
  } else {
    absl::MutexLock lock(&mu_);
    auto& slot = other_methods_[method];
    if (!slot) {
      slot = std::make_unique<MethodMetrics>();
      slot->latency_seconds =
          &grpc_latency_->Add({{"node", node_label_}, {"method", method}}, SecondsBuckets());
    }
    m = slot.get();
  }
  prometheus::Counter* counter = m->by_code[code].load(std::memory_order_acquire);
  if (counter == nullptr) {
    static const char* const kCodes[17] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    // Family::Add returns the same series for the same labels, so a race
    // here stores the same pointer twice.
    counter = &grpc_requests_->Add({{"node", node_label_}, {"method", method}, {"code", kCodes[code]}});
    m->by_code[code].store(counter, std::memory_order_release);
  }
  counter->Increment();
  m->latency_seconds->Observe(seconds);
}

void Metrics::SetRowCacheLookups(uint64_t hits, uint64_t misses) {
  if (!enabled_) return;
  // The cache keeps the totals; a counter can only be added to.
  for (auto [counter, total] : {std::pair{row_cache_hits_, hits}, std::pair{row_cache_misses_, misses}}) {
    const double seen = counter->Value();
    if (static_cast<double>(total) > seen) counter->Increment(static_cast<double>(total) - seen);
  }
}

void Metrics::SetMemberInfo(uint64_t member_id, const std::string& client_address,
                            const std::string& peer_address, const std::string& metrics_address,
                            const std::string& role) {
  if (!enabled_) return;
  member_info_
      ->Add({{"node", node_label_},
             {"member_id", absl::StrCat(member_id)},
             {"client_address", client_address},
             {"peer_address", peer_address},
             {"metrics_address", metrics_address},
             {"role", role}})
      .Set(1);
}

}  // namespace rkv::server
