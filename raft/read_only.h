// ReadOnly: ReadIndex requests on the leader waiting for a quorum of heartbeat
// acknowledgements that confirm it is still the leader (thesis §6.4). Requests
// complete in the order they were made. Not thread-safe; owned by Consensus.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "raft/types.h"

namespace rkv::raft {

struct PendingRead {
  uint64_t index = 0;   // the commit index when the request arrived
  NodeId from = kNoNode;  // who asked (the leader itself or a follower)
  std::string context;
  std::set<NodeId> acks;
};

class ReadOnly final {
 public:
  // Registers a request. A context already pending is ignored (the earlier
  // request will answer it).
  void Add(uint64_t index, NodeId from, std::string context);
  // Records an ack for the request with `context`; returns its acks, or nullptr
  // when no such request is pending.
  const std::set<NodeId>* RecordAck(NodeId id, const std::string& context);
  // Completes the request with `context` and every request made before it.
  std::vector<PendingRead> Advance(const std::string& context);
  // The context to attach to heartbeats: the newest pending request.
  const std::string* LastPendingContext() const;
  size_t pending_count() const { return queue_.size(); }
  void Clear();

 private:
  std::map<std::string, PendingRead> pending_;
  std::deque<std::string> queue_;
};

}  // namespace rkv::raft
