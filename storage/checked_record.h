// Checked records: a value prefixed with the XXH3 of its payload, seeded with
// the XXH3 of its key, so a flipped bit or a record found under another key
// (another partition or index) fails verification. Used for every record of
// the raft column family and the state machines' metadata. Thread-safe (pure
// functions).
//
//   value := checksum (8 bytes, little-endian) payload
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace rkv::storage {

inline constexpr size_t kChecksumBytes = 8;

// Returns the record of payload stored under key.
std::string EncodeChecked(absl::string_view key, absl::string_view payload);

// For callers that serialize straight into the record: *record holds
// kChecksumBytes placeholder bytes followed by the payload; fills them in.
void SealChecked(absl::string_view key, std::string* record);

// The payload of a record read under key. Returns DATA_LOSS, prefixed with
// `what` (e.g. "partition 3 log entry 17"), when the record is too short or
// its checksum does not match.
absl::StatusOr<absl::string_view> OpenChecked(absl::string_view key, absl::string_view record,
                                             absl::string_view what);

}  // namespace rkv::storage
