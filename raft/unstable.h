// Unstable: log entries and a snapshot that the core has accepted but the
// caller has not yet persisted. The entries follow the persisted log; offset()
// is the index of the first of them. Not thread-safe; owned by RaftLog.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "raft/types.h"

namespace rkv::raft {

class Unstable final {
 public:
  explicit Unstable(uint64_t offset) : offset_(offset) {}

  // The first index covered, if a snapshot is pending.
  std::optional<uint64_t> MaybeFirstIndex() const;
  // The last index held, if any entry or snapshot is pending.
  std::optional<uint64_t> MaybeLastIndex() const;
  // The term of index, if held here.
  std::optional<uint64_t> MaybeTerm(uint64_t index) const;

  // The caller persisted entries up to index (with that term): drops them
  // from here and returns them (empty when none were held with that term).
  std::vector<Entry> StableTo(uint64_t index, uint64_t term);
  void StableSnapshotTo(uint64_t index);
  void Restore(Snapshot snapshot);
  // Appends, replacing any held entries from entries.front().index on.
  // REQUIRES: entries.front().index <= offset() + size.
  void TruncateAndAppend(std::vector<Entry> entries);
  // Copies of entries [lo, hi). REQUIRES: offset() <= lo <= hi <= offset() + size.
  void Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes, std::vector<Entry>* out) const;

  uint64_t offset() const { return offset_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

 private:
  std::optional<Snapshot> snapshot_;
  std::vector<Entry> entries_;
  uint64_t offset_;
};

// The size an entry counts for in byte limits.
inline uint64_t EntryBytes(const Entry& e) { return e.data().size() + 24; }

}  // namespace rkv::raft
