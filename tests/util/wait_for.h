// WaitFor: polls a condition until it holds or a deadline passes. Tests wait on
// conditions, never for a fixed time.
#pragma once

#include <functional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rkv::testing {

inline bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout,
                    absl::Duration poll = absl::Milliseconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    // The poll interval bounds how often the condition is checked; it is not
    // a wait for the condition itself.
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(poll));
  }
}

}  // namespace rkv::testing
