#include "storage/keys.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "raft/check.h"

namespace rkv::storage::keys {
namespace {

constexpr char kEntryTag = 'e';
constexpr char kHardStateTag = 'h';
constexpr char kSnapshotTag = 's';
// Sorts after every tag above.
constexpr char kEndTag = '\xff';
constexpr char kActiveTag = 'a';
constexpr char kPendingTag = 'p';
constexpr absl::string_view kCfPrefix = "sm-";
constexpr absl::string_view kSpareCfPrefix = "sm-spare-";

FixedKey<kPartitionTagBytes> PartitionTagKey(uint64_t partition_id, char tag) {
  FixedKey<kPartitionTagBytes> key;
  PutBigEndian64(partition_id, key.bytes.data());
  key.bytes[8] = tag;
  return key;
}

FixedKey<10> RegistryKeyOf(uint64_t partition_id, char tag) {
  FixedKey<10> key;
  key.bytes[0] = kRegistryPrefix[0];
  PutBigEndian64(partition_id, key.bytes.data() + 1);
  key.bytes[9] = tag;
  return key;
}

}  // namespace

FixedKey<kLogEntryKeyBytes> LogEntryKey(uint64_t partition_id, uint64_t index) {
  FixedKey<kLogEntryKeyBytes> key;
  PutBigEndian64(partition_id, key.bytes.data());
  key.bytes[8] = kEntryTag;
  PutBigEndian64(index, key.bytes.data() + 9);
  return key;
}

std::optional<uint64_t> ParseLogEntryKey(absl::string_view key, uint64_t partition_id) {
  if (key.size() != kLogEntryKeyBytes) return std::nullopt;
  if (GetBigEndian64(key.data()) != partition_id || key[8] != kEntryTag) return std::nullopt;
  return GetBigEndian64(key.data() + 9);
}

std::string LogRangeStart(uint64_t partition_id, uint64_t index) {
  if (index == 0) return std::string(PartitionLogBegin(partition_id).view());
  std::string key(LogEntryKey(partition_id, index - 1).view());
  key.push_back('\0');
  return key;
}

bool IsHintedRaftKey(absl::string_view key) {
  return (key.size() == kLogEntryKeyBytes && key[8] == kEntryTag) ||
         (key.size() == kPartitionTagBytes && key[8] == kHardStateTag);
}

FixedKey<kPartitionTagBytes> HardStateKey(uint64_t partition_id) {
  return PartitionTagKey(partition_id, kHardStateTag);
}
FixedKey<kPartitionTagBytes> SnapshotMetadataKey(uint64_t partition_id) {
  return PartitionTagKey(partition_id, kSnapshotTag);
}
FixedKey<kPartitionTagBytes> PartitionLogBegin(uint64_t partition_id) {
  return PartitionTagKey(partition_id, '\0');
}
FixedKey<kPartitionTagBytes> PartitionLogEnd(uint64_t partition_id) {
  return PartitionTagKey(partition_id, kEndTag);
}

FixedKey<10> ActiveCfKey(uint64_t partition_id) { return RegistryKeyOf(partition_id, kActiveTag); }
FixedKey<10> PendingCfKey(uint64_t partition_id) {
  return RegistryKeyOf(partition_id, kPendingTag);
}

std::optional<RegistryKey> ParseRegistryKey(absl::string_view key) {
  if (key.size() != 10 || key[0] != kRegistryPrefix[0]) return std::nullopt;
  if (key[9] != kActiveTag && key[9] != kPendingTag) return std::nullopt;
  return RegistryKey{.partition_id = GetBigEndian64(key.data() + 1),
                     .pending = key[9] == kPendingTag};
}

std::string StateMachineCfName(uint64_t partition_id, uint64_t generation) {
  return absl::StrCat(kCfPrefix, partition_id, "-", generation);
}

std::string SpareCfName(uint64_t generation) { return absl::StrCat(kSpareCfPrefix, generation); }

std::optional<CfName> ParseStateMachineCfName(absl::string_view name) {
  if (name.substr(0, kSpareCfPrefix.size()) == kSpareCfPrefix) {
    CfName parsed{.spare = true};
    if (!absl::SimpleAtoi(name.substr(kSpareCfPrefix.size()), &parsed.generation) ||
        SpareCfName(parsed.generation) != name) {
      return std::nullopt;
    }
    return parsed;
  }
  if (name.substr(0, kCfPrefix.size()) != kCfPrefix) return std::nullopt;
  std::vector<absl::string_view> parts = absl::StrSplit(name.substr(kCfPrefix.size()), '-');
  if (parts.size() != 2) return std::nullopt;
  CfName parsed;
  if (!absl::SimpleAtoi(parts[0], &parsed.partition_id) ||
      !absl::SimpleAtoi(parts[1], &parsed.generation)) {
    return std::nullopt;
  }
  // Only the canonical spelling counts, so a name maps to one (partition, generation).
  if (StateMachineCfName(parsed.partition_id, parsed.generation) != name) return std::nullopt;
  return parsed;
}

std::string DataKey(absl::string_view user_key) {
  std::string key;
  key.reserve(user_key.size() + 1);
  key.push_back(kDataPrefix);
  key.append(user_key.data(), user_key.size());
  return key;
}

absl::string_view UserKey(absl::string_view data_key) {
  RKV_CHECK(!data_key.empty());
  RKV_CHECK_EQ(data_key[0], kDataPrefix);
  return data_key.substr(1);
}

}  // namespace rkv::storage::keys
