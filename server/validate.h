// Request validation shared by every public service: sizes and shapes are
// checked here, at the edge, before anything is proposed or read, so bad input
// gets a precise status and never reaches Raft. Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rkv/v1/kv.pb.h"
#include "server/partitioner.h"

namespace rkv::server {

struct Limits {
  uint64_t max_key_bytes = 4 << 10;
  uint64_t max_value_bytes = 1 << 20;
  // Compares plus operations of both branches of one Txn.
  uint64_t max_txn_ops = 128;
  // Keys returned by one Range call (one page).
  uint64_t max_range_keys = 10000;
  // Ten years: a larger TTL is almost certainly a unit mistake.
  uint64_t max_ttl_ms = 10ull * 365 * 24 * 3600 * 1000;

  absl::Status Validate() const;
};

absl::Status ValidateKey(std::string_view key, const Limits& limits);
absl::Status ValidatePut(const v1::PutRequest& request, const Limits& limits);
absl::Status ValidateGet(const v1::GetRequest& request, const Limits& limits);
absl::Status ValidateDelete(const v1::DeleteRequest& request, const Limits& limits);
absl::Status ValidateRange(const v1::RangeRequest& request, const Limits& limits);
// Also checks that every key of the Txn falls in one partition, and returns it.
// Range operations inside a Txn read a single key (no range_end, no prefix).
absl::StatusOr<uint64_t> ValidateTxn(const v1::TxnRequest& request, const Limits& limits,
                                     const Partitioner& partitioner);

}  // namespace rkv::server
