#include "raft/persisted_tail.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "raft/unstable.h"
#include "tests/raft/test_entries.h"

namespace rkv::raft {
namespace {

using testing::WithData;

std::vector<Entry> Range(uint64_t first, uint64_t last) {
  std::vector<Entry> out;
  for (uint64_t i = first; i <= last; ++i) out.push_back(WithData(1, i, "x"));
  return out;
}

std::vector<uint64_t> Indexes(const std::vector<Entry>& entries) {
  std::vector<uint64_t> out;
  for (const Entry& e : entries) out.push_back(e.index());
  return out;
}

// The persisted tail hands out the longest prefix below the commit bound whose
// bytes fit the per-Ready bound, and at least one entry, across the batches
// it was persisted in (the same rule as RaftLog::Slice).
TEST(PersistedTailTest, TakeIsBoundedByIndexAndBytes) {
  const uint64_t one = EntryBytes(WithData(1, 1, "x"));
  struct Case {
    uint64_t hi, max_bytes;
    std::vector<uint64_t> want;
    uint64_t want_first_after;
  };
  const std::vector<Case> cases = {
      {6, 100 * one, {1, 2, 3, 4, 5}, 0},
      {4, 100 * one, {1, 2, 3}, 4},
      {3, 100 * one, {1, 2}, 3},
      {6, 4 * one, {1, 2, 3, 4}, 5},
      {6, 2 * one, {1, 2}, 3},
      {6, 1, {1}, 2},
      {1, 100 * one, {}, 1},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    PersistedTail tail;
    tail.Append(Range(1, 3));
    tail.Append(Range(4, 5));
    std::vector<Entry> out;
    const uint64_t bytes = tail.Take(c.hi, c.max_bytes, &out);
    EXPECT_EQ(Indexes(out), c.want) << "case " << i;
    EXPECT_EQ(bytes, c.want.size() * one) << "case " << i;
    EXPECT_EQ(tail.FirstIndex(), c.want_first_after) << "case " << i;
  }
}

// What the tail holds stays contiguous and equal to the persisted log: a gap
// or a batch over the bound is not kept, and replaced or applied entries go.
TEST(PersistedTailTest, KeepsOnlyContiguousEntriesAndDropsReplacedOnes) {
  PersistedTail tail;
  tail.Append(Range(1, 3));
  tail.Append(Range(5, 6));
  std::vector<Entry> out;
  tail.Take(10, 1 << 20, &out);
  EXPECT_EQ(Indexes(out), (std::vector<uint64_t>{1, 2, 3})) << "the batch after a gap is not kept";

  tail.Append(Range(4, 6));
  tail.Append(Range(7, 9));
  tail.TruncateFrom(8);
  tail.DropBelow(5);
  out.clear();
  tail.Take(10, 1 << 20, &out);
  EXPECT_EQ(Indexes(out), (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_EQ(tail.FirstIndex(), 0u);

  std::vector<Entry> big(1);
  big[0].set_index(1);
  big[0].set_data(std::string(PersistedTail::kMaxBytes, 'x'));
  tail.Append(std::move(big));
  EXPECT_EQ(tail.FirstIndex(), 0u) << "over the bound: read back from the log instead";
}

}  // namespace
}  // namespace rkv::raft
