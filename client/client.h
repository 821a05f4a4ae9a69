// rkv's C++ client. Connect() learns the cluster (members, partitions,
// leaders) from the endpoints; every call then goes straight to the leader of
// its key's partition, follows the servers' leader hints, and retries within
// its deadline with exponential backoff: reads whenever a node was
// unavailable, writes only when the server said they were never proposed (or
// the client never sent them). A write whose fate cannot be known is returned
// as "outcome unknown" (errors.h: IsIndeterminate), never retried. Requests
// and responses are the rkv.v1 messages (proto/rkv/v1/kv.proto).
//
// Thread-safe: one Client serves any number of threads, and holds a pool of
// gRPC channels; share one per process. Async callbacks run on gRPC's threads
// (or on the calling thread when a call fails before anything was sent) and
// must not block; do not call the synchronous methods from them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/errors.h"
#include "client/options.h"
#include "rkv/v1/cluster.pb.h"
#include "rkv/v1/kv.pb.h"
#include "rkv/v1/maintenance.pb.h"

namespace rkv::client {

namespace internal {
class Core;
}  // namespace internal

// The bound on keys RangeAll collects.
inline constexpr uint64_t kMaxRangeAllKeys = 1'000'000;

class Client final {
 public:
  template <typename Response>
  using Callback = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

  // Validates options (INVALID_ARGUMENT), then, with route_to_leader, reads
  // the cluster's members and partitions from the first endpoint that answers
  // within options.dial_timeout (UNAVAILABLE / DEADLINE_EXCEEDED otherwise,
  // naming the endpoints). Without route_to_leader it does no I/O.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const Options& options);

  // Waits for every outstanding async call to run its callback (each is
  // bounded by its deadline). REQUIRES: no call is started meanwhile.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Now + options.request_timeout.
  absl::Time DefaultDeadline() const;

  // Key-value calls. Errors: the server's status as-is for a refused request
  // (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, OUT_OF_RANGE,
  // ...); UNAVAILABLE or DEADLINE_EXCEEDED when retries ran out (for a write,
  // it then certainly did not happen); UNKNOWN "outcome unknown: ..." for a
  // write that may or may not have happened. A Txn whose compares fail is a
  // normal reply with succeeded = false.
  absl::StatusOr<v1::PutResponse> Put(const v1::PutRequest& request, absl::Time deadline);
  absl::StatusOr<v1::GetResponse> Get(const v1::GetRequest& request, absl::Time deadline);
  absl::StatusOr<v1::DeleteResponse> Delete(const v1::DeleteRequest& request, absl::Time deadline);
  // One page; see RangeAll to follow next_key.
  absl::StatusOr<v1::RangeResponse> Range(const v1::RangeRequest& request, absl::Time deadline);
  absl::StatusOr<v1::TxnResponse> Txn(const v1::TxnRequest& request, absl::Time deadline);

  // The same calls, answering through done exactly once.
  void PutAsync(v1::PutRequest request, absl::Time deadline, Callback<v1::PutResponse> done);
  void GetAsync(v1::GetRequest request, absl::Time deadline, Callback<v1::GetResponse> done);
  void DeleteAsync(v1::DeleteRequest request, absl::Time deadline,
                   Callback<v1::DeleteResponse> done);
  void RangeAsync(v1::RangeRequest request, absl::Time deadline, Callback<v1::RangeResponse> done);
  void TxnAsync(v1::TxnRequest request, absl::Time deadline, Callback<v1::TxnResponse> done);

  // Reads a range page after page (a prefix becomes [prefix, PrefixEnd)),
  // stopping at request.limit keys (0: no limit) or max_keys, whichever is
  // lower. Each page is one Range call under the same deadline.
  // RESOURCE_EXHAUSTED when more than max_keys keys remain and request.limit
  // is 0 or above max_keys. REQUIRES: max_keys <= kMaxRangeAllKeys.
  absl::StatusOr<std::vector<v1::KeyValue>> RangeAll(v1::RangeRequest request, uint64_t max_keys,
                                                     absl::Time deadline);

  // Cluster calls, answered by any node.
  absl::StatusOr<v1::MemberListResponse> MemberList(absl::Time deadline);
  absl::StatusOr<v1::PartitionListResponse> PartitionList(absl::Time deadline);
  // A write: retried only when the server says it was not proposed.
  absl::StatusOr<v1::TransferLeaderResponse> TransferLeader(
      const v1::TransferLeaderRequest& request, absl::Time deadline);

  // Calls on one node (endpoint "host:port"), made once, without retries.
  absl::StatusOr<v1::StatusResponse> NodeStatus(const std::string& endpoint, absl::Time deadline);
  absl::StatusOr<v1::HealthResponse> NodeHealth(const std::string& endpoint, absl::Time deadline);
  // The partitions as this node sees them: its own replicas' state in full,
  // its followers' match indexes where it leads.
  absl::StatusOr<v1::PartitionListResponse> NodePartitionList(const std::string& endpoint,
                                                              absl::Time deadline);
  // Sets the node's log level (trace, debug, info, warn, error, critical,
  // off); the answer holds the previous one.
  absl::StatusOr<v1::SetLogLevelResponse> NodeSetLogLevel(const std::string& endpoint,
                                                          const std::string& level,
                                                          absl::Time deadline);
  // The hash of the node's replica of a partition at its applied index.
  absl::StatusOr<v1::PartitionHashResponse> NodePartitionHash(const std::string& endpoint,
                                                              uint64_t partition_id,
                                                              absl::Time deadline);

 private:
  explicit Client(std::unique_ptr<internal::Core> core);

  std::unique_ptr<internal::Core> core_;
};

// The smallest key greater than every key starting with prefix: the prefix
// with its last byte below 0xff incremented and what follows dropped; "\0"
// (every key >= prefix) when there is none (empty or all 0xff).
std::string PrefixEnd(absl::string_view prefix);

}  // namespace rkv::client
