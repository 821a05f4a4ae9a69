// Core: the state every call of one Client shares: options, channels, the
// connection watcher, router, the count of calls in flight, and the topology
// refresh. Calls keep a raw pointer to it; the Client destroys it only after
// CloseAndWait(), when no call is left. Internal to the client library.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/channel_pool.h"
#include "client/options.h"
#include "client/ready_watcher.h"
#include "client/router.h"

namespace rkv::client::internal {

class Core final {
 public:
  // REQUIRES: options.Validate().ok().
  explicit Core(const Options& options);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  const Options& options() const { return options_; }
  ChannelPool& pool() { return pool_; }
  ReadyWatcher& ready_watcher() { return ready_watcher_; }
  Router& router() { return router_; }

  // A number unique to each call: spreads calls over endpoints and
  // connections, and seeds the call's backoff jitter.
  uint64_t NextCallNumber() { return call_number_.fetch_add(1, std::memory_order_relaxed); }

  // Counts a call in flight. False once CloseAndWait has begun: the call must
  // not start.
  [[nodiscard]] bool BeginCall();
  // Ends a call counted by BeginCall. The caller must not touch the Core
  // afterwards: it may be destroyed at once.
  void EndCall();
  // Refuses new calls and waits until every call in flight has ended.
  void CloseAndWait();

  // Starts re-reading the topology in the background if the router wants it
  // and its rate limit allows. Never blocks.
  void MaybeRefresh();

  // Reads the topology from the endpoints, each in turn, until one answers or
  // the deadline passes. UNAVAILABLE / DEADLINE_EXCEEDED naming the endpoints
  // and the last error; INTERNAL for a malformed answer.
  absl::Status RefreshNow(absl::Time deadline);

 private:
  const Options options_;
  ChannelPool pool_;
  // Declared after pool_, so it stops before the channels go.
  ReadyWatcher ready_watcher_;
  Router router_;
  std::atomic<uint64_t> call_number_{0};

  absl::Mutex mu_;
  int64_t calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rkv::client::internal
