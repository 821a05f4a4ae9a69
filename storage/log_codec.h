// How the records of the `raft` column family are encoded: log entries, hard
// state and snapshot metadata, each a checked record (storage/checked_record.h)
// around the protobuf message. Decoding verifies the checksum and that an
// entry sits under its own (partition, index) key; a mismatch is DATA_LOSS
// naming the partition and index. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "raft/types.h"

namespace rkv::storage {

std::string EncodeEntryRecord(uint64_t partition_id, const raft::Entry& entry);
absl::StatusOr<raft::Entry> DecodeEntryRecord(uint64_t partition_id, uint64_t index,
                                              absl::string_view record);

std::string EncodeHardStateRecord(uint64_t partition_id, const raft::HardState& hard_state);
absl::StatusOr<raft::HardState> DecodeHardStateRecord(uint64_t partition_id,
                                                      absl::string_view record);

std::string EncodeSnapshotMetadataRecord(uint64_t partition_id,
                                         const raft::SnapshotMetadata& metadata);
absl::StatusOr<raft::SnapshotMetadata> DecodeSnapshotMetadataRecord(uint64_t partition_id,
                                                                    absl::string_view record);

}  // namespace rkv::storage
