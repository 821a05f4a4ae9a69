// Encodings that storage/ relies on for order and integrity: big-endian keys
// sort numerically, names round-trip, checksums detect flips, the term cache
// answers exactly what it covers.
#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/checked_record.h"
#include "storage/checksum.h"
#include "storage/coding.h"
#include "storage/keys.h"
#include "storage/term_cache.h"

namespace rkv::storage {
namespace {

std::string Str(absl::string_view view) { return std::string(view); }

TEST(KeysTest, LogEntryKeysSortByPartitionThenIndex) {
  // Byte order must equal numeric order, or range deletes and scans of a
  // partition's log would cover the wrong entries.
  struct Case {
    uint64_t partition_id;
    uint64_t index;
  };
  const std::vector<Case> cases = {{0, 0},   {0, 1},   {0, 255},       {0, 256},
                                   {0, 1ull << 40},   {1, 0},   {1, 2}, {256, 1},
                                   {~0ull, 0}, {~0ull, ~0ull}};
  for (size_t i = 1; i < cases.size(); ++i) {
    std::string before = Str(keys::LogEntryKey(cases[i - 1].partition_id, cases[i - 1].index).view());
    std::string after = Str(keys::LogEntryKey(cases[i].partition_id, cases[i].index).view());
    EXPECT_LT(before, after) << i;
  }
  for (const Case& c : cases) {
    auto key = keys::LogEntryKey(c.partition_id, c.index);
    EXPECT_EQ(keys::ParseLogEntryKey(key.view(), c.partition_id), c.index);
    EXPECT_EQ(keys::ParseLogEntryKey(key.view(), c.partition_id + 1), std::nullopt);
  }
}

TEST(KeysTest, RangeDeletionsInTheRaftColumnFamilyNeverStartAtAHintedKey) {
  // RocksDB 7.8 shares memtable insert hints between point keys and range
  // deletions (storage/keys.h, IsHintedRaftKey).
  for (uint64_t partition : std::vector<uint64_t>{1, 7, ~0ull - 1}) {
    EXPECT_TRUE(keys::IsHintedRaftKey(keys::LogEntryKey(partition, 5).view()));
    EXPECT_TRUE(keys::IsHintedRaftKey(keys::HardStateKey(partition).view()));
    EXPECT_FALSE(keys::IsHintedRaftKey(keys::SnapshotMetadataKey(partition).view()));
    EXPECT_FALSE(keys::IsHintedRaftKey(keys::PartitionLogBegin(partition).view()));
    for (uint64_t index : std::vector<uint64_t>{1, 2, 255, 256, ~0ull}) {
      const std::string start = keys::LogRangeStart(partition, index);
      EXPECT_FALSE(keys::IsHintedRaftKey(start)) << index;
      EXPECT_LT(Str(keys::LogEntryKey(partition, index - 1).view()), start) << index;
      EXPECT_LT(start, Str(keys::LogEntryKey(partition, index).view())) << index;
    }
    const std::string from_zero = keys::LogRangeStart(partition, 0);
    EXPECT_FALSE(keys::IsHintedRaftKey(from_zero));
    EXPECT_LT(Str(keys::LogEntryKey(partition - 1, ~0ull).view()), from_zero);
    EXPECT_LE(from_zero, Str(keys::LogEntryKey(partition, 0).view()));
    EXPECT_LT(from_zero, Str(keys::HardStateKey(partition).view()));
  }
}

TEST(KeysTest, PartitionRecordsStayInsideThePartitionRange) {
  for (uint64_t partition_id : {0ull, 7ull, ~0ull - 1}) {
    std::string begin = Str(keys::PartitionLogBegin(partition_id).view());
    std::string end = Str(keys::PartitionLogEnd(partition_id).view());
    for (std::string key : {Str(keys::LogEntryKey(partition_id, 0).view()),
                            Str(keys::LogEntryKey(partition_id, ~0ull).view()),
                            Str(keys::HardStateKey(partition_id).view()),
                            Str(keys::SnapshotMetadataKey(partition_id).view())}) {
      EXPECT_LE(begin, key);
      EXPECT_LT(key, end);
    }
    // Every entry key sorts before the hard state (installs delete [entry 0, hard state)).
    EXPECT_LT(Str(keys::LogEntryKey(partition_id, ~0ull).view()),
              Str(keys::HardStateKey(partition_id).view()));
    EXPECT_LE(Str(keys::PartitionLogEnd(partition_id).view()),
              Str(keys::PartitionLogBegin(partition_id + 1).view()));
  }
}

TEST(KeysTest, StateMachineNamesAndKeysRoundTrip) {
  EXPECT_EQ(keys::StateMachineCfName(3, 17), "sm-3-17");
  auto parsed = keys::ParseStateMachineCfName("sm-3-17");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->partition_id, 3u);
  EXPECT_EQ(parsed->generation, 17u);
  EXPECT_FALSE(parsed->spare);
  EXPECT_EQ(keys::SpareCfName(9), "sm-spare-9");
  auto spare = keys::ParseStateMachineCfName("sm-spare-9");
  ASSERT_TRUE(spare.has_value());
  EXPECT_TRUE(spare->spare);
  EXPECT_EQ(spare->generation, 9u);
  for (const char* bad : {"sm-3", "sm-3-", "sm--1", "sm-03-1", "raft", "default", "sm-1-2-3",
                          "sm-a-1", "sm-spare-", "sm-spare-09", "sm-spare-x", "sm-spare-1-2"}) {
    EXPECT_FALSE(keys::ParseStateMachineCfName(bad).has_value()) << bad;
  }
  EXPECT_EQ(Str(keys::UserKey(keys::DataKey("abc"))), "abc");
  // Metadata sorts before data; data keys keep user order.
  EXPECT_LT(Str(keys::kAppliedKey), Str(keys::kDataBegin));
  EXPECT_LT(Str(keys::kConfStateKey), Str(keys::kDataBegin));
  EXPECT_LT(keys::DataKey("a"), keys::DataKey(std::string("a\0", 2)));
  EXPECT_LT(keys::DataKey("\xff\xff"), Str(keys::kDataEnd));
  auto registry = keys::ParseRegistryKey(keys::PendingCfKey(9).view());
  ASSERT_TRUE(registry.has_value());
  EXPECT_EQ(registry->partition_id, 9u);
  EXPECT_TRUE(registry->pending);
}

TEST(KeysTest, VarintsRoundTripAndRejectTruncation) {
  for (uint64_t value : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 35, ~0ull}) {
    std::string encoded;
    AppendVarint64(value, &encoded);
    absl::string_view in = encoded;
    EXPECT_EQ(ConsumeVarint64(&in), value);
    EXPECT_TRUE(in.empty());
    absl::string_view truncated(encoded.data(), encoded.size() - 1);
    EXPECT_EQ(ConsumeVarint64(&truncated), std::nullopt);
  }
  std::string too_long(11, '\x80');
  absl::string_view in = too_long;
  EXPECT_EQ(ConsumeVarint64(&in), std::nullopt);
}

TEST(ChecksumTest, StreamEqualsOneShotAndSeedsDiffer) {
  StreamChecksum stream;
  stream.Update("hello ");
  stream.Update("world");
  EXPECT_EQ(stream.Digest(), Checksum("hello world"));
  EXPECT_NE(Checksum("x", 1), Checksum("x", 2));
}

TEST(ChecksumTest, CheckedRecordDetectsEveryFlippedByteAndAForeignKey) {
  std::string record = EncodeChecked("key-1", "payload");
  ASSERT_TRUE(OpenChecked("key-1", record, "record").ok());
  EXPECT_EQ(*OpenChecked("key-1", record, "record"), "payload");
  for (size_t i = 0; i < record.size(); ++i) {
    std::string flipped = record;
    flipped[i] ^= 0x01;
    absl::StatusOr<absl::string_view> opened = OpenChecked("key-1", flipped, "partition 3 entry 9");
    ASSERT_FALSE(opened.ok()) << i;
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(opened.status().message().find("partition 3 entry 9"), absl::string_view::npos);
  }
  // The same bytes under another key (another index) do not verify.
  EXPECT_EQ(OpenChecked("key-2", record, "record").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenChecked("key-1", "short", "record").status().code(), absl::StatusCode::kDataLoss);
}

TEST(TermCacheTest, CoversRecentEntriesAsRuns) {
  TermCache cache(/*max_runs=*/3);
  EXPECT_EQ(cache.Lookup(1), std::nullopt);
  // Terms 1 (1-3), 2 (4-5), 4 (6-9).
  for (uint64_t i = 1; i <= 9; ++i) cache.Append(i, i <= 3 ? 1 : (i <= 5 ? 2 : 4));
  EXPECT_EQ(cache.run_count(), 3u);
  EXPECT_EQ(cache.Lookup(1), 1u);
  EXPECT_EQ(cache.Lookup(5), 2u);
  EXPECT_EQ(cache.Lookup(9), 4u);
  EXPECT_EQ(cache.Lookup(10), std::nullopt);
  // A fourth run pushes the oldest out.
  cache.Append(10, 5);
  EXPECT_EQ(cache.run_count(), 3u);
  EXPECT_EQ(cache.Lookup(3), std::nullopt);
  EXPECT_EQ(cache.Lookup(4), 2u);
  // A conflicting append truncates.
  cache.TruncateFrom(5);
  EXPECT_EQ(cache.Lookup(4), 2u);
  EXPECT_EQ(cache.Lookup(5), std::nullopt);
  cache.Append(5, 6);
  EXPECT_EQ(cache.Lookup(5), 6u);
  // Compaction.
  cache.DropBelow(5);
  EXPECT_EQ(cache.Lookup(4), std::nullopt);
  EXPECT_EQ(cache.Lookup(5), 6u);
  cache.DropBelow(6);
  EXPECT_EQ(cache.Lookup(5), std::nullopt);
  EXPECT_EQ(cache.run_count(), 0u);
}

}  // namespace
}  // namespace rkv::storage
