// Network: the simulated network between nodes. Messages wait in a timing
// wheel of per-tick buckets until the tick they are due; a random delay per
// message reorders them, and each may be dropped or duplicated. Partitions are arbitrary sets of
// cut one-way links, so symmetric splits, isolated nodes and asymmetric cuts are all expressible.
//
// The network knows nothing about nodes being up: the cluster drops what
// arrives at a crashed or removed node. Every choice comes from the SimRandom
// it is given, so runs replay exactly. Not thread-safe; owned by a Cluster.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "raft/types.h"
#include "tests/raft/sim/sim_random.h"

namespace rkv::raft::sim {

// A message in flight.
struct Envelope {
  Message message;
  uint64_t due_tick = 0;
  // Send order; breaks ties between messages due at the same tick.
  uint64_t sequence = 0;
  // The sender's incarnation when it sent this (a restart increments it), so
  // transport feedback only goes to the process that sent the message.
  uint64_t sender_incarnation = 0;
  // Set by TakeDue: dropped, or its link is cut.
  bool lost = false;
};

struct NetworkFaults {
  double drop_probability = 0;
  double duplicate_probability = 0;
  // With delay_probability a message waits 1..max_delay_ticks ticks; otherwise
  // it is due in the tick it was sent (delivered in a later round of it).
  // REQUIRES: max_delay_ticks <= Network::kMaxDelayTicks.
  double delay_probability = 0;
  uint64_t max_delay_ticks = 0;
  // A rare long delay delivers very stale messages.
  // REQUIRES: long_delay_ticks <= Network::kMaxDelayTicks.
  double long_delay_probability = 0;
  uint64_t long_delay_ticks = 0;
};

class Network final {
 public:
  // Messages beyond this many in flight are dropped on send, as a real
  // network's full buffers drop them (STYLE §1.6).
  static constexpr size_t kMaxInFlightMessages = 100'000;
  // The longest delay; the timing wheel has one bucket more than this.
  static constexpr uint64_t kMaxDelayTicks = 63;

  // `random` must outlive the network.
  explicit Network(SimRandom* random);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  void SetFaults(const NetworkFaults& faults);

  // Queues a message sent at tick `now`, and maybe a duplicate with its own
  // delay. Returns false when the queue was full and the message was dropped.
  bool Send(Message&& message, uint64_t now, uint64_t sender_incarnation);

  // Replaces *due with every message due at or before `now`, in (due,
  // sequence) order, marking those dropped or sent over a cut link as lost.
  // REQUIRES: `now` never decreases from one call to the next.
  void TakeDue(uint64_t now, std::vector<Envelope>* due);

  // Cuts the one-way link from -> to; messages already in flight on it are
  // lost when they come due.
  void Cut(NodeId from, NodeId to) { cut_links_.insert({from, to}); }
  void HealLink(NodeId from, NodeId to) { cut_links_.erase({from, to}); }
  void HealAll() { cut_links_.clear(); }
  bool IsCut(NodeId from, NodeId to) const { return cut_links_.count({from, to}) > 0; }
  // Sorted, so callers may pick from it deterministically.
  const std::set<std::pair<NodeId, NodeId>>& cut_links() const { return cut_links_; }

  size_t in_flight() const { return in_flight_; }

 private:
  uint64_t RandomDelay();
  // Queues a message at now + a random delay; it is moved from, not copied.
  void Push(Message&& message, uint64_t now, uint64_t sender_incarnation);

  SimRandom* random_;
  NetworkFaults faults_;
  uint64_t next_sequence_ = 0;
  // wheel_[t % size] holds the messages due at tick t, in send order, for t
  // in [drained_to_, drained_to_ + kMaxDelayTicks]. Buckets keep their
  // capacity and are swapped out whole, so a message is neither moved nor
  // reallocated between send and delivery: moving and allocating protobuf
  // messages dominated the simulator's profile (especially under ASan).
  std::vector<std::vector<Envelope>> wheel_;
  // Every bucket for a tick below this was drained.
  uint64_t drained_to_ = 0;
  size_t in_flight_ = 0;
  std::set<std::pair<NodeId, NodeId>> cut_links_;
};

}  // namespace rkv::raft::sim
