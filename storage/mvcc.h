// Per-key metadata of a state machine: the stored key record (value, create
// revision, mod revision, version, expiry), the put operand, liveness under
// expiry, and Txn compare evaluation. A revision is the raft index of the
// entry that made the change. Owns no state; thread-safe (pure functions).
//
//   record  := format (1 byte, = 1) create_revision mod_revision version
//              expiry_unix_ms (8 bytes each, little-endian) value
//   operand := format (1 byte, = 2) revision expiry_unix_ms now_unix_ms
//              (8 bytes each, little-endian) value
//
// A Put that does not return the previous value is written blind, as a
// RocksDB merge operand (storage/merge_operator.h): its create revision and
// version depend on the previous record, which FoldPutOperand reads only when
// the key is next read or compacted. The result is the same as reading first,
// and deterministic: expiry is decided against the operand's now_unix_ms.
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "rkv/internal/command.pb.h"

namespace rkv::storage {

inline constexpr size_t kKeyRecordHeaderBytes = 33;

// A decoded record; value points into the encoded bytes.
struct KeyRecord {
  uint64_t create_revision = 0;
  uint64_t mod_revision = 0;
  uint64_t version = 0;
  // 0: never expires.
  uint64_t expiry_unix_ms = 0;
  absl::string_view value;

  // Whether the key exists at now_unix_ms: an expired key reads as absent.
  bool LiveAt(uint64_t now_unix_ms) const {
    return expiry_unix_ms == 0 || now_unix_ms < expiry_unix_ms;
  }
};

std::string EncodeKeyRecord(const KeyRecord& record);
// Returns DATA_LOSS naming the partition and key for a malformed record.
absl::StatusOr<KeyRecord> DecodeKeyRecord(absl::string_view encoded, uint64_t partition_id,
                                          absl::string_view user_key);

std::string EncodePutOperand(uint64_t revision, uint64_t expiry_unix_ms, uint64_t now_unix_ms,
                             absl::string_view value);
// The record a put operand leaves over previous (nullptr: absent). Returns
// DATA_LOSS for a malformed operand.
absl::StatusOr<std::string> FoldPutOperand(const KeyRecord* previous, absl::string_view operand);

// Fills out (key, metadata, and the value unless keys_only).
void ToKeyValue(absl::string_view user_key, const KeyRecord& record, bool keys_only,
                rkv::internal::KeyValue* out);

// Whether compare holds against the key's live record (nullptr: the key is
// absent or expired). A missing key has version, create and mod revision 0 and
// fails every value compare (as etcd). REQUIRES: compare passed
// ValidateCompare (storage/command.h).
bool CompareHolds(const rkv::internal::Compare& compare, const KeyRecord* live);

}  // namespace rkv::storage
