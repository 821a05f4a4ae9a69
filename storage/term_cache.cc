#include "storage/term_cache.h"

#include <algorithm>

#include "raft/check.h"

namespace rkv::storage {

std::optional<uint64_t> TermCache::Lookup(uint64_t index) const {
  if (runs_.empty() || index < runs_.front().first_index || index > last_index_) {
    return std::nullopt;
  }
  // The last run starting at or before index.
  auto after = std::upper_bound(runs_.begin(), runs_.end(), index,
                                [](uint64_t i, const Run& run) { return i < run.first_index; });
  return std::prev(after)->term;
}

void TermCache::Append(uint64_t index, uint64_t term) {
  if (runs_.empty()) {
    runs_.push_back(Run{index, term});
    last_index_ = index;
    return;
  }
  RKV_CHECK_EQ(index, last_index_ + 1);
  RKV_CHECK_GE(term, runs_.back().term);
  last_index_ = index;
  if (term == runs_.back().term) return;
  runs_.push_back(Run{index, term});
  if (runs_.size() > max_runs_) runs_.erase(runs_.begin());
}

void TermCache::TruncateFrom(uint64_t index) {
  while (!runs_.empty() && runs_.back().first_index >= index) runs_.pop_back();
  if (runs_.empty()) return;
  last_index_ = std::min(last_index_, index - 1);
}

void TermCache::DropBelow(uint64_t index) {
  if (runs_.empty()) return;
  if (index > last_index_) {
    runs_.clear();
    return;
  }
  // Drop whole runs that end below index, then clip the first one.
  while (runs_.size() > 1 && runs_[1].first_index <= index) runs_.erase(runs_.begin());
  runs_.front().first_index = std::max(runs_.front().first_index, index);
}

}  // namespace rkv::storage
