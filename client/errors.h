// The one status the client adds to the canonical codes: a write whose outcome
// is unknown (it timed out, its connection was cut, or the server failed it
// without saying it was never proposed). Such a write may or may not have been
// applied; the client never retries it and reports it with code UNKNOWN and a
// message starting "outcome unknown: ". Every other status keeps the meaning of
// its code (STYLE §3). Pure functions; thread-safe.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rkv::client {

inline constexpr absl::string_view kOutcomeUnknownPrefix = "outcome unknown: ";

// UNKNOWN "outcome unknown: <what>".
absl::Status OutcomeUnknownError(absl::string_view what);

// True for a status made by OutcomeUnknownError: the caller must find out
// (e.g. read the key) before assuming the write failed or succeeded.
bool IsIndeterminate(const absl::Status& status);

}  // namespace rkv::client
