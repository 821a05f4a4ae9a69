// RaftLog: one replica's log as the core sees it: the persisted prefix (read
// through LogReader) followed by the Unstable suffix, with the commit index and
// the index of the last entry handed out for apply; and PersistedTail, the
// entries it keeps between persisting and applying them. Not thread-safe;
// owned by Consensus.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/log_reader.h"
#include "raft/unstable.h"

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

class RaftLog final {
 public:

  // REQUIRES: log outlives this RaftLog.
  RaftLog(const LogReader* log, uint64_t max_committed_bytes_per_ready);

  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  uint64_t LastTerm() const;
  // The last index the caller has persisted (everything below the unstable suffix).
  uint64_t PersistedLastIndex() const { return unstable_.offset() - 1; }
  // The term at index; 0 for an index past the end or below the snapshot.
  // Returns the LogReader's error for anything else (for example DATA_LOSS).
  absl::StatusOr<uint64_t> Term(uint64_t index) const;
  // Term(index), fatal on a storage error (the replica cannot continue).
  uint64_t TermOrZero(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;
  // Raft paper §5.4.1: is a log ending at (last_index, last_term) at least as
  // up to date as ours?
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;

  // Follower side of an append (Raft paper Figure 2, AppendEntries receiver).
  // Returns the index of the last new entry when (index, log_term) matches,
  // else nullopt. Conflicting entries are replaced; committed ones never are.
  std::optional<uint64_t> MaybeAppend(uint64_t index, uint64_t log_term, uint64_t committed,
                                      std::vector<Entry> entries);
  // Appends after LastIndex() (leader side). Returns the new last index.
  uint64_t Append(std::vector<Entry> entries);
  // The first index whose term differs from ours, or 0 when all match.
  uint64_t FindConflict(const std::vector<Entry>& entries) const;
  // The largest index <= index whose term is <= term, with its term (fast
  // back-off on a rejected append).
  std::pair<uint64_t, uint64_t> FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Entries [lo, hi) from storage and the unstable suffix, bounded by bytes
  // (at least one). Returns CompactedError when lo is below FirstIndex().
  absl::StatusOr<std::vector<Entry>> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  void CommitTo(uint64_t index);
  // Commits max_index if its term is `term` (Raft paper §5.4.2: only entries
  // of the current term are committed by counting replicas).
  bool MaybeCommit(uint64_t max_index, uint64_t term);
  void AppliedTo(uint64_t index);
  bool HasNextCommittedEntries() const;
  // The committed entries after the applied index, bounded by
  // max_committed_bytes_per_ready (at least one). Entries still held in the
  // persisted tail are moved out of it, so each is handed out without a
  // copy; calling again before AppliedTo reads them from the LogReader.
  std::vector<Entry> NextCommittedEntries();

  // The caller persisted entries up to index (with that term). They leave the
  // unstable suffix for the persisted tail.
  void StableTo(uint64_t index, uint64_t term);
  void StableSnapshotTo(uint64_t index) { unstable_.StableSnapshotTo(index); }
  void Restore(Snapshot snapshot);
  // The snapshot to send a follower: a pending unstable one, else the log's.
  absl::StatusOr<Snapshot> GetSnapshot() const;

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  const Unstable& unstable() const { return unstable_; }
  // For restarts: entries up to applied were applied before the crash.
  void SetCommittedAndApplied(uint64_t committed, uint64_t applied);
  std::string ToString() const;

 private:
  const LogReader* log_;
  Unstable unstable_;
  PersistedTail persisted_tail_;
  uint64_t committed_;
  uint64_t applied_;
  uint64_t max_committed_bytes_per_ready_;
};

}  // namespace rkv::raft
