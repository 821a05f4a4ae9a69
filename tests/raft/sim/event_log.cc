#include "tests/raft/sim/event_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "raft/check.h"
#include "raft/describe.h"

namespace rkv::raft::sim {

EventLog::EventLog(size_t capacity) : capacity_(capacity) {
  RKV_CHECK_GT(capacity_, 0u);
  lines_.reserve(capacity_);
}

void EventLog::Add(uint64_t tick, std::string text) {
  std::string line = absl::StrCat("[t=", tick, "] ", text);
  if (lines_.size() < capacity_) {
    lines_.push_back(std::move(line));
  } else {
    lines_[next_] = std::move(line);
  }
  next_ = (next_ + 1) % capacity_;
  ++added_;
}

std::string EventLog::Last(size_t count) const {
  if (!enabled_) return "(event recording was off)\n";
  count = std::min(count, lines_.size());
  std::string out;
  // The oldest kept line sits at next_ once the ring is full, else at 0.
  size_t oldest = lines_.size() < capacity_ ? 0 : next_;
  for (size_t i = lines_.size() - count; i < lines_.size(); ++i) {
    absl::StrAppend(&out, lines_[(oldest + i) % lines_.size()], "\n");
  }
  return out;
}

std::string SummarizeEntries(const std::vector<Entry>& entries) {
  if (entries.empty()) return "[]";
  return absl::StrCat("[", entries.front().index(), "..", entries.back().index(), " t",
                      entries.back().term(), "]");
}

std::string SummarizeMessage(const Message& m) {
  std::string out = DescribeMessage(m);
  if (m.type() == rkv::internal::MSG_SNAPSHOT) {
    absl::StrAppend(&out, " ", CanonicalConf(m.snapshot().metadata().conf_state()));
  }
  return out;
}

namespace {

std::string SortedIds(const google::protobuf::RepeatedField<uint64_t>& ids) {
  std::vector<uint64_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  return absl::StrCat("[", absl::StrJoin(sorted, ","), "]");
}

}  // namespace

std::string CanonicalConf(const ConfState& conf) {
  return absl::StrCat("v", SortedIds(conf.voters()), " l", SortedIds(conf.learners()), " vo",
                      SortedIds(conf.voters_outgoing()), " ln", SortedIds(conf.learners_next()),
                      " auto=", conf.auto_leave() ? 1 : 0);
}

}  // namespace rkv::raft::sim
