#include "raft/read_only.h"

namespace rkv::raft {

void ReadOnly::Add(uint64_t index, NodeId from, std::string context) {
  if (pending_.count(context)) return;
  queue_.push_back(context);
  PendingRead read{index, from, context, {}};
  pending_.emplace(std::move(context), std::move(read));
}

const std::set<NodeId>* ReadOnly::RecordAck(NodeId id, const std::string& context) {
  auto it = pending_.find(context);
  if (it == pending_.end()) return nullptr;
  it->second.acks.insert(id);
  return &it->second.acks;
}

std::vector<PendingRead> ReadOnly::Advance(const std::string& context) {
  std::vector<PendingRead> done;
  if (!pending_.count(context)) return done;
  // A quorum that acknowledged a later heartbeat also confirms every earlier
  // request (thesis §6.4).
  while (!queue_.empty()) {
    std::string ctx = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(ctx);
    done.push_back(std::move(it->second));
    pending_.erase(it);
    if (ctx == context) break;
  }
  return done;
}

const std::string* ReadOnly::LastPendingContext() const {
  return queue_.empty() ? nullptr : &queue_.back();
}

void ReadOnly::Clear() {
  pending_.clear();
  queue_.clear();
}

}  // namespace rkv::raft
