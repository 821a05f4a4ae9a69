// Named failpoints and planted-bug knobs for the chaos suite (jepsen/). Only
// builds configured with -DRKV_TEST_KNOBS=ON compile them in; elsewhere
// RKV_FAILPOINT(name) is absl::OkStatus() and RKV_BUG(name) is false, so a
// production rkvd carries neither the code nor the switches.
//
// Configuration, read at the first hit and again whenever the file named by
// RKV_FAILPOINTS_FILE changes (checked at most every 100 ms):
//   RKV_FAILPOINTS="log-sync-before=error,apply-after=delay(50)@0.1"
//   one point per comma: name=action[(arg)][@probability][*count]
//   actions: off, error (the call site gets INTERNAL; a sync point treats
//   that as a failed fsync and stops the node), panic (abort), delay(ms),
//   pause (block until the point is turned off in RKV_FAILPOINTS_FILE).
//   RKV_FAILPOINTS_FILE holds the same syntax and replaces RKV_FAILPOINTS.
//   RKV_BUG="stale-reads,..." turns on planted bugs (see RKV_BUG call sites).
// Thread-safe.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

#ifdef RKV_TEST_KNOBS
namespace rkv::server {
// Evaluates the point `name`: OK unless its action is `error`; may sleep,
// block or abort as configured.
absl::Status FailpointHit(absl::string_view name);
// Whether the planted bug `name` is listed in RKV_BUG.
bool BugEnabled(absl::string_view name);
}  // namespace rkv::server
#define RKV_FAILPOINT(name) ::rkv::server::FailpointHit(name)
#define RKV_BUG(name) ::rkv::server::BugEnabled(name)
#else
#define RKV_FAILPOINT(name) ::absl::OkStatus()
#define RKV_BUG(name) false
#endif
