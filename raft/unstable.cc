#include "raft/unstable.h"

#include <iterator>
#include <utility>

#include "raft/check.h"

namespace rkv::raft {

std::optional<uint64_t> Unstable::MaybeFirstIndex() const {
  if (snapshot_) return snapshot_->metadata().index() + 1;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->metadata().index();
  return std::nullopt;
}

std::optional<uint64_t> Unstable::MaybeTerm(uint64_t index) const {
  if (index < offset_) {
    if (snapshot_ && snapshot_->metadata().index() == index) return snapshot_->metadata().term();
    return std::nullopt;
  }
  std::optional<uint64_t> last = MaybeLastIndex();
  if (!last || index > *last) return std::nullopt;
  if (index - offset_ >= entries_.size()) return std::nullopt;
  return entries_[index - offset_].term();
}

std::vector<Entry> Unstable::StableTo(uint64_t index, uint64_t term) {
  std::optional<uint64_t> t = MaybeTerm(index);
  // Only entries still held with the same term are now stable; if the term
  // differs, a newer leader replaced them after the Ready was taken.
  if (!t || *t != term || index < offset_) return {};
  const size_t count = index + 1 - offset_;
  offset_ = index + 1;
  std::vector<Entry> stable;
  if (count == entries_.size()) {
    stable.swap(entries_);
    return stable;
  }
  const auto end = entries_.begin() + static_cast<ptrdiff_t>(count);
  stable.assign(std::make_move_iterator(entries_.begin()), std::make_move_iterator(end));
  entries_.erase(entries_.begin(), end);
  return stable;
}

void Unstable::StableSnapshotTo(uint64_t index) {
  if (snapshot_ && snapshot_->metadata().index() == index) snapshot_.reset();
}

void Unstable::Restore(Snapshot snapshot) {
  offset_ = snapshot.metadata().index() + 1;
  entries_.clear();
  snapshot_ = std::move(snapshot);
}

void Unstable::TruncateAndAppend(std::vector<Entry> entries) {
  RKV_CHECK(!entries.empty());
  const uint64_t after = entries.front().index();
  if (after == offset_ + entries_.size()) {
    // The common case: directly after what is held.
    if (entries_.empty()) {
      entries_ = std::move(entries);
      return;
    }
    entries_.reserve(entries_.size() + entries.size());
    for (Entry& e : entries) entries_.push_back(std::move(e));
  } else if (after <= offset_) {
    // Replaces everything held; the persisted log is truncated by the caller
    // when it writes these entries (ready.h).
    offset_ = after;
    entries_ = std::move(entries);
  } else {
    RKV_CHECK_LE(after, offset_ + entries_.size());
    entries_.resize(after - offset_);
    for (Entry& e : entries) entries_.push_back(std::move(e));
  }
}

void Unstable::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes, std::vector<Entry>* out) const {
  RKV_CHECK_LE(offset_, lo);
  RKV_CHECK_LE(lo, hi);
  RKV_CHECK_LE(hi, offset_ + entries_.size());
  // Find the end first, so that *out grows once.
  uint64_t bytes = 0;
  uint64_t end = lo;
  for (; end < hi; ++end) {
    bytes += EntryBytes(entries_[end - offset_]);
    if ((!out->empty() || end > lo) && bytes > max_bytes) break;
  }
  out->insert(out->end(), entries_.begin() + static_cast<ptrdiff_t>(lo - offset_),
              entries_.begin() + static_cast<ptrdiff_t>(end - offset_));
}

}  // namespace rkv::raft
