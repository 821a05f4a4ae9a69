// Options of rkv::client::Client: the endpoints to start from, timeouts, the
// retry budget and connection pooling. Plain data; Connect() copies it, so the
// caller may discard it afterwards. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace rkv::client {

// Bounds on the options themselves (STYLE §1.6).
inline constexpr size_t kMaxEndpoints = 256;
inline constexpr int kMaxConnectionsPerEndpoint = 64;
inline constexpr int kMaxAttemptsLimit = 100;

// How a call is retried when the rules of retry.h allow it. Delays grow from
// initial_backoff by backoff_multiplier up to max_backoff; each is shortened by
// a random fraction in [0, jitter) drawn from a generator seeded with
// jitter_seed and the call's number, so a run with the same seed repeats.
struct RetryOptions {
  // Attempts per call, the first one included; 1 disables retries.
  int max_attempts = 8;
  absl::Duration initial_backoff = absl::Milliseconds(10);
  absl::Duration max_backoff = absl::Milliseconds(500);
  double backoff_multiplier = 2.0;
  double jitter = 0.5;
  uint64_t jitter_seed = 1;
};

struct Options {
  // "host:port" of one or more nodes; any node answers any request.
  std::vector<std::string> endpoints;
  // Connect() gives up learning the cluster after this long; a write waits at
  // most this long for its connection before trying another node.
  absl::Duration dial_timeout = absl::Seconds(2);
  // The deadline of calls made with DefaultDeadline().
  absl::Duration request_timeout = absl::Seconds(5);
  // One attempt of a read gets at most this long, so a hung node costs a
  // read one attempt, not its whole deadline. Writes get the whole deadline:
  // a write that timed out has an unknown outcome and is never retried.
  absl::Duration read_attempt_timeout = absl::Seconds(1);
  RetryOptions retry;
  // gRPC channels (TCP connections) per node; calls spread over them.
  int connections_per_endpoint = 1;
  // Route each key to its partition's leader (learned from the cluster). When
  // false, every request goes to the endpoints and the server forwards it.
  bool route_to_leader = true;
  // Bound on how often failures make the client re-read the partition map.
  absl::Duration min_refresh_interval = absl::Milliseconds(200);
  // The longest reply accepted (gRPC's default is 4 MiB).
  int max_receive_message_bytes = 64 << 20;
  // gRPC waits at most this long between reconnection attempts to a node
  // (its default, 120 s, is far too long for a database client); a node the
  // client could not reach is avoided for as long.
  absl::Duration max_reconnect_backoff = absl::Seconds(1);

  // INVALID_ARGUMENT naming the first field out of range.
  absl::Status Validate() const;
};

}  // namespace rkv::client
