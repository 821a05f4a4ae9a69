// RaftLog: one replica's log as the core sees it: the persisted prefix (read
// through LogReader) followed by the Unstable suffix, with the commit index and
// the index of the last entry handed out for apply, and the entries it keeps
// between persisting and applying them (PersistedTail). Not thread-safe; owned
// by Consensus.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/log_reader.h"
#include "raft/persisted_tail.h"
#include "raft/unstable.h"

namespace rkv::raft {

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
