// ReadyWatcher: tells a caller, without blocking it, when a gRPC channel
// becomes READY or cannot (TRANSIENT_FAILURE, SHUTDOWN, or the deadline).
// Internal to the client library.
//
// Why a thread of its own: a channel makes progress on a connection attempt
// only while something polls on its behalf. A write waits for a connected
// channel before it is sent (call.h), so no RPC is in flight to poll; asking
// GetState() on timers left the attempt to gRPC's 5 s backup poller, and a
// fresh rkvctl's first write always ran out of its 2 s dial timeout. Waiting
// through NotifyOnStateChange on a completion queue that this thread polls
// drives the attempt, as the synchronous WaitForConnected does.
//
// Thread-safe. Callbacks run on the caller's thread (when the answer is known
// at once) or on the watcher's thread; each exactly once.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/completion_queue.h>

#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rkv::client::internal {

class ReadyWatcher final {
 public:
  using Done = absl::AnyInvocable<void(bool ready) &&>;

  ReadyWatcher();
  // Waits for the watches in flight; their callbacks get false.
  ~ReadyWatcher();
  ReadyWatcher(const ReadyWatcher&) = delete;
  ReadyWatcher& operator=(const ReadyWatcher&) = delete;

  // Starts connecting the channel if idle; done(true) once it is READY,
  // done(false) once it fails to connect or the deadline passes.
  void WhenReady(std::shared_ptr<grpc::Channel> channel, absl::Time deadline, Done done);

 private:
  struct Watch;
  // Resolves a watch for the channel's current state, or waits again.
  void Check(std::unique_ptr<Watch> watch);
  void Run();

  grpc::CompletionQueue queue_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace rkv::client::internal
