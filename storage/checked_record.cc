#include "storage/checked_record.h"

#include "absl/strings/str_format.h"
#include "raft/check.h"
#include "storage/checksum.h"
#include "storage/coding.h"

namespace rkv::storage {
namespace {

uint64_t RecordChecksum(absl::string_view key, absl::string_view payload) {
  return Checksum(payload, Checksum(key));
}

}  // namespace

std::string EncodeChecked(absl::string_view key, absl::string_view payload) {
  std::string record(kChecksumBytes, '\0');
  record.append(payload.data(), payload.size());
  SealChecked(key, &record);
  return record;
}

void SealChecked(absl::string_view key, std::string* record) {
  RKV_CHECK_GE(record->size(), kChecksumBytes);
  uint64_t checksum =
      RecordChecksum(key, absl::string_view(*record).substr(kChecksumBytes));
  PutLittleEndian64(checksum, record->data());
}

absl::StatusOr<absl::string_view> OpenChecked(absl::string_view key, absl::string_view record,
                                             absl::string_view what) {
  if (record.size() < kChecksumBytes) {
    return absl::DataLossError(absl::StrFormat(
        "%s is corrupt: the stored record is %d bytes, shorter than its %d-byte checksum", what,
        record.size(), kChecksumBytes));
  }
  absl::string_view payload = record.substr(kChecksumBytes);
  uint64_t stored = GetLittleEndian64(record.data());
  uint64_t computed = RecordChecksum(key, payload);
  if (stored != computed) {
    return absl::DataLossError(
        absl::StrFormat("%s is corrupt: checksum mismatch (stored %016x, computed %016x)", what,
                        stored, computed));
  }
  return payload;
}

}  // namespace rkv::storage
