#include "tests/raft/sim/network.h"

#include "raft/check.h"

namespace rkv::raft::sim {

Network::Network(SimRandom* random) : random_(random), wheel_(kMaxDelayTicks + 1) {
  RKV_CHECK(random_ != nullptr);
}

void Network::SetFaults(const NetworkFaults& faults) {
  RKV_CHECK_LE(faults.max_delay_ticks, kMaxDelayTicks);
  RKV_CHECK_LE(faults.long_delay_ticks, kMaxDelayTicks);
  faults_ = faults;
}

uint64_t Network::RandomDelay() {
  if (faults_.long_delay_ticks > 0 && random_->Chance(faults_.long_delay_probability)) {
    return random_->Range(1, faults_.long_delay_ticks);
  }
  if (faults_.max_delay_ticks > 0 && random_->Chance(faults_.delay_probability)) {
    return random_->Range(1, faults_.max_delay_ticks);
  }
  return 0;
}

void Network::Push(Message&& message, uint64_t now, uint64_t sender_incarnation) {
  RKV_CHECK_GE(now, drained_to_);
  const uint64_t due_tick = now + RandomDelay();
  Envelope& envelope = wheel_[due_tick % wheel_.size()].emplace_back();
  envelope.message.Swap(&message);
  envelope.due_tick = due_tick;
  envelope.sequence = next_sequence_++;
  envelope.sender_incarnation = sender_incarnation;
  ++in_flight_;
}

bool Network::Send(Message&& message, uint64_t now, uint64_t sender_incarnation) {
  if (in_flight_ >= kMaxInFlightMessages) return false;
  if (faults_.duplicate_probability > 0 && random_->Chance(faults_.duplicate_probability)) {
    Message copy = message;
    Push(std::move(copy), now, sender_incarnation);
  }
  Push(std::move(message), now, sender_incarnation);
  return true;
}

void Network::TakeDue(uint64_t now, std::vector<Envelope>* due) {
  RKV_CHECK_GE(now, drained_to_);
  due->clear();
  // Messages sent at `now` with no delay land in the bucket of `now` again,
  // so drained_to_ stops at now rather than passing it.
  for (uint64_t tick = drained_to_; tick <= now; ++tick) {
    std::vector<Envelope>& bucket = wheel_[tick % wheel_.size()];
    if (bucket.empty()) continue;
    in_flight_ -= bucket.size();
    if (due->empty()) {
      due->swap(bucket);
    } else {
      for (Envelope& envelope : bucket) due->push_back(std::move(envelope));
      bucket.clear();
    }
  }
  drained_to_ = now;
  for (Envelope& envelope : *due) {
    // Drops are decided on arrival so that a cut made while a message is in
    // flight also loses it.
    envelope.lost = IsCut(envelope.message.from(), envelope.message.to()) ||
                    (faults_.drop_probability > 0 && random_->Chance(faults_.drop_probability));
  }
}

}  // namespace rkv::raft::sim
