// Call<Method>: one client call from start to its single answer, across
// attempts: pick a destination (router), wait for a write's connection,
// send with gRPC's callback API, classify a failure (retry.h), learn from the
// server's ErrorDetail, back off on a grpc::Alarm, and finally run the
// caller's callback exactly once. A write is re-sent only when it certainly
// never reached Raft; otherwise its failure is "outcome unknown".
// Internal to the client library. A Call owns itself (like a gRPC reactor)
// and deletes itself after its callback; its steps run one at a time on gRPC
// threads (or, before the first send, on the caller's or the connection
// watcher's), never concurrently.
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/core.h"
#include "client/errors.h"
#include "client/retry.h"
#include "client/rpc_status.h"

namespace rkv::client::internal {

struct CallSpec {
  absl::Time deadline;
  // When set, every attempt goes to this address and the router is not used.
  std::string fixed_address;
  // 0: the client's retry budget.
  int max_attempts = 0;
};

template <typename Method>
class Call final {
 public:
  using Request = typename Method::Request;
  using Response = typename Method::Response;
  using Done = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

  // Runs the call; done receives its one answer. done runs on the calling
  // thread when the call fails before anything is sent, else on a gRPC thread.
  // REQUIRES: core->BeginCall() returned true for this call; Start ends it.
  static void Start(Core* core, Request request, CallSpec spec, Done done) {
    // The call deletes itself in Finish (like a gRPC reactor).
    (new Call(core, std::move(request), std::move(spec), std::move(done)))->Attempt();
  }

 private:
  Call(Core* core, Request request, CallSpec spec, Done done)
      : core_(core),
        request_(std::move(request)),
        spec_(std::move(spec)),
        done_(std::move(done)),
        kind_(Method::Kind(request_)),
        key_hash_(Method::RoutingHash(request_)),
        any_replica_(Method::AnyReplica(request_)),
        number_(core->NextCallNumber()),
        max_attempts_(spec_.max_attempts > 0 ? spec_.max_attempts
                                             : core->options().retry.max_attempts),
        backoff_(core->options().retry, core->options().retry.jitter_seed ^ number_),
        started_(absl::Now()) {}

  void Attempt() {
    if (spec_.fixed_address.empty()) {
      route_ = core_->router().Pick(key_hash_, any_replica_, number_, attempt_, absl::Now());
    } else {
      route_ = Route{spec_.fixed_address, 0, false};
    }
    absl::StatusOr<Connection*> connection = core_->pool().Get(route_.address, number_);
    if (!connection.ok()) return Finish(connection.status());
    connection_ = *connection;
    if (kind_ == OpKind::kWrite) {
      return AwaitConnection();
    }
    Send();
  }

  // A write is sent only on a connected channel, so that a node that cannot be
  // reached costs a retry elsewhere instead of an unknown outcome: gRPC may
  // not say whether a call that failed on a broken channel left the client.
  void AwaitConnection() {
    const absl::Time deadline = std::min(spec_.deadline, absl::Now() + core_->options().dial_timeout);
    core_->ready_watcher().WhenReady(connection_->channel, deadline, [this](bool ready) {
      if (ready) return Send();
      OnFailure(absl::UnavailableError(absl::StrCat("no connection to ", route_.address)),
                std::nullopt, /*sent=*/false);
    });
  }

  void Send() {
    context_.emplace();
    absl::Time attempt_deadline = spec_.deadline;
    if (kind_ == OpKind::kRead) {
      attempt_deadline =
          std::min(attempt_deadline, absl::Now() + core_->options().read_attempt_timeout);
    }
    context_->set_deadline(absl::ToChronoTime(attempt_deadline));
    response_.Clear();
    Method::Start(*connection_, &*context_, &request_, &response_,
                  [this](grpc::Status status) { OnReply(std::move(status)); });
  }

  void OnReply(grpc::Status status) {
    if (status.ok()) {
      if constexpr (requires { response_.header(); }) {
        if (spec_.fixed_address.empty() && !route_.to_leader) {
          core_->router().OnAnswer(response_.header().partition_id(),
                                   response_.header().leader_id());
        }
      }
      return Finish(std::move(response_));
    }
    OnFailure(ToAbslStatus(status), ErrorDetailOf(*context_), /*sent=*/true);
  }

  void OnFailure(absl::Status error, std::optional<v1::ErrorDetail> detail, bool sent) {
    AttemptFailure failure;
    failure.code = error.code();
    failure.not_proposed = detail.has_value() && detail->not_proposed();
    failure.sent = sent;
    switch (Classify(kind_, failure)) {
      case Verdict::kFail:
        return Finish(std::move(error));
      case Verdict::kIndeterminate:
        return Finish(OutcomeUnknownError(
            absl::StrCat(Method::Describe(request_), " via ", route_.address, " failed with ",
                         absl::StatusCodeToString(error.code()), ": ", error.message(),
                         "; it may or may not have been applied")));
      case Verdict::kRetry:
        break;
    }
    last_error_ = std::move(error);
    bool moved = false;
    if (spec_.fixed_address.empty()) {
      // A node that could not be reached, or failed a call without saying
      // why (the transport did), is avoided for a while.
      const bool unreachable =
          !sent || (failure.code == absl::StatusCode::kUnavailable && !detail.has_value());
      moved = core_->router().OnFailure(route_, detail.has_value() ? &*detail : nullptr,
                                        unreachable, absl::Now());
      core_->MaybeRefresh();
    }
    ++attempt_;
    if (attempt_ >= max_attempts_) {
      return GiveUp(/*deadline_reached=*/false,
                    absl::StrCat("gave up after ", attempt_, " attempts"));
    }
    // A leader hint that moves the call is followed at once, but not twice in
    // a row, so two nodes naming each other cannot make the call spin.
    absl::Duration delay = absl::ZeroDuration();
    if (!moved || followed_hint_) delay = backoff_.Next();
    followed_hint_ = moved && delay == absl::ZeroDuration();
    const absl::Time now = absl::Now();
    if (now + delay >= spec_.deadline) {
      return GiveUp(/*deadline_reached=*/true,
                    absl::StrCat("deadline reached after ", attempt_, " attempts"));
    }
    if (delay == absl::ZeroDuration()) return Attempt();
    SetAlarm(now + delay, &Call::Attempt);
  }

  // Ends a call whose failures were all retryable.
  void GiveUp(bool deadline_reached, absl::string_view why) {
    const absl::StatusCode code =
        deadline_reached ? absl::StatusCode::kDeadlineExceeded : last_error_.code();
    std::string message = absl::StrCat(
        Method::Describe(request_), ": ", why, " in ", absl::FormatDuration(absl::Now() - started_),
        "; last error from ", route_.address, ": ", last_error_.message());
    // Only writes that never reached Raft are retried, so this one did not happen.
    if (kind_ == OpKind::kWrite) absl::StrAppend(&message, "; the write was not applied");
    Finish(absl::Status(code, message));
  }

  void SetAlarm(absl::Time when, void (Call::*next)()) {
    // Replacing the alarm from inside its own callback is safe: gRPC holds a
    // reference to a firing alarm until its callback returns.
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(absl::ToChronoTime(when), [this, next](bool fired) {
      if (!fired) {
        return Finish(absl::CancelledError(
            absl::StrCat(Method::Describe(request_), ": cancelled while waiting to retry")));
      }
      (this->*next)();
    });
  }

  void Finish(absl::StatusOr<Response> result) {
    Core* core = core_;
    Done done = std::move(done_);
    delete this;  // Self-owned, like a gRPC reactor; nothing below touches it.
    done(std::move(result));
    core->EndCall();
  }

  Core* const core_;
  const Request request_;
  const CallSpec spec_;
  Done done_;
  const OpKind kind_;
  const std::optional<uint64_t> key_hash_;
  const bool any_replica_;
  const uint64_t number_;
  const int max_attempts_;
  Backoff backoff_;
  const absl::Time started_;

  int attempt_ = 0;
  bool followed_hint_ = false;
  Route route_;
  Connection* connection_ = nullptr;
  std::optional<grpc::ClientContext> context_;
  Response response_;
  std::unique_ptr<grpc::Alarm> alarm_;
  absl::Status last_error_;
};

}  // namespace rkv::client::internal
