#include "storage/mvcc.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "storage/coding.h"

namespace rkv::storage {
namespace {

constexpr char kRecordFormat = 1;
constexpr char kOperandFormat = 2;
constexpr size_t kOperandHeaderBytes = 25;

template <typename T>
bool Holds(rkv::internal::Compare::Result result, const T& actual, const T& operand) {
  switch (result) {
    case rkv::internal::Compare::RESULT_EQUAL:
      return actual == operand;
    case rkv::internal::Compare::RESULT_NOT_EQUAL:
      return actual != operand;
    case rkv::internal::Compare::RESULT_GREATER:
      return actual > operand;
    case rkv::internal::Compare::RESULT_LESS:
      return actual < operand;
    default:
      RKV_CHECK_MSG(false, absl::StrCat("unvalidated compare result ", static_cast<int>(result)));
  }
  return false;
}

}  // namespace

std::string EncodeKeyRecord(const KeyRecord& record) {
  std::string encoded(kKeyRecordHeaderBytes, '\0');
  encoded[0] = kRecordFormat;
  PutLittleEndian64(record.create_revision, encoded.data() + 1);
  PutLittleEndian64(record.mod_revision, encoded.data() + 9);
  PutLittleEndian64(record.version, encoded.data() + 17);
  PutLittleEndian64(record.expiry_unix_ms, encoded.data() + 25);
  encoded.append(record.value.data(), record.value.size());
  return encoded;
}

absl::StatusOr<KeyRecord> DecodeKeyRecord(absl::string_view encoded, uint64_t partition_id,
                                          absl::string_view user_key) {
  if (encoded.size() < kKeyRecordHeaderBytes || encoded[0] != kRecordFormat) {
    return absl::DataLossError(absl::StrCat(
        "partition ", partition_id, " key \"", absl::CHexEscape(user_key.substr(0, 64)),
        "\": the stored record is malformed (", encoded.size(), " bytes, format ",
        encoded.empty() ? -1 : static_cast<int>(encoded[0]), ")"));
  }
  KeyRecord record;
  record.create_revision = GetLittleEndian64(encoded.data() + 1);
  record.mod_revision = GetLittleEndian64(encoded.data() + 9);
  record.version = GetLittleEndian64(encoded.data() + 17);
  record.expiry_unix_ms = GetLittleEndian64(encoded.data() + 25);
  record.value = encoded.substr(kKeyRecordHeaderBytes);
  return record;
}

std::string EncodePutOperand(uint64_t revision, uint64_t expiry_unix_ms, uint64_t now_unix_ms,
                             absl::string_view value) {
  std::string operand(kOperandHeaderBytes, '\0');
  operand[0] = kOperandFormat;
  PutLittleEndian64(revision, operand.data() + 1);
  PutLittleEndian64(expiry_unix_ms, operand.data() + 9);
  PutLittleEndian64(now_unix_ms, operand.data() + 17);
  operand.append(value.data(), value.size());
  return operand;
}

absl::StatusOr<std::string> FoldPutOperand(const KeyRecord* previous, absl::string_view operand) {
  if (operand.size() < kOperandHeaderBytes || operand[0] != kOperandFormat) {
    return absl::DataLossError(absl::StrCat("a stored put operand is malformed (",
                                            operand.size(), " bytes, format ",
                                            operand.empty() ? -1 : static_cast<int>(operand[0]),
                                            ")"));
  }
  KeyRecord record;
  record.mod_revision = GetLittleEndian64(operand.data() + 1);
  record.expiry_unix_ms = GetLittleEndian64(operand.data() + 9);
  const uint64_t now_unix_ms = GetLittleEndian64(operand.data() + 17);
  record.value = operand.substr(kOperandHeaderBytes);
  if (previous != nullptr && previous->LiveAt(now_unix_ms)) {
    record.create_revision = previous->create_revision;
    record.version = previous->version + 1;
  } else {
    // Absent or expired: the key is created anew.
    record.create_revision = record.mod_revision;
    record.version = 1;
  }
  return EncodeKeyRecord(record);
}

void ToKeyValue(absl::string_view user_key, const KeyRecord& record, bool keys_only,
                rkv::internal::KeyValue* out) {
  out->set_key(user_key.data(), user_key.size());
  if (!keys_only) out->set_value(record.value.data(), record.value.size());
  out->set_create_revision(record.create_revision);
  out->set_mod_revision(record.mod_revision);
  out->set_version(record.version);
  out->set_expiry_unix_ms(record.expiry_unix_ms);
}

bool CompareHolds(const rkv::internal::Compare& compare, const KeyRecord* live) {
  using rkv::internal::Compare;
  const Compare::Result result = compare.result();
  switch (compare.target()) {
    case Compare::TARGET_VALUE:
      if (live == nullptr) return false;
      return Holds(result, live->value, absl::string_view(compare.value()));
    case Compare::TARGET_VERSION:
      return Holds(result, live ? live->version : 0, compare.version());
    case Compare::TARGET_CREATE_REVISION:
      return Holds(result, live ? live->create_revision : 0, compare.create_revision());
    case Compare::TARGET_MOD_REVISION:
      return Holds(result, live ? live->mod_revision : 0, compare.mod_revision());
    case Compare::TARGET_EXISTS:
      return Holds(result, live != nullptr, compare.exists());
    default:
      RKV_CHECK_MSG(false,
                    absl::StrCat("unvalidated compare target ", static_cast<int>(compare.target())));
  }
  return false;
}

}  // namespace rkv::storage
