#include "server/apply_worker.h"

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "server/failpoint.h"
#include "server/logging.h"
#include "server/thread_name.h"
#include "spdlog/spdlog.h"

namespace rkv::server {

ApplyWorker::ApplyWorker(uint64_t max_queued_entries, Metrics* metrics, AppliedFn on_applied)
    : max_queued_entries_(max_queued_entries), metrics_(metrics), on_applied_(std::move(on_applied)) {}

ApplyWorker::~ApplyWorker() { Stop(); }

void ApplyWorker::Start() {
  thread_ = StartNamedThread("rkv-apply", [this] { Run(); });
}

void ApplyWorker::Stop() {
  {
    SteadyMutexLock lock(&mu_);
    stopping_ = true;
  }
  mu_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

void ApplyWorker::Submit(ApplyTask task) {
  {
    SteadyMutexLock lock(&mu_);
    // Back-pressure: the driver waits while apply is far behind, rather than
    // queueing without bound (STYLE §1.6). One task is always admitted.
    mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return queued_entries_ < max_queued_entries_ || queue_.empty() || stopping_;
    });
    queued_entries_ += task.entries.size();
    queue_.push_back(std::move(task));
  }
  mu_.NotifyAll();
}

void ApplyWorker::Run() {
  while (true) {
    std::deque<ApplyTask> tasks;
    {
      SteadyMutexLock lock(&mu_);
      // Wakes periodically to time out reads whose index is never reached.
      mu_.AwaitFor([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); },
                   absl::Milliseconds(100));
      if (queue_.empty() && stopping_) break;
      tasks.swap(queue_);
      queued_entries_ = 0;
    }
    // A Submit waiting for room may go on.
    mu_.NotifyAll();
    for (ApplyTask& task : tasks) Apply(task);
    ExpireReads(SteadyClock::now());
  }
  for (auto& [partition, reads] : waiting_reads_) {
    for (auto& [index, read] : reads) {
      std::move(read.done)(absl::UnavailableError(
          absl::StrCat("partition ", partition, " on this node is shutting down")));
    }
  }
  waiting_reads_.clear();
}

void ApplyWorker::Apply(ApplyTask& task) {
  storage::StateMachine& sm = *task.state_machine;
  const uint64_t applied_before = sm.applied_index();
  if (task.activate_snapshot) {
    absl::StatusOr<bool> activated = sm.MaybeActivateSnapshot();
    RKV_CHECK_OK(activated.status());
  }
  RKV_CHECK_OK(RKV_FAILPOINT("apply-before"));
  const raft::ConfState* new_conf = nullptr;
  if (!task.entries.empty()) {
    const SteadyClock::time_point start = SteadyClock::now();
    absl::StatusOr<std::vector<storage::EntryResult>> results = sm.Apply(task.entries, task.conf_states);
    Observe(metrics_->apply_seconds(), absl::ToDoubleSeconds(Since(start)));
    Observe(metrics_->apply_batch_entries(), static_cast<double>(task.entries.size()));
    if (task.metrics != nullptr) Add(task.metrics->proposals_applied, static_cast<double>(task.entries.size()));
    // The entries come from the committed log in order; a refusal here is a
    // bug or a storage failure, and the replica cannot go on (STYLE §3).
    RKV_CHECK_OK(results.status());
    for (storage::EntryResult& result : *results) {
      auto it = task.proposals.find(result.index);
      if (it == task.proposals.end()) continue;
      std::move(it->second)(std::move(result));
      task.proposals.erase(it);
    }
    if (!task.conf_states.empty()) new_conf = &task.conf_states.back().conf_state;
  }
  // Entries skipped because a snapshot already covered them: their outcome
  // is in the snapshot, but their results are not recorded.
  for (auto& [index, done] : task.proposals) {
    std::move(done)(absl::DeadlineExceededError(absl::StrCat(
        "outcome unknown: partition ", task.partition_id, " installed a snapshot past index ", index)));
  }
  auto& waiting = waiting_reads_[task.partition_id];
  for (PendingRead& read : task.reads) waiting.emplace(read.index, std::move(read));
  RKV_CHECK_OK(RKV_FAILPOINT("apply-after"));
  ReleaseReads(task.partition_id, sm.applied_index());
  // A task that only released reads changed nothing the driver tracks;
  // reporting it anyway would queue a report, and a compaction check, per
  // ReadIndex round for nothing.
  if (sm.applied_index() == applied_before && new_conf == nullptr) return;
  if (task.metrics != nullptr) Set(task.metrics->applied_index, static_cast<double>(sm.applied_index()));
  on_applied_(task.partition_id, sm.applied_index(), new_conf);
}

void ApplyWorker::ExpireReads(SteadyClock::time_point now) {
  for (auto& [partition, reads] : waiting_reads_) {
    for (auto it = reads.begin(); it != reads.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      std::move(it->second.done)(absl::DeadlineExceededError(absl::StrCat(
          "partition ", partition, " did not apply index ", it->first, " in time for the read")));
      it = reads.erase(it);
    }
  }
}

void ApplyWorker::ReleaseReads(uint64_t partition_id, uint64_t applied_index) {
  auto& waiting = waiting_reads_[partition_id];
  while (!waiting.empty() && waiting.begin()->first <= applied_index) {
    std::move(waiting.begin()->second.done)(absl::OkStatus());
    waiting.erase(waiting.begin());
  }
}

}  // namespace rkv::server
