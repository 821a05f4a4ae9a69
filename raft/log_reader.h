// LogReader: how the Raft core reads the persisted part of its log. The core
// never writes through it; the caller persists what each Ready hands out and
// then calls RawNode::Advance. Implementations: raft::MemoryLog (tests and the
// simulator) and storage::RaftLogStore (RocksDB). Thread rule: called only from
// the thread that owns the RawNode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "raft/types.h"

namespace rkv::raft {

struct InitialState {
  HardState hard_state;
  ConfState conf_state;
};

// Errors with a meaning to the core. Any other error from a LogReader (for
// example DATA_LOSS on a checksum mismatch) is fatal for the replica.
//
// The index is below the first available index: the log was compacted.
inline absl::Status CompactedError(uint64_t index, uint64_t first_index) {
  return absl::OutOfRangeError(
      absl::StrCat("log index ", index, " is compacted; the first index is ", first_index));
}
inline bool IsCompacted(const absl::Status& s) { return s.code() == absl::StatusCode::kOutOfRange; }
// The index is past the last index.
inline absl::Status UnavailableIndexError(uint64_t index, uint64_t last_index) {
  return absl::NotFoundError(
      absl::StrCat("log index ", index, " is past the last index ", last_index));
}
inline bool IsUnavailableIndex(const absl::Status& s) {
  return s.code() == absl::StatusCode::kNotFound;
}
// A snapshot is being produced; the core retries at its next chance.
inline bool IsSnapshotTemporarilyUnavailable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable;
}

class LogReader {
 public:
  virtual ~LogReader() = default;

  // The hard state and membership as last persisted.
  virtual absl::StatusOr<InitialState> LoadInitialState() const = 0;

  // Entries with index in [lo, hi), stopping once their encoded size would pass
  // max_bytes, but always at least one entry when the range is not empty.
  // REQUIRES: FirstIndex() <= lo <= hi <= LastIndex() + 1, else returns
  // CompactedError or UnavailableIndexError.
  virtual absl::StatusOr<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi,
                                                     uint64_t max_bytes) const = 0;

  // The term of the entry at index, for index in [FirstIndex() - 1, LastIndex()]
  // (FirstIndex() - 1 is the last index covered by the snapshot).
  virtual absl::StatusOr<uint64_t> Term(uint64_t index) const = 0;

  // The index of the first entry still in the log (the snapshot index + 1).
  virtual uint64_t FirstIndex() const = 0;
  // The index of the last entry; FirstIndex() - 1 when the log is empty.
  virtual uint64_t LastIndex() const = 0;

  // The most recent snapshot, to send to a follower that is behind FirstIndex().
  // Returns UNAVAILABLE while one is being produced.
  virtual absl::StatusOr<Snapshot> GetSnapshot() const = 0;
};

}  // namespace rkv::raft
