// EventLog: the last events of a simulation run as text lines, kept for the
// failure report, plus the short text forms of messages and entries that the
// simulator prints.
//
// Formatting costs far more than simulating, so recording is off unless
// enabled. A run is deterministic, so a failing seed is simply run again with
// recording on to get its events (Simulation does this).
// Not thread-safe; owned by one Simulation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "raft/types.h"

namespace rkv::raft::sim {

class EventLog final {
 public:
  // Keeps at most `capacity` lines; older ones are overwritten.
  explicit EventLog(size_t capacity);
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  bool enabled() const { return enabled_; }
  void Enable() { enabled_ = true; }

  // Records the line made by make_text() at `tick`. make_text is not called
  // while recording is off, so callers pay nothing for the formatting then.
  template <typename MakeText>
  void Record(uint64_t tick, MakeText&& make_text) {
    if (!enabled_) return;
    Add(tick, std::forward<MakeText>(make_text)());
  }

  // The last `count` lines, oldest first, one per line.
  std::string Last(size_t count) const;

 private:
  void Add(uint64_t tick, std::string text);

  bool enabled_ = false;
  size_t capacity_;
  size_t next_ = 0;     // slot the next line goes to
  uint64_t added_ = 0;  // lines recorded so far
  std::vector<std::string> lines_;
};

// raft::DescribeMessage, plus the membership a snapshot carries.
std::string SummarizeMessage(const Message& message);
// "[5..9 t3]" or "[]": the index range and last term of entries.
std::string SummarizeEntries(const std::vector<Entry>& entries);
// "v[1,2,3] l[4] vo[] ln[] auto=0", with each list sorted, so two equal
// memberships give equal text whatever order the core keeps ids in.
std::string CanonicalConf(const ConfState& conf);

}  // namespace rkv::raft::sim
