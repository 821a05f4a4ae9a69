#include "client/ready_watcher.h"

#include <utility>

namespace rkv::client::internal {

struct ReadyWatcher::Watch {
  std::shared_ptr<grpc::Channel> channel;
  absl::Time deadline;
  Done done;
};

ReadyWatcher::ReadyWatcher() : thread_([this] { Run(); }) {}

ReadyWatcher::~ReadyWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // Watches in flight come back from Next with ok == false once shut down
  // (and their deadlines passed), so Run ends after answering all of them.
  queue_.Shutdown();
  thread_.join();
}

void ReadyWatcher::WhenReady(std::shared_ptr<grpc::Channel> channel, absl::Time deadline, Done done) {
  Check(std::make_unique<Watch>(Watch{std::move(channel), deadline, std::move(done)}));
}

void ReadyWatcher::Check(std::unique_ptr<Watch> watch) {
  const grpc_connectivity_state state = watch->channel->GetState(/*try_to_connect=*/true);
  if (state == GRPC_CHANNEL_READY) return std::move(watch->done)(true);
  if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN ||
      absl::Now() >= watch->deadline) {
    return std::move(watch->done)(false);
  }
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      grpc::Channel* channel = watch->channel.get();
      const absl::Time deadline = watch->deadline;
      // The queue owns the watch until Next hands it back.
      channel->NotifyOnStateChange(state, absl::ToChronoTime(deadline), &queue_, watch.release());
      return;
    }
  }
  // Outside the lock: the callback may start another watch.
  std::move(watch->done)(false);
}

void ReadyWatcher::Run() {
  void* tag = nullptr;
  bool changed = false;
  while (queue_.Next(&tag, &changed)) {
    std::unique_ptr<Watch> watch(static_cast<Watch*>(tag));
    if (!changed) {
      // The deadline passed with the state unchanged.
      std::move(watch->done)(false);
      continue;
    }
    Check(std::move(watch));
  }
}

}  // namespace rkv::client::internal
