#include "storage/ops.h"

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "storage/mvcc.h"

namespace rkv::storage {
namespace {

using rkv::internal::Command;
using rkv::internal::DeleteResult;
using rkv::internal::KeyValue;
using rkv::internal::TxnOp;

// The live record of user_key at the context's time, decoded into *storage's
// bytes; nullopt when absent or expired. *present tells whether anything is
// stored (an expired record is stored but not live).
absl::StatusOr<std::optional<KeyRecord>> LiveRecord(const OpContext& context,
                                                    absl::string_view user_key,
                                                    std::optional<std::string>* storage) {
  absl::StatusOr<std::optional<std::string>> stored = context.view.Get(user_key);
  if (!stored.ok()) return stored.status();
  *storage = *std::move(stored);
  if (!storage->has_value()) return std::nullopt;
  absl::StatusOr<KeyRecord> record =
      DecodeKeyRecord(**storage, context.partition_id, user_key);
  if (!record.ok()) return record.status();
  if (!record->LiveAt(context.now_unix_ms)) return std::nullopt;
  return *record;
}

// The end of a user range for ApplyView::Scan: nullopt for "\0" (no end).
std::optional<absl::string_view> ScanEnd(const std::string& range_end) {
  if (range_end == absl::string_view("\0", 1)) return std::nullopt;
  return absl::string_view(range_end);
}

absl::Status Put(const OpContext& context, const rkv::internal::PutOp& put,
                 rkv::internal::PutResult* result) {
  if (!put.prev_kv()) {
    // Nothing to return from the previous record: write blind.
    return context.view.Merge(put.key(), EncodePutOperand(context.revision, put.expiry_unix_ms(),
                                                          context.now_unix_ms, put.value()));
  }
  std::optional<std::string> storage;
  absl::StatusOr<std::optional<KeyRecord>> previous = LiveRecord(context, put.key(), &storage);
  if (!previous.ok()) return previous.status();
  KeyRecord record;
  record.value = put.value();
  record.mod_revision = context.revision;
  record.expiry_unix_ms = put.expiry_unix_ms();
  if (previous->has_value()) {
    record.create_revision = (*previous)->create_revision;
    record.version = (*previous)->version + 1;
    if (put.prev_kv()) ToKeyValue(put.key(), **previous, false, result->mutable_prev_kv());
  } else {
    // Absent or expired: the key is created anew.
    record.create_revision = context.revision;
    record.version = 1;
  }
  context.view.Put(put.key(), EncodeKeyRecord(record));
  return absl::OkStatus();
}

absl::Status DeleteKey(const OpContext& context, const rkv::internal::DeleteOp& del,
                       DeleteResult* result) {
  std::optional<std::string> storage;
  absl::StatusOr<std::optional<KeyRecord>> previous = LiveRecord(context, del.key(), &storage);
  if (!previous.ok()) return previous.status();
  // An expired key is removed too, but was already absent for the client.
  if (storage.has_value()) context.view.Delete(del.key());
  if (previous->has_value()) {
    result->set_deleted(1);
    if (del.prev_kv()) ToKeyValue(del.key(), **previous, false, result->add_prev_kvs());
  }
  return absl::OkStatus();
}

absl::Status DeleteRange(const OpContext& context, const rkv::internal::DeleteRangeOp& del,
                         DeleteResult* result) {
  if (del.range_end().empty()) {
    rkv::internal::DeleteOp one;
    one.set_key(del.key());
    one.set_prev_kv(del.prev_kv());
    return DeleteKey(context, one, result);
  }
  std::vector<std::string> doomed;
  absl::Status decode_error;
  absl::Status s = context.view.Scan(
      del.key(), ScanEnd(del.range_end()), context.limits.max_scan_keys,
      [&](absl::string_view user_key, absl::string_view encoded) {
        absl::StatusOr<KeyRecord> record =
            DecodeKeyRecord(encoded, context.partition_id, user_key);
        if (!record.ok()) {
          decode_error = record.status();
          return false;
        }
        doomed.emplace_back(user_key);
        if (record->LiveAt(context.now_unix_ms)) {
          result->set_deleted(result->deleted() + 1);
          if (del.prev_kv()) ToKeyValue(user_key, *record, false, result->add_prev_kvs());
        }
        return true;
      });
  if (!s.ok()) return s;
  if (!decode_error.ok()) return decode_error;
  for (const std::string& user_key : doomed) context.view.Delete(user_key);
  return absl::OkStatus();
}

absl::Status RunOp(const OpContext& context, const TxnOp& op,
                   rkv::internal::TxnOpResult* result) {
  switch (op.op_case()) {
    case TxnOp::kPut:
      return Put(context, op.put(), result->mutable_put());
    case TxnOp::kDeleteKey:
      return DeleteKey(context, op.delete_key(), result->mutable_delete_key());
    case TxnOp::kDeleteRange:
      return DeleteRange(context, op.delete_range(), result->mutable_delete_range());
    case TxnOp::kRange:
      return ExecuteRange(context, op.range(), result->mutable_range());
    default:
      return absl::InvalidArgumentError("unknown txn op type");
  }
}

absl::Status Txn(const OpContext& context, const rkv::internal::TxnCommand& txn,
                 rkv::internal::TxnResult* result) {
  bool succeeded = true;
  for (const rkv::internal::Compare& compare : txn.compares()) {
    std::optional<std::string> storage;
    absl::StatusOr<std::optional<KeyRecord>> live = LiveRecord(context, compare.key(), &storage);
    if (!live.ok()) return live.status();
    if (!CompareHolds(compare, live->has_value() ? &**live : nullptr)) {
      succeeded = false;
      break;
    }
  }
  result->set_succeeded(succeeded);
  for (const TxnOp& op : succeeded ? txn.success() : txn.failure()) {
    if (absl::Status s = RunOp(context, op, result->add_results()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

bool IsRejection(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

absl::Status ExecuteCommand(const OpContext& context, const Command& command,
                            rkv::internal::CommandResult* result) {
  switch (command.command_case()) {
    case Command::kPut:
      return Put(context, command.put(), result->mutable_put());
    case Command::kDeleteKey:
      return DeleteKey(context, command.delete_key(), result->mutable_delete_key());
    case Command::kDeleteRange:
      return DeleteRange(context, command.delete_range(), result->mutable_delete_range());
    case Command::kTxn:
      return Txn(context, command.txn(), result->mutable_txn());
    default:
      return absl::InvalidArgumentError("unknown command type");
  }
}

absl::Status ExecuteRange(const OpContext& context, const rkv::internal::RangeOp& range,
                          rkv::internal::RangeResult* result) {
  uint64_t limit = range.limit();
  if (limit == 0 || limit > context.limits.max_range_keys) limit = context.limits.max_range_keys;
  if (range.range_end().empty()) {
    std::optional<std::string> storage;
    absl::StatusOr<std::optional<KeyRecord>> live = LiveRecord(context, range.key(), &storage);
    if (!live.ok()) return live.status();
    if (live->has_value()) {
      result->set_count(1);
      if (!range.count_only()) ToKeyValue(range.key(), **live, range.keys_only(), result->add_kvs());
    }
    return absl::OkStatus();
  }
  absl::Status decode_error;
  absl::Status s = context.view.Scan(
      range.key(), ScanEnd(range.range_end()), context.limits.max_scan_keys,
      [&](absl::string_view user_key, absl::string_view encoded) {
        absl::StatusOr<KeyRecord> record =
            DecodeKeyRecord(encoded, context.partition_id, user_key);
        if (!record.ok()) {
          decode_error = record.status();
          return false;
        }
        if (!record->LiveAt(context.now_unix_ms)) return true;
        result->set_count(result->count() + 1);
        if (range.count_only()) return true;
        if (static_cast<uint64_t>(result->kvs_size()) >= limit) {
          result->set_more(true);
          return true;
        }
        ToKeyValue(user_key, *record, range.keys_only(), result->add_kvs());
        return true;
      });
  if (!s.ok()) return s;
  return decode_error;
}

}  // namespace rkv::storage
