// SteadyMutex: a mutex with a condition whose timed waits run on the monotonic
// clock. Every timed wait in a node uses it instead of absl::Mutex's.
//
// Why: the Abseil that Debian ships (20220623) turns every timed wait into a
// sleep until an absolute CLOCK_REALTIME instant, so a step of the wall clock
// (NTP, a resumed VM, an operator's `date -s`) stretches or cuts every wait in
// progress by the size of the step. A step back of two minutes stalled a
// node's Raft ticks for two minutes: its leaders stopped sending heartbeats and
// it refused votes to the others. std::condition_variable waits on
// CLOCK_MONOTONIC (pthread_cond_clockwait), which no step moves.
//
// Unlike absl::Condition, nothing is re-checked on unlock: whoever changes what
// a waiter waits for calls NotifyAll().
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rkv::server {

using SteadyClock = std::chrono::steady_clock;

// The monotonic instant as far from now as wall_deadline is from the wall
// clock's now: deadlines arrive from clients as wall-clock times, and are kept
// on the monotonic clock from then on.
inline SteadyClock::time_point SteadyDeadline(absl::Time wall_deadline) {
  const absl::Duration left = wall_deadline - absl::Now();
  if (left >= absl::Hours(24 * 365)) return SteadyClock::time_point::max();
  return SteadyClock::now() + absl::ToChronoNanoseconds(std::max(left, absl::ZeroDuration()));
}

// Time since start on the monotonic clock: a duration that a wall-clock step
// cannot make negative or huge (latency metrics, slow-operation warnings).
inline absl::Duration Since(SteadyClock::time_point start) {
  return absl::FromChrono(SteadyClock::now() - start);
}

class ABSL_LOCKABLE SteadyMutex final {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

  // Waits until ready() holds. The lock is held on entry and on return, and
  // released while waiting.
  template <typename Ready>
  void Await(Ready ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    cv_.wait(lock, ready);
    lock.release();
  }

  // As Await, but gives up at deadline; returns ready(). A deadline already
  // past checks once without waiting. (The analysis cannot tie `this` to the
  // caller's name for the mutex that ready() requires, so it is off inside;
  // callers are still checked to hold the lock.)
  template <typename Ready>
  bool AwaitUntil(Ready ready, SteadyClock::time_point deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (deadline <= SteadyClock::now()) return ready();
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    const bool result = cv_.wait_until(lock, deadline, ready);
    lock.release();
    return result;
  }

  template <typename Ready>
  bool AwaitFor(Ready ready, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    return AwaitUntil(ready, SteadyClock::now() + absl::ToChronoNanoseconds(timeout));
  }

  // Wakes every waiter to check its condition again. Cheap when none waits;
  // may be called with or without the lock.
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

class ABSL_SCOPED_LOCKABLE SteadyMutexLock final {
 public:
  explicit SteadyMutexLock(SteadyMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~SteadyMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  SteadyMutexLock(const SteadyMutexLock&) = delete;
  SteadyMutexLock& operator=(const SteadyMutexLock&) = delete;

 private:
  SteadyMutex* const mu_;
};

// A one-shot stop signal whose timed wait runs on the monotonic clock (for
// loops that do a chore every so often until told to stop).
class StopSignal final {
 public:
  void Notify() {
    {
      SteadyMutexLock lock(&mu_);
      notified_ = true;
    }
    mu_.NotifyAll();
  }
  // True once notified; otherwise waits up to timeout for it.
  bool WaitFor(absl::Duration timeout) {
    SteadyMutexLock lock(&mu_);
    return mu_.AwaitFor([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_; }, timeout);
  }

 private:
  SteadyMutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rkv::server
