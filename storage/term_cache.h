// TermCache: the terms of a partition's most recent log entries, kept as runs
// of equal terms so that Term() on the hot path (every append a leader sends
// or a follower checks) does not read RocksDB. Terms only grow along a log, so
// a few runs cover long stretches. Holds at most max_runs runs; the oldest is
// dropped first. Not thread-safe; owned by a RaftLogStore (or a LogBatch's
// pending copy of its state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace rkv::storage {

class TermCache final {
 public:
  explicit TermCache(size_t max_runs) : max_runs_(max_runs) {}

  // The term of the entry at index, if the cache covers it.
  std::optional<uint64_t> Lookup(uint64_t index) const;
  // Records the entry at index. REQUIRES: the cache is empty or index is one
  // past its last index, and term is not below the last term.
  void Append(uint64_t index, uint64_t term);
  // Forgets the entries at index and after (a conflicting append replaces them).
  void TruncateFrom(uint64_t index);
  // Forgets the entries below index (log compaction).
  void DropBelow(uint64_t index);
  void Clear() { runs_.clear(); }

  size_t run_count() const { return runs_.size(); }

 private:
  struct Run {
    uint64_t first_index;
    uint64_t term;
  };
  size_t max_runs_;
  // Increasing first_index and term; covers [runs_.front().first_index, last_index_].
  std::vector<Run> runs_;
  uint64_t last_index_ = 0;
};

}  // namespace rkv::storage
