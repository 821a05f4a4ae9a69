#include "server/convert.h"

namespace rkv::server {

namespace pb = rkv::internal;

void ToPublic(const pb::KeyValue& in, v1::KeyValue* out) {
  out->set_key(in.key());
  out->set_value(in.value());
  out->set_create_revision(in.create_revision());
  out->set_mod_revision(in.mod_revision());
  out->set_version(in.version());
  out->set_expiry_unix_ms(in.expiry_unix_ms());
}

pb::PutOp ToPutOp(const v1::PutRequest& request, uint64_t now_unix_ms) {
  pb::PutOp op;
  op.set_key(request.key());
  op.set_value(request.value());
  if (request.ttl_ms() > 0) op.set_expiry_unix_ms(now_unix_ms + request.ttl_ms());
  op.set_prev_kv(request.prev_kv());
  return op;
}

pb::DeleteOp ToDeleteOp(const v1::DeleteRequest& request) {
  pb::DeleteOp op;
  op.set_key(request.key());
  op.set_prev_kv(request.prev_kv());
  return op;
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

pb::RangeOp ToRangeOp(const v1::RangeRequest& request) {
  pb::RangeOp op;
  op.set_key(request.key());
  if (request.prefix()) {
    op.set_range_end(PrefixEnd(request.key()));
  } else {
    op.set_range_end(request.range_end());
  }
  op.set_limit(request.limit());
  op.set_keys_only(request.keys_only());
  op.set_count_only(request.count_only());
  return op;
}

pb::TxnCommand ToTxnCommand(const v1::TxnRequest& request, uint64_t now_unix_ms) {
  pb::TxnCommand txn;
  for (const v1::Compare& c : request.compare()) {
    pb::Compare* out = txn.add_compares();
    out->set_key(c.key());
    // The enums share their numbering (kv.proto mirrors command.proto).
    out->set_target(static_cast<pb::Compare::Target>(c.target()));
    out->set_result(static_cast<pb::Compare::Result>(c.result()));
    switch (c.operand_case()) {
      case v1::Compare::kValue:
        out->set_value(c.value());
        break;
      case v1::Compare::kVersion:
        out->set_version(c.version());
        break;
      case v1::Compare::kCreateRevision:
        out->set_create_revision(c.create_revision());
        break;
      case v1::Compare::kModRevision:
        out->set_mod_revision(c.mod_revision());
        break;
      case v1::Compare::kExists:
        out->set_exists(c.exists());
        break;
      case v1::Compare::OPERAND_NOT_SET:
        break;
    }
  }
  auto convert_ops = [now_unix_ms](const auto& ops, auto* out) {
    for (const v1::RequestOp& op : ops) {
      pb::TxnOp* o = out->Add();
      switch (op.request_case()) {
        case v1::RequestOp::kPut:
          *o->mutable_put() = ToPutOp(op.put(), now_unix_ms);
          break;
        case v1::RequestOp::kDelete:
          *o->mutable_delete_key() = ToDeleteOp(op.delete_());
          break;
        case v1::RequestOp::kRange:
          *o->mutable_range() = ToRangeOp(op.range());
          break;
        case v1::RequestOp::REQUEST_NOT_SET:
          break;
      }
    }
  };
  convert_ops(request.success(), txn.mutable_success());
  convert_ops(request.failure(), txn.mutable_failure());
  return txn;
}

void ToTxnResponse(const pb::TxnResult& result, uint64_t revision, v1::TxnResponse* out) {
  out->set_succeeded(result.succeeded());
  out->set_revision(revision);
  for (const pb::TxnOpResult& r : result.results()) {
    v1::ResponseOp* op = out->add_responses();
    switch (r.result_case()) {
      case pb::TxnOpResult::kPut: {
        v1::PutResponse* put = op->mutable_put();
        put->set_revision(revision);
        if (r.put().has_prev_kv()) ToPublic(r.put().prev_kv(), put->mutable_prev_kv());
        break;
      }
      case pb::TxnOpResult::kDeleteKey:
      case pb::TxnOpResult::kDeleteRange: {
        const pb::DeleteResult& d =
            r.result_case() == pb::TxnOpResult::kDeleteKey ? r.delete_key() : r.delete_range();
        v1::DeleteResponse* del = op->mutable_delete_();
        del->set_deleted(d.deleted());
        del->set_revision(revision);
        if (d.prev_kvs_size() > 0) ToPublic(d.prev_kvs(0), del->mutable_prev_kv());
        break;
      }
      case pb::TxnOpResult::kRange: {
        v1::RangeResponse* range = op->mutable_range();
        for (const pb::KeyValue& kv : r.range().kvs()) ToPublic(kv, range->add_kvs());
        range->set_count(r.range().count());
        range->set_more(r.range().more());
        break;
      }
      case pb::TxnOpResult::RESULT_NOT_SET:
        break;
    }
  }
}

}  // namespace rkv::server
