// Inbox: the bounded multi-producer queue into the driver thread. Producers
// (gRPC handlers, the transport, the apply worker) Push; the driver waits for
// work or its next tick and takes everything at once (STYLE §1.7: run at your
// own pace and batch). Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "server/steady_mutex.h"

namespace rkv::server {

template <typename T>
class Inbox final {
 public:
  explicit Inbox(size_t capacity) : capacity_(capacity) {}

  // Moves item in and returns true, or leaves item untouched and returns
  // false when the inbox is full or closed (the caller still owns it and
  // answers with RESOURCE_EXHAUSTED or UNAVAILABLE).
  bool Push(T&& item) { return PushTo(/*wake=*/true, std::move(item)); }
  // As Push, but a waiting driver is not woken: the item waits for the next
  // pass, at the latest the next tick. For reports that nothing waits on,
  // where waking the driver would cost a context switch for no gain.
  bool PushWithoutWaking(T&& item) { return PushTo(/*wake=*/false, std::move(item)); }
  // Waits until there is an item pushed with Push, the deadline passes, or
  // the inbox closes; then moves every queued item into out. The deadline is
  // on the monotonic clock: the driver's ticks must not follow the wall clock.
  void TakeAll(SteadyClock::time_point deadline, std::vector<T>* out) {
    SteadyMutexLock lock(&mu_);
    mu_.AwaitUntil([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !items_.empty() || closed_; },
                   deadline);
    out->reserve(out->size() + unhurried_.size() + items_.size());
    for (T& item : unhurried_) out->push_back(std::move(item));
    for (T& item : items_) out->push_back(std::move(item));
    unhurried_.clear();
    items_.clear();
  }
  // Takes whatever is queued without waiting.
  void TakeAllNow(std::vector<T>* out) { TakeAll(SteadyClock::time_point::min(), out); }
  void Close() {
    {
      SteadyMutexLock lock(&mu_);
      closed_ = true;
    }
    mu_.NotifyAll();
  }
  bool closed() const {
    SteadyMutexLock lock(&mu_);
    return closed_;
  }

 private:
  // Both queues count against the one capacity.
  // Only items_ wakes TakeAll, so `wake` picks the queue.
  bool PushTo(bool wake, T&& item) {
    {
      SteadyMutexLock lock(&mu_);
      if (closed_ || items_.size() + unhurried_.size() >= capacity_) return false;
      (wake ? items_ : unhurried_).push_back(std::move(item));
    }
    if (wake) mu_.NotifyAll();
    return true;
  }

  const size_t capacity_;
  mutable SteadyMutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  std::deque<T> unhurried_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rkv::server
