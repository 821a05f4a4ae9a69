#include "server/validate.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/key_range.h"

namespace rkv::server {
namespace {

// Keys in messages are shown escaped and shortened: they may be binary and long.
std::string Show(std::string_view key) {
  constexpr size_t kShown = 40;
  const std::string_view shown = key.substr(0, kShown);
  std::string s = absl::CHexEscape(absl::string_view(shown.data(), shown.size()));
  if (key.size() > kShown) absl::StrAppend(&s, "...");
  return absl::StrCat("\"", s, "\"");
}

absl::Status ValidateValue(std::string_view value, const Limits& limits) {
  if (value.size() > limits.max_value_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("value is ", value.size(),
                                                   " bytes; the limit is ",
                                                   limits.max_value_bytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateCompare(const v1::Compare& c, const Limits& limits) {
  if (absl::Status s = ValidateKey(c.key(), limits); !s.ok()) return s;
  if (c.result() == v1::Compare::RESULT_UNSPECIFIED || !v1::Compare::Result_IsValid(c.result())) {
    return absl::InvalidArgumentError(absl::StrCat("compare on ", Show(c.key()), " has no result operator"));
  }
  v1::Compare::OperandCase want;
  switch (c.target()) {
    case v1::Compare::VALUE:
      want = v1::Compare::kValue;
      break;
    case v1::Compare::VERSION:
      want = v1::Compare::kVersion;
      break;
    case v1::Compare::CREATE_REVISION:
      want = v1::Compare::kCreateRevision;
      break;
    case v1::Compare::MOD_REVISION:
      want = v1::Compare::kModRevision;
      break;
    case v1::Compare::EXISTS:
      want = v1::Compare::kExists;
      if (c.result() != v1::Compare::EQUAL && c.result() != v1::Compare::NOT_EQUAL) {
        return absl::InvalidArgumentError(
            absl::StrCat("compare on ", Show(c.key()), ": EXISTS takes EQUAL or NOT_EQUAL"));
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("compare on ", Show(c.key()), " has no target"));
  }
  if (c.operand_case() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("compare on ", Show(c.key()), ": the operand does not match the target"));
  }
  if (want == v1::Compare::kValue) return ValidateValue(c.value(), limits);
  return absl::OkStatus();
}

}  // namespace

absl::Status Limits::Validate() const {
  if (max_key_bytes == 0 || max_value_bytes == 0 || max_txn_ops == 0 || max_range_keys == 0) {
    return absl::InvalidArgumentError("request limits must be positive");
  }
  return absl::OkStatus();
}

absl::Status ValidateKey(std::string_view key, const Limits& limits) {
  if (key.empty()) return absl::InvalidArgumentError("key is empty");
  if (key.size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("key ", Show(key), " is ", key.size(),
                                                   " bytes; the limit is ", limits.max_key_bytes));
  }
  return absl::OkStatus();
}

absl::Status ValidatePut(const v1::PutRequest& request, const Limits& limits) {
  if (absl::Status s = ValidateKey(request.key(), limits); !s.ok()) return s;
  if (absl::Status s = ValidateValue(request.value(), limits); !s.ok()) return s;
  if (request.ttl_ms() > limits.max_ttl_ms) {
    return absl::InvalidArgumentError(absl::StrCat("ttl_ms is ", request.ttl_ms(),
                                                   "; the limit is ", limits.max_ttl_ms));
  }
  return absl::OkStatus();
}

absl::Status ValidateGet(const v1::GetRequest& request, const Limits& limits) {
  return ValidateKey(request.key(), limits);
}

absl::Status ValidateDelete(const v1::DeleteRequest& request, const Limits& limits) {
  return ValidateKey(request.key(), limits);
}

absl::Status ValidateRange(const v1::RangeRequest& request, const Limits& limits) {
  const std::string& key = request.key();
  const std::string& end = request.range_end();
  const bool to_the_end = storage::ReadsToTheEnd(end);
  if (!storage::IsWholeKeyspace(key, end)) {
    if (absl::Status s = ValidateKey(key, limits); !s.ok()) return s;
  }
  if (end.size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("range_end is ", end.size(),
                                                   " bytes; the limit is ", limits.max_key_bytes));
  }
  if (request.prefix() && !end.empty()) {
    return absl::InvalidArgumentError("prefix and range_end are exclusive; set one");
  }
  if (!end.empty() && !to_the_end && end <= key) {
    return absl::InvalidArgumentError(
        absl::StrCat("range_end ", Show(end), " is not after the start key ", Show(key)));
  }
  if (request.limit() > limits.max_range_keys) {
    return absl::InvalidArgumentError(absl::StrCat("limit is ", request.limit(),
                                                   "; the most one call returns is ",
                                                   limits.max_range_keys));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ValidateTxn(const v1::TxnRequest& request, const Limits& limits,
                                     const Partitioner& partitioner) {
  const uint64_t ops = static_cast<uint64_t>(request.compare_size()) + request.success_size() +
                       request.failure_size();
  if (ops == 0) return absl::InvalidArgumentError("txn has no compares and no operations");
  if (ops > limits.max_txn_ops) {
    return absl::InvalidArgumentError(absl::StrCat("txn has ", ops,
                                                   " compares and operations; the limit is ",
                                                   limits.max_txn_ops));
  }
  std::vector<std::string_view> keys;
  for (const v1::Compare& c : request.compare()) {
    if (absl::Status s = ValidateCompare(c, limits); !s.ok()) return s;
    keys.push_back(c.key());
  }
  for (const auto* branch : {&request.success(), &request.failure()}) {
    for (const v1::RequestOp& op : *branch) {
      absl::Status s;
      switch (op.request_case()) {
        case v1::RequestOp::kPut:
          s = ValidatePut(op.put(), limits);
          keys.push_back(op.put().key());
          break;
        case v1::RequestOp::kDelete:
          s = ValidateDelete(op.delete_(), limits);
          keys.push_back(op.delete_().key());
          break;
        case v1::RequestOp::kRange:
          if (op.range().prefix() || !op.range().range_end().empty()) {
            return absl::InvalidArgumentError(
                "a range inside a txn reads one key; set neither prefix nor range_end");
          }
          s = ValidateKey(op.range().key(), limits);
          keys.push_back(op.range().key());
          break;
        default:
          return absl::InvalidArgumentError("txn operation is empty");
      }
      if (!s.ok()) return s;
    }
  }
  const uint64_t partition = partitioner.PartitionOf(keys.front());
  for (std::string_view key : keys) {
    if (partitioner.PartitionOf(key) != partition) {
      return absl::InvalidArgumentError(absl::StrCat(
          "txn keys ", Show(keys.front()), " and ", Show(key), " are in partitions ", partition,
          " and ", partitioner.PartitionOf(key), "; a txn spans one partition (use a {hash tag})"));
    }
  }
  return partition;
}

}  // namespace rkv::server
