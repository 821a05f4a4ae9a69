// Entries sent to one follower and not yet acknowledged. Holds at most
// max_count appends and max_bytes of payload; when full, the leader stops
// sending appends to that follower until an acknowledgement frees a slot.
// Owned by Progress; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>

namespace rkv::raft {

class Inflights final {
 public:
  Inflights(uint64_t max_count, uint64_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records an append whose last entry is `index`. REQUIRES: !Full() and index
  // larger than every index already held.
  void Add(uint64_t index, uint64_t bytes);
  // Frees every append whose last index is <= index.
  void FreeLE(uint64_t index);
  // Frees the oldest append, if any.
  void FreeFirst() { if (!entries_.empty()) FreeLE(entries_.front().index); }
  void Reset();

  bool Full() const;
  uint64_t count() const { return entries_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Inflight {
    uint64_t index;
    uint64_t bytes;
  };
  uint64_t max_count_;
  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  std::deque<Inflight> entries_;
};

}  // namespace rkv::raft
