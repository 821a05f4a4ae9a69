// PersistedTail: the entries a replica persisted and has not handed out for
// apply yet, kept so they need not be read back from storage. Not
// thread-safe; owned by RaftLog.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "raft/types.h"

namespace rkv::raft {

// Entries the caller persisted that the core has not handed out for apply yet:
// the very objects that left Unstable, kept in the batches they were persisted
// in, so that NextCommittedEntries moves whole vectors out instead of copying
// the entries back from the LogReader. It always equals the persisted log at
// those indexes: the caller wrote them from a Ready, and every later write at
// those indexes (a replacing append, a snapshot) drops them here first.
// Contiguous; at most kMaxBytes (EntryBytes). An optimisation only: whatever
// is not here is read from the LogReader.
class PersistedTail final {
 public:
  static constexpr uint64_t kMaxBytes = 8ull << 20;

  // The first index held, or 0 when empty.
  uint64_t FirstIndex() const;
  // Adds entries just persisted. Keeps them only if they follow the held ones
  // directly and fit in kMaxBytes.
  void Append(std::vector<Entry> entries);
  // Drops the entries at index and after (they are being replaced).
  void TruncateFrom(uint64_t index);
  // Drops the entries below index (handed out or applied).
  void DropBelow(uint64_t index);
  // Moves into *out (empty) the held entries below hi: the longest prefix
  // whose bytes stay within max_bytes, and at least one. Returns their bytes.
  // REQUIRES: not empty.
  uint64_t Take(uint64_t hi, uint64_t max_bytes, std::vector<Entry>* out);
  void Clear();

 private:
  struct Batch {
    std::vector<Entry> entries;  // contiguous, never empty
    uint64_t bytes = 0;
  };
  // Drops the first count entries of the first batch, which holds more.
  void DropFrontEntries(size_t count);

  std::deque<Batch> batches_;
  uint64_t bytes_ = 0;
};

}  // namespace rkv::raft
