#include "storage/log_codec.h"

#include "absl/strings/str_cat.h"
#include "storage/checked_record.h"
#include "storage/keys.h"

namespace rkv::storage {
namespace {

template <typename Message>
absl::StatusOr<Message> Decode(absl::string_view key, absl::string_view record,
                               const std::string& what) {
  absl::StatusOr<absl::string_view> payload = OpenChecked(key, record, what);
  if (!payload.ok()) return payload.status();
  Message message;
  if (!message.ParseFromArray(payload->data(), static_cast<int>(payload->size()))) {
    return absl::DataLossError(absl::StrCat(what, " is corrupt: it does not parse"));
  }
  return message;
}

}  // namespace

std::string EncodeEntryRecord(uint64_t partition_id, const raft::Entry& entry) {
  auto key = keys::LogEntryKey(partition_id, entry.index());
  std::string record(kChecksumBytes, '\0');
  entry.AppendToString(&record);
  SealChecked(key.view(), &record);
  return record;
}

absl::StatusOr<raft::Entry> DecodeEntryRecord(uint64_t partition_id, uint64_t index,
                                              absl::string_view record) {
  auto key = keys::LogEntryKey(partition_id, index);
  std::string what = absl::StrCat("partition ", partition_id, " log entry ", index);
  absl::StatusOr<raft::Entry> entry = Decode<raft::Entry>(key.view(), record, what);
  if (!entry.ok()) return entry.status();
  if (entry->index() != index) {
    return absl::DataLossError(
        absl::StrCat(what, " is corrupt: it holds the entry of index ", entry->index()));
  }
  return entry;
}

std::string EncodeHardStateRecord(uint64_t partition_id, const raft::HardState& hard_state) {
  return EncodeChecked(keys::HardStateKey(partition_id).view(), hard_state.SerializeAsString());
}

absl::StatusOr<raft::HardState> DecodeHardStateRecord(uint64_t partition_id,
                                                      absl::string_view record) {
  return Decode<raft::HardState>(keys::HardStateKey(partition_id).view(), record,
                                 absl::StrCat("partition ", partition_id, " hard state"));
}

std::string EncodeSnapshotMetadataRecord(uint64_t partition_id,
                                         const raft::SnapshotMetadata& metadata) {
  return EncodeChecked(keys::SnapshotMetadataKey(partition_id).view(),
                       metadata.SerializeAsString());
}

absl::StatusOr<raft::SnapshotMetadata> DecodeSnapshotMetadataRecord(uint64_t partition_id,
                                                                    absl::string_view record) {
  return Decode<raft::SnapshotMetadata>(
      keys::SnapshotMetadataKey(partition_id).view(), record,
      absl::StrCat("partition ", partition_id, " snapshot metadata"));
}

}  // namespace rkv::storage
