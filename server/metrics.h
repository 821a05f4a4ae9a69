// Metrics: the node's Prometheus registry and every rkv metric family
// (DESIGN §6). Families and per-partition / per-peer series are created once
// (at start, or on first use behind a mutex); the hot path keeps pointers and
// only touches prometheus-cpp's atomics. A disabled Metrics (rkvd
// --metrics=false, for measuring their cost) hands out nullptr and callers
// skip the update. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace rkv::server {

struct PartitionMetrics {
  prometheus::Gauge* has_leader;
  prometheus::Gauge* is_leader;
  prometheus::Gauge* term;
  prometheus::Gauge* commit_index;
  prometheus::Gauge* applied_index;
  prometheus::Counter* leader_changes;
  prometheus::Counter* proposals_committed;
  prometheus::Counter* proposals_applied;
  prometheus::Gauge* proposals_pending;
  prometheus::Counter* proposals_failed;
  prometheus::Counter* read_index_rounds;
  prometheus::Counter* lease_read_answers;
};

struct PeerMetrics {
  prometheus::Histogram* round_trip_seconds;
  prometheus::Counter* sent_bytes;
  prometheus::Counter* received_bytes;
  prometheus::Counter* sent_messages;
  prometheus::Counter* received_messages;
  prometheus::Counter* send_failures;
  prometheus::Counter* stalled_streams;
};

// Per gRPC method: requests by status code, and latency.
struct MethodMetrics {
  std::array<std::atomic<prometheus::Counter*>, 17> by_code{};
  prometheus::Histogram* latency_seconds = nullptr;
};

class Metrics final {
 public:
  // rpc_methods: the full names ("/rkv.v1.KV/Put") whose series are looked
  // up without a lock; others take a slower path.
  Metrics(uint64_t node_id, bool enabled, const std::vector<std::string>& rpc_methods);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  bool enabled() const { return enabled_; }
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // nullptr when disabled.
  PartitionMetrics* Partition(uint64_t partition_id);
  PeerMetrics* Peer(uint64_t peer_id);
  // Counts one finished gRPC call.
  void RecordRpc(const std::string& method, int code, double seconds);

  prometheus::Histogram* fsync_seconds() { return fsync_seconds_; }
  prometheus::Histogram* group_commit_partitions() { return group_commit_partitions_; }
  prometheus::Histogram* group_commit_bytes() { return group_commit_bytes_; }
  prometheus::Histogram* apply_seconds() { return apply_seconds_; }
  prometheus::Histogram* apply_batch_entries() { return apply_batch_entries_; }
  prometheus::Counter* snapshots_sent() { return snapshots_sent_; }
  prometheus::Counter* snapshots_received() { return snapshots_received_; }
  prometheus::Counter* snapshot_sent_bytes() { return snapshot_sent_bytes_; }
  prometheus::Counter* snapshot_received_bytes() { return snapshot_received_bytes_; }
  prometheus::Histogram* snapshot_seconds() { return snapshot_seconds_; }
  prometheus::Gauge* storage_size_bytes() { return storage_size_bytes_; }
  prometheus::Gauge* storage_live_keys() { return storage_live_keys_; }
  prometheus::Gauge* storage_pending_compaction_bytes() { return storage_pending_compaction_bytes_; }
  prometheus::Gauge* storage_block_cache_bytes() { return storage_block_cache_bytes_; }
  // Brings the row-cache lookup counters up to these totals. One caller at a time.
  void SetRowCacheLookups(uint64_t hits, uint64_t misses);
  // One series per member, value 1, its identity in labels.
  void SetMemberInfo(uint64_t member_id, const std::string& client_address,
                     const std::string& peer_address, const std::string& metrics_address,
                     const std::string& role);

 private:
  const bool enabled_;
  const std::string node_label_;
  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Gauge>* has_leader_ = nullptr;
  prometheus::Family<prometheus::Gauge>* is_leader_ = nullptr;
  prometheus::Family<prometheus::Gauge>* term_ = nullptr;
  prometheus::Family<prometheus::Gauge>* commit_index_ = nullptr;
  prometheus::Family<prometheus::Gauge>* applied_index_ = nullptr;
  prometheus::Family<prometheus::Counter>* leader_changes_ = nullptr;
  prometheus::Family<prometheus::Counter>* proposals_committed_ = nullptr;
  prometheus::Family<prometheus::Counter>* proposals_applied_ = nullptr;
  prometheus::Family<prometheus::Gauge>* proposals_pending_ = nullptr;
  prometheus::Family<prometheus::Counter>* proposals_failed_ = nullptr;
  prometheus::Family<prometheus::Counter>* read_index_rounds_ = nullptr;
  prometheus::Family<prometheus::Counter>* lease_read_answers_ = nullptr;
  prometheus::Family<prometheus::Histogram>* peer_rtt_ = nullptr;
  prometheus::Family<prometheus::Counter>* peer_sent_bytes_ = nullptr;
  prometheus::Family<prometheus::Counter>* peer_received_bytes_ = nullptr;
  prometheus::Family<prometheus::Counter>* peer_sent_messages_ = nullptr;
  prometheus::Family<prometheus::Counter>* peer_received_messages_ = nullptr;
  prometheus::Family<prometheus::Counter>* peer_send_failures_ = nullptr;
  prometheus::Family<prometheus::Counter>* peer_stalled_streams_ = nullptr;
  prometheus::Family<prometheus::Counter>* grpc_requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* grpc_latency_ = nullptr;
  prometheus::Family<prometheus::Gauge>* member_info_ = nullptr;

  prometheus::Histogram* fsync_seconds_ = nullptr;
  prometheus::Histogram* group_commit_partitions_ = nullptr;
  prometheus::Histogram* group_commit_bytes_ = nullptr;
  prometheus::Histogram* apply_seconds_ = nullptr;
  prometheus::Histogram* apply_batch_entries_ = nullptr;
  prometheus::Counter* snapshots_sent_ = nullptr;
  prometheus::Counter* snapshots_received_ = nullptr;
  prometheus::Counter* snapshot_sent_bytes_ = nullptr;
  prometheus::Counter* snapshot_received_bytes_ = nullptr;
  prometheus::Histogram* snapshot_seconds_ = nullptr;
  prometheus::Gauge* storage_size_bytes_ = nullptr;
  prometheus::Gauge* storage_live_keys_ = nullptr;
  prometheus::Gauge* storage_pending_compaction_bytes_ = nullptr;
  prometheus::Gauge* storage_block_cache_bytes_ = nullptr;
  prometheus::Counter* row_cache_hits_ = nullptr;
  prometheus::Counter* row_cache_misses_ = nullptr;

  absl::Mutex mu_;
  std::map<uint64_t, std::unique_ptr<PartitionMetrics>> partitions_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::unique_ptr<PeerMetrics>> peers_ ABSL_GUARDED_BY(mu_);
  // Immutable after construction: read without the lock.
  std::map<std::string, std::unique_ptr<MethodMetrics>> known_methods_;
  std::map<std::string, std::unique_ptr<MethodMetrics>> other_methods_ ABSL_GUARDED_BY(mu_);
};

// Adds to a counter / observes a histogram when the metric exists.
inline void Add(prometheus::Counter* c, double v = 1) {
  if (c != nullptr) c->Increment(v);
}
inline void Set(prometheus::Gauge* g, double v) {
  if (g != nullptr) g->Set(v);
}
inline void Observe(prometheus::Histogram* h, double v) {
  if (h != nullptr) h->Observe(v);
}

}  // namespace rkv::server
