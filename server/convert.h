// Conversions between the public API (rkv.v1) and the state machine's
// commands and results (rkv.internal, proto/rkv/internal/command.proto).
// Pure functions; thread-safe. REQUIRES: requests already validated.
#pragma once

#include <cstdint>

#include "rkv/internal/command.pb.h"
#include "rkv/v1/kv.pb.h"

namespace rkv::server {

void ToPublic(const rkv::internal::KeyValue& in, v1::KeyValue* out);
rkv::internal::PutOp ToPutOp(const v1::PutRequest& request, uint64_t now_unix_ms);
rkv::internal::DeleteOp ToDeleteOp(const v1::DeleteRequest& request);
rkv::internal::TxnCommand ToTxnCommand(const v1::TxnRequest& request, uint64_t now_unix_ms);
void ToTxnResponse(const rkv::internal::TxnResult& result, uint64_t revision, v1::TxnResponse* out);
// The [start, end) a RangeRequest reads, as the state machine's RangeOp.
rkv::internal::RangeOp ToRangeOp(const v1::RangeRequest& request);
// The smallest key greater than every key starting with prefix; "\0" (every
// key) when no such key exists.
std::string PrefixEnd(const std::string& prefix);

}  // namespace rkv::server
