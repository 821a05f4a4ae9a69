// MemoryLog: an in-memory LogReader plus the writes a caller makes while
// honouring the Ready contract. Used by tests, the simulator and benchmarks.
// Holds only what was persisted: dropping the RawNode and keeping the
// MemoryLog models a crash that loses every unpersisted write.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "raft/log_reader.h"

namespace rkv::raft {

class MemoryLog final : public LogReader {
 public:
  MemoryLog();

  absl::StatusOr<InitialState> LoadInitialState() const override;
  absl::StatusOr<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi,
                                             uint64_t max_bytes) const override;
  absl::StatusOr<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  absl::StatusOr<Snapshot> GetSnapshot() const override;

  void SetHardState(const HardState& hard_state) { hard_state_ = hard_state; }
  // The membership as of the applied index, returned by LoadInitialState. It
  // is separate from the held snapshot's membership, which stays as of the
  // snapshot's index.
  void SetConfState(const ConfState& conf_state) { conf_state_ = conf_state; }
  // Appends entries; an entry whose index is already stored replaces that entry
  // and all after it. REQUIRES: no gap after LastIndex() and nothing below
  // FirstIndex().
  void Append(const std::vector<Entry>& entries);
  // Replaces the whole log with the snapshot. Returns FAILED_PRECONDITION when
  // the snapshot is older than the one held.
  absl::Status ApplySnapshot(const Snapshot& snapshot);
  // Records a snapshot of the state machine at `index` (which must be in the
  // log) without compacting. Returns OUT_OF_RANGE if index is out of the log.
  absl::Status CreateSnapshot(uint64_t index, const ConfState& conf_state, std::string data);
  // Discards entries up to and including `index` (FirstIndex() becomes
  // index + 1); call CreateSnapshot first so GetSnapshot() covers them. Returns
  // OUT_OF_RANGE when index is past the last entry or already compacted.
  absl::Status Compact(uint64_t index);

  const HardState& hard_state() const { return hard_state_; }

  // Bound on the memory held by entries kept for reuse (their data capacity
  // plus the entry itself).
  static constexpr uint64_t kMaxSpareBytes = 4ull << 20;

 private:
  // Keeps the discarded entries_[begin, end) for reuse by Append, within
  // kMaxSpareBytes.
  void Recycle(size_t begin, size_t end);

  HardState hard_state_;
  ConfState conf_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding the index and term of the snapshot.
  std::vector<Entry> entries_;
  // The data capacity of each of entries_, as it was stored.
  std::vector<uint64_t> capacities_;
  // Discarded entries whose data buffers Append copies into, so that a
  // long-running log does not free and allocate a buffer for every entry.
  std::vector<Entry> spare_;
  std::vector<uint64_t> spare_capacities_;
  uint64_t spare_bytes_ = 0;
};

}  // namespace rkv::raft
