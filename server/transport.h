// Transport: carries Raft messages between nodes. The driver hands it batches
// and never waits on it; received messages come back through the Receiver
// given at construction. Implementations: GrpcTransport. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "rkv/internal/peer.pb.h"

namespace rkv::server {

using PartitionMessage = ::rkv::internal::PartitionMessage;

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues messages for one node. Never blocks: what a slow or unreachable
  // peer cannot take is dropped (Raft retransmits) and reported through the
  // unreachable callback so the leader probes instead of streaming.
  virtual void Send(uint64_t to_node, std::vector<PartitionMessage> messages) = 0;
};

}  // namespace rkv::server
