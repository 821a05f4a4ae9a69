#include "client/options.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rkv::client {
namespace {

absl::Status CheckPositive(absl::string_view name, absl::Duration value) {
  if (value <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is ", absl::FormatDuration(value), "; it must be positive"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRetry(const RetryOptions& retry) {
  if (retry.max_attempts < 1 || retry.max_attempts > kMaxAttemptsLimit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "retry.max_attempts is %d; it must be in [1, %d]", retry.max_attempts, kMaxAttemptsLimit));
  }
  if (absl::Status s = CheckPositive("retry.initial_backoff", retry.initial_backoff); !s.ok()) {
    return s;
  }
  if (retry.max_backoff < retry.initial_backoff) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retry.max_backoff (", absl::FormatDuration(retry.max_backoff),
        ") is below retry.initial_backoff (", absl::FormatDuration(retry.initial_backoff), ")"));
  }
  if (!(retry.backoff_multiplier >= 1.0 && retry.backoff_multiplier <= 10.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "retry.backoff_multiplier is %g; it must be in [1, 10]", retry.backoff_multiplier));
  }
  if (!(retry.jitter >= 0.0 && retry.jitter <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("retry.jitter is %g; it must be in [0, 1]", retry.jitter));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Options::Validate() const {
  if (endpoints.empty()) return absl::InvalidArgumentError("no endpoints given");
  if (endpoints.size() > kMaxEndpoints) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d endpoints given; the limit is %d", endpoints.size(), kMaxEndpoints));
  }
  for (const std::string& endpoint : endpoints) {
    if (endpoint.empty() || endpoint.find(':') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("endpoint \"", endpoint, "\" is not host:port"));
    }
  }
  if (absl::Status s = CheckPositive("dial_timeout", dial_timeout); !s.ok()) return s;
  if (absl::Status s = CheckPositive("request_timeout", request_timeout); !s.ok()) return s;
  if (absl::Status s = CheckPositive("read_attempt_timeout", read_attempt_timeout); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPositive("max_reconnect_backoff", max_reconnect_backoff); !s.ok()) {
    return s;
  }
  if (min_refresh_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("min_refresh_interval is negative");
  }
  if (connections_per_endpoint < 1 || connections_per_endpoint > kMaxConnectionsPerEndpoint) {
    return absl::InvalidArgumentError(
        absl::StrFormat("connections_per_endpoint is %d; it must be in [1, %d]",
                        connections_per_endpoint, kMaxConnectionsPerEndpoint));
  }
  if (max_receive_message_bytes < (4 << 20)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_receive_message_bytes is %d; it must be at least 4 MiB", max_receive_message_bytes));
  }
  return ValidateRetry(retry);
}

}  // namespace rkv::client
