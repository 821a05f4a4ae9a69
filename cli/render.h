// What rkvctl prints for each answer, as a table or as JSON (output.h). Pure
// functions from rkv.v1 messages to text, so every format is unit-tested
// without a server. Keys and values are escaped for a terminal in tables and
// are JSON strings (or *_base64 when not UTF-8) in JSON. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/output.h"
#include "rkv/v1/cluster.pb.h"
#include "rkv/v1/kv.pb.h"
#include "rkv/v1/maintenance.pb.h"

namespace rkv::cli {

std::string RenderPut(const v1::PutResponse& response, OutputFormat format);
// A missing key prints nothing in a table (the caller reports it) and
// {"found": false, ...} in JSON.
std::string RenderGet(const v1::GetResponse& response, bool value_only, OutputFormat format);
std::string RenderDelete(const v1::DeleteResponse& response, OutputFormat format);
// One Range answer; with count_only only the count.
std::string RenderRange(const v1::RangeResponse& response, bool keys_only, bool count_only,
                        OutputFormat format);
// Keys collected over several pages (rkvctl range --all).
std::string RenderKeyValues(const std::vector<v1::KeyValue>& kvs, bool keys_only,
                            OutputFormat format);
std::string RenderTxn(const v1::TxnResponse& response, OutputFormat format);
std::string RenderMembers(const v1::MemberListResponse& response, OutputFormat format);

// Replication lag of a replica: the leader's commit index minus the
// replica's applied index (without a known leader, the highest commit index
// any replica reports); 0 when the replica is ahead.
uint64_t ReplicaLag(const v1::Partition& partition, const v1::ReplicaStatus& replica);
// One row per replica: partition, hash range, member, role, term, commit,
// applied, match and lag. Partitions without a leader show "(no leader)".
std::string RenderClusterStatus(const v1::PartitionListResponse& response, OutputFormat format);

// Per-endpoint answers of `rkvctl endpoint health|status`: the answer or the
// error of each.
struct EndpointHealth {
  std::string endpoint;
  absl::StatusOr<v1::HealthResponse> health;
};
struct EndpointStatus {
  std::string endpoint;
  absl::StatusOr<v1::StatusResponse> status;
};
struct EndpointLogLevel {
  std::string endpoint;
  absl::StatusOr<v1::SetLogLevelResponse> answer;
};
struct EndpointHash {
  std::string endpoint;
  absl::StatusOr<v1::PartitionHashResponse> answer;
};
std::string RenderLogLevel(const std::vector<EndpointLogLevel>& rows, const std::string& level,
                           OutputFormat format);
std::string RenderHashes(const std::vector<EndpointHash>& rows, uint64_t partition_id,
                         OutputFormat format);
// The first pair of answers at one applied index with different hashes, as a
// message naming both members and the index; empty when they all agree.
std::string HashMismatch(const std::vector<EndpointHash>& rows);

std::string RenderEndpointHealth(const std::vector<EndpointHealth>& rows, OutputFormat format);
std::string RenderEndpointStatus(const std::vector<EndpointStatus>& rows, OutputFormat format);

}  // namespace rkv::cli
