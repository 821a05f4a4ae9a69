#include "storage/command.h"

#include "absl/strings/string_view.h"

#include "absl/strings/str_cat.h"
#include "storage/key_range.h"

namespace rkv::storage {
namespace {

using rkv::internal::Compare;
using rkv::internal::TxnOp;

absl::Status ValidateKey(absl::string_view key, const StateMachineLimits& limits,
                         absl::string_view what) {
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": key is empty"));
  if (key.size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": key is ", key.size(),
                                                   " bytes; the limit is ", limits.max_key_bytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateRange(absl::string_view key, absl::string_view range_end,
                           const StateMachineLimits& limits, absl::string_view what) {
  if (absl::Status s = ValidateKey(key, limits, what); !s.ok()) return s;
  if (range_end.empty() || ReadsToTheEnd(range_end)) return absl::OkStatus();
  if (range_end.size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": range end is ", range_end.size(),
                                                   " bytes; the limit is ", limits.max_key_bytes));
  }
  if (range_end <= key) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": range end does not sort after the key"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePut(const rkv::internal::PutOp& put, const StateMachineLimits& limits,
                         absl::string_view what) {
  if (absl::Status s = ValidateKey(put.key(), limits, what); !s.ok()) return s;
  if (put.value().size() > limits.max_value_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": value is ", put.value().size(),
                                                   " bytes; the limit is ",
                                                   limits.max_value_bytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateCompare(const Compare& compare, const StateMachineLimits& limits,
                             absl::string_view what) {
  if (absl::Status s = ValidateKey(compare.key(), limits, what); !s.ok()) return s;
  if (!Compare::Result_IsValid(compare.result()) ||
      compare.result() == Compare::RESULT_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": unknown compare result ", static_cast<int>(compare.result())));
  }
  Compare::OperandCase expected = Compare::OPERAND_NOT_SET;
  switch (compare.target()) {
    case Compare::TARGET_VALUE:
      expected = Compare::kValue;
      break;
    case Compare::TARGET_VERSION:
      expected = Compare::kVersion;
      break;
    case Compare::TARGET_CREATE_REVISION:
      expected = Compare::kCreateRevision;
      break;
    case Compare::TARGET_MOD_REVISION:
      expected = Compare::kModRevision;
      break;
    case Compare::TARGET_EXISTS:
      expected = Compare::kExists;
      if (compare.result() != Compare::RESULT_EQUAL &&
          compare.result() != Compare::RESULT_NOT_EQUAL) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": an exists compare takes only equal or not-equal"));
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": unknown compare target ", static_cast<int>(compare.target())));
  }
  if (compare.operand_case() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the compare operand does not match its target ",
                     Compare::Target_Name(compare.target())));
  }
  if (compare.value().size() > limits.max_value_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": compare value is ",
                                                   compare.value().size(), " bytes; the limit is ",
                                                   limits.max_value_bytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateOps(const google::protobuf::RepeatedPtrField<TxnOp>& ops,
                         const StateMachineLimits& limits, absl::string_view branch) {
  for (int i = 0; i < ops.size(); ++i) {
    std::string what = absl::StrCat("txn ", branch, " op ", i);
    const TxnOp& op = ops[i];
    absl::Status s;
    switch (op.op_case()) {
      case TxnOp::kPut:
        s = ValidatePut(op.put(), limits, what);
        break;
      case TxnOp::kDeleteKey:
        s = ValidateKey(op.delete_key().key(), limits, what);
        break;
      case TxnOp::kDeleteRange:
        s = ValidateRange(op.delete_range().key(), op.delete_range().range_end(), limits, what);
        break;
      case TxnOp::kRange:
        if (!IsWholeKeyspace(op.range().key(), op.range().range_end())) {
          s = ValidateRange(op.range().key(), op.range().range_end(), limits, what);
        }
        break;
      default:
        s = absl::InvalidArgumentError(absl::StrCat(what, ": unknown op type"));
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCommand(const rkv::internal::Command& command,
                             const StateMachineLimits& limits) {
  using rkv::internal::Command;
  switch (command.command_case()) {
    case Command::kPut:
      return ValidatePut(command.put(), limits, "put");
    case Command::kDeleteKey:
      return ValidateKey(command.delete_key().key(), limits, "delete");
    case Command::kDeleteRange:
      return ValidateRange(command.delete_range().key(), command.delete_range().range_end(),
                           limits, "delete range");
    case Command::kTxn: {
      const rkv::internal::TxnCommand& txn = command.txn();
      if (static_cast<uint64_t>(txn.compares_size()) > limits.max_txn_compares) {
        return absl::ResourceExhaustedError(absl::StrCat("txn has ", txn.compares_size(),
                                                         " compares; the limit is ",
                                                         limits.max_txn_compares));
      }
      uint64_t ops = static_cast<uint64_t>(txn.success_size()) + txn.failure_size();
      if (ops > limits.max_txn_ops) {
        return absl::ResourceExhaustedError(
            absl::StrCat("txn has ", ops, " ops; the limit is ", limits.max_txn_ops));
      }
      for (int i = 0; i < txn.compares_size(); ++i) {
        if (absl::Status s = ValidateCompare(txn.compares(i), limits, absl::StrCat("txn compare ", i));
            !s.ok()) {
          return s;
        }
      }
      if (absl::Status s = ValidateOps(txn.success(), limits, "success"); !s.ok()) return s;
      return ValidateOps(txn.failure(), limits, "failure");
    }
    default:
      return absl::InvalidArgumentError("unknown command type");
  }
}

}  // namespace rkv::storage
