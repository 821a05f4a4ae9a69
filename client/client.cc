#include "client/client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "client/call.h"
#include "client/core.h"
#include "client/methods.h"

namespace rkv::client {
namespace {

using internal::Call;
using internal::CallSpec;
using internal::Core;

// RangeAll asks a page for exactly the keys it still needs only up to this
// many (below any sensible --max-range-keys; the server's default is 10,000).
constexpr uint64_t kRangeAllExactPageKeys = 1000;

template <typename Method>
void StartCall(Core* core, typename Method::Request request, CallSpec spec,
               Client::Callback<typename Method::Response> done) {
  if (!core->BeginCall()) {
    done(absl::FailedPreconditionError("the client is being destroyed; no call may start"));
    return;
  }
  Call<Method>::Start(core, std::move(request), std::move(spec), std::move(done));
}

// Runs an async call and waits for its answer.
template <typename Method>
absl::StatusOr<typename Method::Response> RunSync(Core* core, typename Method::Request request,
                                                  CallSpec spec) {
  absl::Notification done;
  absl::StatusOr<typename Method::Response> result;
  StartCall<Method>(core, std::move(request), std::move(spec),
                    [&](absl::StatusOr<typename Method::Response> answer) {
                      result = std::move(answer);
                      done.Notify();
                    });
  done.WaitForNotification();
  return result;
}

CallSpec Routed(absl::Time deadline) {
  CallSpec spec;
  spec.deadline = deadline;
  return spec;
}

CallSpec OneNode(const std::string& endpoint, absl::Time deadline) {
  CallSpec spec;
  spec.deadline = deadline;
  spec.fixed_address = endpoint;
  spec.max_attempts = 1;
  return spec;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const Options& options) {
  if (absl::Status status = options.Validate(); !status.ok()) return status;
  auto core = std::make_unique<Core>(options);
  if (options.route_to_leader) {
    absl::Status status = core->RefreshNow(absl::Now() + options.dial_timeout);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("learning the cluster: ", status.message()));
    }
  }
  return std::unique_ptr<Client>(new Client(std::move(core)));
}

Client::Client(std::unique_ptr<Core> core) : core_(std::move(core)) {}

Client::~Client() { core_->CloseAndWait(); }

absl::Time Client::DefaultDeadline() const {
  return absl::Now() + core_->options().request_timeout;
}

absl::StatusOr<v1::PutResponse> Client::Put(const v1::PutRequest& request, absl::Time deadline) {
  return RunSync<internal::PutMethod>(core_.get(), request, Routed(deadline));
}

absl::StatusOr<v1::GetResponse> Client::Get(const v1::GetRequest& request, absl::Time deadline) {
  return RunSync<internal::GetMethod>(core_.get(), request, Routed(deadline));
}

absl::StatusOr<v1::DeleteResponse> Client::Delete(const v1::DeleteRequest& request,
                                                  absl::Time deadline) {
  return RunSync<internal::DeleteMethod>(core_.get(), request, Routed(deadline));
}

absl::StatusOr<v1::RangeResponse> Client::Range(const v1::RangeRequest& request,
                                                absl::Time deadline) {
  return RunSync<internal::RangeMethod>(core_.get(), request, Routed(deadline));
}

absl::StatusOr<v1::TxnResponse> Client::Txn(const v1::TxnRequest& request, absl::Time deadline) {
  return RunSync<internal::TxnMethod>(core_.get(), request, Routed(deadline));
}

void Client::PutAsync(v1::PutRequest request, absl::Time deadline, Callback<v1::PutResponse> done) {
  StartCall<internal::PutMethod>(core_.get(), std::move(request), Routed(deadline),
                                 std::move(done));
}

void Client::GetAsync(v1::GetRequest request, absl::Time deadline, Callback<v1::GetResponse> done) {
  StartCall<internal::GetMethod>(core_.get(), std::move(request), Routed(deadline),
                                 std::move(done));
}

void Client::DeleteAsync(v1::DeleteRequest request, absl::Time deadline,
                         Callback<v1::DeleteResponse> done) {
  StartCall<internal::DeleteMethod>(core_.get(), std::move(request), Routed(deadline),
                                    std::move(done));
}

void Client::RangeAsync(v1::RangeRequest request, absl::Time deadline,
                        Callback<v1::RangeResponse> done) {
  StartCall<internal::RangeMethod>(core_.get(), std::move(request), Routed(deadline),
                                   std::move(done));
}

void Client::TxnAsync(v1::TxnRequest request, absl::Time deadline, Callback<v1::TxnResponse> done) {
  StartCall<internal::TxnMethod>(core_.get(), std::move(request), Routed(deadline),
                                 std::move(done));
}

absl::StatusOr<std::vector<v1::KeyValue>> Client::RangeAll(v1::RangeRequest request,
                                                           uint64_t max_keys, absl::Time deadline) {
  if (max_keys > kMaxRangeAllKeys) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max_keys is %d; the limit is %d", max_keys, kMaxRangeAllKeys));
  }
  if (request.prefix()) {
    request.set_range_end(PrefixEnd(request.key()));
    request.set_prefix(false);
  }
  const bool limited = request.limit() != 0 && request.limit() <= max_keys;
  const uint64_t want = limited ? request.limit() : max_keys;
  std::vector<v1::KeyValue> out;
  while (true) {
    // A page asks for what is left when that is small; otherwise for the
    // server's own page size (limit 0), which any server accepts, whereas a
    // larger limit than its --max-range-keys is refused.
    const uint64_t left = want - out.size();
    request.set_limit(left <= kRangeAllExactPageKeys ? left : 0);
    absl::StatusOr<v1::RangeResponse> page = Range(request, deadline);
    if (!page.ok()) return page.status();
    for (v1::KeyValue& kv : *page->mutable_kvs()) {
      if (out.size() == want) break;
      out.push_back(std::move(kv));
    }
    if (!page->more()) return out;
    if (out.size() == want) {
      if (limited) return out;
      return absl::ResourceExhaustedError(absl::StrFormat(
          "the range holds more than %d keys; pass a limit or a narrower range", max_keys));
    }
    if (page->next_key().empty() || page->next_key() <= request.key()) {
      return absl::InternalError(
          "the server said more keys follow but gave no next_key past the current one");
    }
    request.set_key(page->next_key());
  }
}

absl::StatusOr<v1::MemberListResponse> Client::MemberList(absl::Time deadline) {
  return RunSync<internal::MemberListMethod>(core_.get(), {}, Routed(deadline));
}

absl::StatusOr<v1::PartitionListResponse> Client::PartitionList(absl::Time deadline) {
  return RunSync<internal::PartitionListMethod>(core_.get(), {}, Routed(deadline));
}

absl::StatusOr<v1::TransferLeaderResponse> Client::TransferLeader(
    const v1::TransferLeaderRequest& request, absl::Time deadline) {
  return RunSync<internal::TransferLeaderMethod>(core_.get(), request, Routed(deadline));
}

absl::StatusOr<v1::StatusResponse> Client::NodeStatus(const std::string& endpoint,
                                                      absl::Time deadline) {
  return RunSync<internal::StatusMethod>(core_.get(), {}, OneNode(endpoint, deadline));
}

absl::StatusOr<v1::HealthResponse> Client::NodeHealth(const std::string& endpoint,
                                                      absl::Time deadline) {
  return RunSync<internal::HealthMethod>(core_.get(), {}, OneNode(endpoint, deadline));
}

absl::StatusOr<v1::PartitionListResponse> Client::NodePartitionList(const std::string& endpoint,
                                                                    absl::Time deadline) {
  return RunSync<internal::PartitionListMethod>(core_.get(), {}, OneNode(endpoint, deadline));
}

absl::StatusOr<v1::SetLogLevelResponse> Client::NodeSetLogLevel(const std::string& endpoint,
                                                                const std::string& level,
                                                                absl::Time deadline) {
  v1::SetLogLevelRequest request;
  request.set_level(level);
  return RunSync<internal::SetLogLevelMethod>(core_.get(), std::move(request),
                                              OneNode(endpoint, deadline));
}

absl::StatusOr<v1::PartitionHashResponse> Client::NodePartitionHash(const std::string& endpoint,
                                                                    uint64_t partition_id,
                                                                    absl::Time deadline) {
  v1::PartitionHashRequest request;
  request.set_partition_id(partition_id);
  return RunSync<internal::PartitionHashMethod>(core_.get(), std::move(request),
                                                OneNode(endpoint, deadline));
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace rkv::client
