// ApplyWorker: applies committed entries to the state machines, off the
// driver thread so persistence never waits for apply (DESIGN §4). Tasks are
// applied in submission order, which keeps each partition's entries in log
// order. After each task it completes the proposals of the applied entries and
// releases the reads whose ReadIndex the state machine has reached. Its queue
// is bounded in entries; Submit blocks past the bound (back-pressure on the
// driver). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "server/metrics.h"
#include "server/requests.h"
#include "server/steady_mutex.h"
#include "storage/state_machine.h"

namespace rkv::server {

struct ApplyTask {
  uint64_t partition_id = 0;
  std::shared_ptr<storage::StateMachine> state_machine;
  // A snapshot was installed by this iteration's write: activate it first.
  bool activate_snapshot = false;
  std::vector<raft::Entry> entries;
  std::vector<storage::ConfStateAt> conf_states;
  // Proposals of these entries, by index (terms already matched).
  std::map<uint64_t, ProposalDone> proposals;
  // Reads that may run once the state machine reached their index.
  std::vector<PendingRead> reads;
  // nullptr when metrics are off.
  PartitionMetrics* metrics = nullptr;
};

class ApplyWorker final {
 public:
  // Called after each task that advanced the applied index, with the
  // partition, its applied index and, if the task changed it, the new
  // membership.
  using AppliedFn = std::function<void(uint64_t partition_id, uint64_t applied_index,
                                       const raft::ConfState* new_conf_state)>;

  ApplyWorker(uint64_t max_queued_entries, Metrics* metrics, AppliedFn on_applied);
  ~ApplyWorker();
  ApplyWorker(const ApplyWorker&) = delete;
  ApplyWorker& operator=(const ApplyWorker&) = delete;

  void Start();
  // Applies what is queued, then stops. Reads still waiting get UNAVAILABLE.
  void Stop();
  void Submit(ApplyTask task);

 private:
  void Run();
  void Apply(ApplyTask& task);
  void ReleaseReads(uint64_t partition_id, uint64_t applied_index);
  void ExpireReads(SteadyClock::time_point now);

  const uint64_t max_queued_entries_;
  Metrics* const metrics_;
  AppliedFn on_applied_;
  SteadyMutex mu_;
  std::deque<ApplyTask> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_entries_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  // Reads waiting for their index, per partition, by index (worker thread only).
  std::map<uint64_t, std::multimap<uint64_t, PendingRead>> waiting_reads_;
};

}  // namespace rkv::server
