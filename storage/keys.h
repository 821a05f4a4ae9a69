// Key encodings of every record storage/ keeps, in one place. Integers are
// big-endian so that byte order is numeric order (RocksDB's default
// comparator). Owns no state; thread-safe.
//
// Column family `raft` (all partitions' logs):
//   partition_id(8) 'e' index(8)   log entry            (checked record)
//   partition_id(8) 'h'            hard state           (checked record)
//   partition_id(8) 's'            snapshot metadata    (checked record)
// Column family `default` (the node's registry of partition column families):
//   'p' partition_id(8) 'a'        active generation(8)
//   'p' partition_id(8) 'p'        pending generation(8) + snapshot index(8)
// Column family `sm-<partition_id>-<generation>` (one state machine):
//   0x00 "applied"                 applied index(8) + applied term(8)
//   0x00 "conf"                    ConfState at the applied index
//   0x01 user key                  key record (storage/mvcc.h)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "storage/coding.h"

namespace rkv::storage::keys {

inline constexpr absl::string_view kRaftCfName = "raft";
inline constexpr absl::string_view kDefaultCfName = "default";

// A fixed-size key held without allocation.
template <size_t N>
struct FixedKey {
  std::array<char, N> bytes{};
  absl::string_view view() const { return absl::string_view(bytes.data(), N); }
};

// --- raft column family ---
// partition_id(8) and the record's tag: each partition's log entries share it.
inline constexpr size_t kPartitionTagBytes = 9;
inline constexpr size_t kLogEntryKeyBytes = 17;
FixedKey<kLogEntryKeyBytes> LogEntryKey(uint64_t partition_id, uint64_t index);
// The index of a log entry key of partition_id; nullopt for any other key.
std::optional<uint64_t> ParseLogEntryKey(absl::string_view key, uint64_t partition_id);
// Where a range deletion of partition_id's entries from `index` on begins:
// between the entry keys of index - 1 and index, but never a key for which
// IsHintedRaftKey holds.
std::string LogRangeStart(uint64_t partition_id, uint64_t index);
// Whether a raft column family key is a log entry or a hard state: the keys a
// partition writes in order (appends) or over and over (its hard state), for
// which the column family's memtable keeps an insert position per partition
// (storage/rocks_options.cc). RocksDB 7.8 keeps those positions for point
// keys and range deletions in one table (fixed upstream in 9.2), so a range
// deletion must never start at such a key: it would hand the next write a
// position in the wrong skiplist.
bool IsHintedRaftKey(absl::string_view key);
FixedKey<kPartitionTagBytes> HardStateKey(uint64_t partition_id);
FixedKey<kPartitionTagBytes> SnapshotMetadataKey(uint64_t partition_id);
// [begin, end) covers every record of the partition in the raft column family.
FixedKey<kPartitionTagBytes> PartitionLogBegin(uint64_t partition_id);
FixedKey<kPartitionTagBytes> PartitionLogEnd(uint64_t partition_id);

// --- default column family: the registry ---
FixedKey<10> ActiveCfKey(uint64_t partition_id);
FixedKey<10> PendingCfKey(uint64_t partition_id);
inline constexpr absl::string_view kRegistryPrefix = "p";
struct RegistryKey {
  uint64_t partition_id = 0;
  bool pending = false;
};
std::optional<RegistryKey> ParseRegistryKey(absl::string_view key);

// --- state-machine column families ---
std::string StateMachineCfName(uint64_t partition_id, uint64_t generation);
// A spare: made ahead, in bulk, for whichever partition stages a snapshot
// next; the registry then names it by its generation like any other.
std::string SpareCfName(uint64_t generation);
struct CfName {
  uint64_t partition_id = 0;  // 0 for a spare
  uint64_t generation = 0;
  bool spare = false;
};
std::optional<CfName> ParseStateMachineCfName(absl::string_view name);

inline constexpr absl::string_view kAppliedKey = absl::string_view("\x00" "applied", 8);
inline constexpr absl::string_view kConfStateKey = absl::string_view("\x00" "conf", 5);
inline constexpr char kDataPrefix = '\x01';
// Every data key sorts in [kDataBegin, kDataEnd).
inline constexpr absl::string_view kDataBegin = "\x01";
inline constexpr absl::string_view kDataEnd = "\x02";

std::string DataKey(absl::string_view user_key);
// REQUIRES: data_key starts with kDataPrefix.
absl::string_view UserKey(absl::string_view data_key);

}  // namespace rkv::storage::keys
