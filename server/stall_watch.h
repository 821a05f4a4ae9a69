// Watchdogs for client calls to peers, on the monotonic clock.
//
// gRPC's own timers (keepalive, connect deadline, reconnect back-off) wait on
// the wall clock in the gRPC and Abseil that Debian ships, so a step of the
// clock can hold them for as long as the step. A peer stream or snapshot
// transfer stuck on such a timer is found here and cancelled, which fails the
// blocked call at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "server/steady_mutex.h"
#include "server/thread_name.h"

namespace rkv::server {

// When a call that may block on a peer started, and whether it is still going.
class ProgressWatch final {
 public:
  // Runs fn, a call that may block on the peer, with the watch armed.
  template <typename Fn>
  auto Watched(Fn fn) {
    Arm();
    auto result = fn();
    Disarm();
    return result;
  }

  // Arm and Disarm bracket a call that completes on another thread (a
  // callback-API write): armed when it starts, disarmed when it is done.
  void Arm() {
    stall_taken_.store(false);
    blocked_since_ns_.store(NowNs());
  }
  void Disarm() { blocked_since_ns_.store(kNotBlocked); }

  // True once per watched call, to the first thread that asks after the call
  // has been blocked for timeout: that thread cancels it, and a watchdog
  // asking again while the cancel takes effect gets false.
  bool TakeStall(absl::Duration timeout) {
    const int64_t since = blocked_since_ns_.load();
    if (since == kNotBlocked || NowNs() - since < absl::ToInt64Nanoseconds(timeout)) return false;
    return !stall_taken_.exchange(true);
  }

 private:
  static constexpr int64_t kNotBlocked = INT64_MAX;
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
        .count();
  }

  std::atomic<int64_t> blocked_since_ns_{kNotBlocked};
  std::atomic<bool> stall_taken_{false};
};

// Calls check() every period on its own named thread until stopped.
class PeriodicThread final {
 public:
  PeriodicThread(std::string name, absl::Duration period, std::function<void()> check)
      : thread_(StartNamedThread(std::move(name), [this, period, check = std::move(check)] {
          while (!stop_.WaitFor(period)) check();
        })) {}
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  void Stop() {
    stop_.Notify();
    if (thread_.joinable()) thread_.join();
  }

 private:
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace rkv::server
