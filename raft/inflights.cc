#include "raft/inflights.h"

#include "raft/check.h"

namespace rkv::raft {

void Inflights::Add(uint64_t index, uint64_t bytes) {
  RKV_CHECK(!Full());
  if (!entries_.empty()) RKV_CHECK_GT(index, entries_.back().index);
  entries_.push_back({index, bytes});
  bytes_ += bytes;
}

void Inflights::FreeLE(uint64_t index) {
  while (!entries_.empty() && entries_.front().index <= index) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
}

void Inflights::Reset() {
  entries_.clear();
  bytes_ = 0;
}

bool Inflights::Full() const {
  return entries_.size() >= max_count_ || (max_bytes_ > 0 && bytes_ >= max_bytes_);
}

}  // namespace rkv::raft
