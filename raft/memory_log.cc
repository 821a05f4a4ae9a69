#include "raft/memory_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/unstable.h"

namespace rkv::raft {

MemoryLog::MemoryLog() {
  entries_.emplace_back();
  capacities_.push_back(0);
}

absl::StatusOr<InitialState> MemoryLog::LoadInitialState() const {
  return InitialState{hard_state_, conf_state_};
}

uint64_t MemoryLog::FirstIndex() const { return entries_[0].index() + 1; }

uint64_t MemoryLog::LastIndex() const { return entries_[0].index() + entries_.size() - 1; }

absl::StatusOr<std::vector<Entry>> MemoryLog::Entries(uint64_t lo, uint64_t hi,
                                                      uint64_t max_bytes) const {
  const uint64_t offset = entries_[0].index();
  if (lo <= offset) return CompactedError(lo, FirstIndex());
  if (hi > LastIndex() + 1) return UnavailableIndexError(hi - 1, LastIndex());
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset];
    bytes += EntryBytes(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<uint64_t> MemoryLog::Term(uint64_t index) const {
  const uint64_t offset = entries_[0].index();
  if (index < offset) return CompactedError(index, FirstIndex());
  if (index - offset >= entries_.size()) return UnavailableIndexError(index, LastIndex());
  return entries_[index - offset].term();
}

absl::StatusOr<Snapshot> MemoryLog::GetSnapshot() const { return snapshot_; }

void MemoryLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  const uint64_t first = entries.front().index();
  RKV_CHECK_GE(first, FirstIndex());
  RKV_CHECK_LE(first, LastIndex() + 1);
  const size_t keep = first - entries_[0].index();
  Recycle(keep, entries_.size());
  entries_.resize(keep);
  capacities_.resize(keep);
  for (const Entry& e : entries) {
    if (spare_.empty()) {
      capacities_.push_back(entries_.emplace_back(e).data().capacity());
      continue;
    }
    Entry& reused = entries_.emplace_back(std::move(spare_.back()));
    spare_.pop_back();
    spare_bytes_ -= sizeof(Entry) + spare_capacities_.back();
    spare_capacities_.pop_back();
    reused = e;  // copies into the buffer it already holds
    capacities_.push_back(reused.data().capacity());
  }
}

void MemoryLog::Recycle(size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    // The capacity is recorded, so a cold entry's buffer is not read here.
    const uint64_t bytes = sizeof(Entry) + capacities_[i];
    if (spare_bytes_ + bytes > kMaxSpareBytes) return;
    spare_bytes_ += bytes;
    spare_.push_back(std::move(entries_[i]));
    spare_capacities_.push_back(capacities_[i]);
  }
}

absl::Status MemoryLog::ApplySnapshot(const Snapshot& snapshot) {
  if (snapshot.metadata().index() < snapshot_.metadata().index()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot at index ", snapshot.metadata().index(), " is older than the one held at ",
        snapshot_.metadata().index()));
  }
  snapshot_ = snapshot;
  conf_state_ = snapshot.metadata().conf_state();
  entries_.clear();
  entries_.emplace_back();
  capacities_.assign(1, 0);
  entries_[0].set_index(snapshot.metadata().index());
  entries_[0].set_term(snapshot.metadata().term());
  return absl::OkStatus();
}

absl::Status MemoryLog::CreateSnapshot(uint64_t index, const ConfState& conf_state,
                                       std::string data) {
  if (index <= snapshot_.metadata().index() || index > LastIndex()) {
    return absl::OutOfRangeError(absl::StrCat("snapshot index ", index, " is outside (",
                                              snapshot_.metadata().index(), ", ", LastIndex(), "]"));
  }
  snapshot_.set_data(std::move(data));
  SnapshotMetadata* meta = snapshot_.mutable_metadata();
  meta->set_index(index);
  meta->set_term(entries_[index - entries_[0].index()].term());
  *meta->mutable_conf_state() = conf_state;
  return absl::OkStatus();
}

absl::Status MemoryLog::Compact(uint64_t index) {
  const uint64_t offset = entries_[0].index();
  if (index <= offset || index > LastIndex()) {
    return absl::OutOfRangeError(
        absl::StrCat("compact index ", index, " is outside (", offset, ", ", LastIndex(), "]"));
  }
  // The entry at `index` becomes the dummy that keeps its term for Term(index).
  const size_t count = index - offset;
  Recycle(0, count);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(count));
  capacities_.erase(capacities_.begin(), capacities_.begin() + static_cast<ptrdiff_t>(count));
  entries_[0].clear_data();
  return absl::OkStatus();
}

}  // namespace rkv::raft
