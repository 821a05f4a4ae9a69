#include "raft/persisted_tail.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "raft/check.h"
#include "raft/unstable.h"

namespace rkv::raft {

uint64_t PersistedTail::FirstIndex() const {
  return batches_.empty() ? 0 : batches_.front().entries.front().index();
}

void PersistedTail::Append(std::vector<Entry> entries) {
  RKV_CHECK(!entries.empty());
  if (!batches_.empty() && batches_.back().entries.back().index() + 1 != entries.front().index()) {
    return;
  }
  uint64_t bytes = 0;
  for (const Entry& e : entries) bytes += EntryBytes(e);
  if (bytes_ + bytes > kMaxBytes) return;
  bytes_ += bytes;
  batches_.push_back(Batch{std::move(entries), bytes});
}

void PersistedTail::TruncateFrom(uint64_t index) {
  while (!batches_.empty() && batches_.back().entries.front().index() >= index) {
    bytes_ -= batches_.back().bytes;
    batches_.pop_back();
  }
  if (batches_.empty() || batches_.back().entries.back().index() < index) return;
  Batch& last = batches_.back();
  const size_t keep = index - last.entries.front().index();
  for (size_t i = keep; i < last.entries.size(); ++i) {
    const uint64_t bytes = EntryBytes(last.entries[i]);
    last.bytes -= bytes;
    bytes_ -= bytes;
  }
  last.entries.resize(keep);
}

void PersistedTail::DropBelow(uint64_t index) {
  while (!batches_.empty() && batches_.front().entries.back().index() < index) {
    bytes_ -= batches_.front().bytes;
    batches_.pop_front();
  }
  if (batches_.empty() || batches_.front().entries.front().index() >= index) return;
  DropFrontEntries(index - batches_.front().entries.front().index());
}

void PersistedTail::DropFrontEntries(size_t count) {
  Batch& first = batches_.front();
  RKV_CHECK_LT(count, first.entries.size());
  const auto end = first.entries.begin() + static_cast<ptrdiff_t>(count);
  for (auto it = first.entries.begin(); it != end; ++it) {
    const uint64_t bytes = EntryBytes(*it);
    first.bytes -= bytes;
    bytes_ -= bytes;
  }
  first.entries.erase(first.entries.begin(), end);
}

uint64_t PersistedTail::Take(uint64_t hi, uint64_t max_bytes, std::vector<Entry>* out) {
  RKV_CHECK(!batches_.empty());
  RKV_CHECK(out->empty());
  uint64_t taken = 0;
  while (!batches_.empty()) {
    Batch& first = batches_.front();
    if (first.entries.front().index() >= hi) break;
    // A whole batch: its vector moves out at once when it is the first.
    if (first.entries.back().index() < hi && (out->empty() || taken + first.bytes <= max_bytes) &&
        (first.bytes <= max_bytes || first.entries.size() == 1)) {
      taken += first.bytes;
      bytes_ -= first.bytes;
      if (out->empty()) {
        *out = std::move(first.entries);
      } else {
        out->insert(out->end(), std::make_move_iterator(first.entries.begin()),
                    std::make_move_iterator(first.entries.end()));
      }
      batches_.pop_front();
      continue;
    }
    // Part of a batch, entry by entry.
    size_t count = 0;
    uint64_t bytes = 0;
    for (; count < first.entries.size() && first.entries[count].index() < hi; ++count) {
      const uint64_t entry_bytes = EntryBytes(first.entries[count]);
      if ((!out->empty() || count > 0) && taken + bytes + entry_bytes > max_bytes) break;
      bytes += entry_bytes;
    }
    if (count == 0) break;
    out->insert(out->end(), std::make_move_iterator(first.entries.begin()),
                std::make_move_iterator(first.entries.begin() + static_cast<ptrdiff_t>(count)));
    // The moved-from entries count for nothing: drop them with their bytes.
    first.entries.erase(first.entries.begin(),
                        first.entries.begin() + static_cast<ptrdiff_t>(count));
    first.bytes -= bytes;
    bytes_ -= bytes;
    taken += bytes;
    if (first.entries.empty()) batches_.pop_front();
    break;
  }
  return taken;
}

void PersistedTail::Clear() {
  batches_.clear();
  bytes_ = 0;
}

}  // namespace rkv::raft
