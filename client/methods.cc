#include "client/methods.h"

namespace rkv::client::internal {
namespace {

const std::string* OpKey(const v1::RequestOp& op) {
  switch (op.request_case()) {
    case v1::RequestOp::kPut:
      return &op.put().key();
    case v1::RequestOp::kDelete:
      return &op.delete_().key();
    case v1::RequestOp::kRange:
      return &op.range().key();
    case v1::RequestOp::REQUEST_NOT_SET:
      break;
  }
  return nullptr;
}

bool OpWrites(const v1::RequestOp& op) {
  return op.request_case() == v1::RequestOp::kPut || op.request_case() == v1::RequestOp::kDelete;
}

}  // namespace

const std::string* FirstTxnKey(const v1::TxnRequest& request) {
  for (const v1::Compare& compare : request.compare()) {
    if (!compare.key().empty()) return &compare.key();
  }
  for (const auto* ops : {&request.success(), &request.failure()}) {
    for (const v1::RequestOp& op : *ops) {
      const std::string* key = OpKey(op);
      if (key != nullptr && !key->empty()) return key;
    }
  }
  return nullptr;
}

bool TxnWrites(const v1::TxnRequest& request) {
  for (const auto* ops : {&request.success(), &request.failure()}) {
    for (const v1::RequestOp& op : *ops) {
      if (OpWrites(op)) return true;
    }
  }
  return false;
}

}  // namespace rkv::client::internal
