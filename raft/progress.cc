#include "raft/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/check.h"

namespace rkv::raft {

const char* ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "unknown";
}

void Progress::ResetState(ProgressState state) {
  probe_sent_ = false;
  pending_snapshot_ = 0;
  state_ = state;
  inflights_.Reset();
}

void Progress::BecomeProbe() {
  // After a snapshot, probing resumes after the snapshot's index: the follower
  // has at least that much once it installed it.
  if (state_ == ProgressState::kSnapshot) {
    uint64_t pending = pending_snapshot_;
    ResetState(ProgressState::kProbe);
    next_ = std::max(match_ + 1, pending + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next_ = match_ + 1;
  }
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next_ = match_ + 1;
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot_ = snapshot_index;
}

void Progress::OnSnapshotDone(bool succeeded) {
  if (!succeeded) pending_snapshot_ = 0;
  BecomeProbe();
  probe_sent_ = true;
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (match_ < index) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  return updated;
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t match_hint) {
  if (state_ == ProgressState::kReplicate) {
    // A rejection at or below match is a stale reply to an earlier append.
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // In probe state only the reply to the last probe (next - 1) counts.
  if (next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, match_hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

void Progress::SentEntries(uint64_t count, uint64_t bytes) {
  switch (state_) {
    case ProgressState::kReplicate:
      if (count > 0) {
        next_ += count;
        inflights_.Add(next_ - 1, bytes);
      }
      break;
    case ProgressState::kProbe:
      probe_sent_ = true;
      break;
    case ProgressState::kSnapshot:
      RKV_CHECK_MSG(false, "append sent to a peer waiting for a snapshot");
  }
}

bool Progress::IsPaused() const {
  switch (state_) {
    case ProgressState::kProbe:
      return probe_sent_;
    case ProgressState::kReplicate:
      return inflights_.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

std::string Progress::ToString() const {
  std::string s = absl::StrCat(ProgressStateName(state_), " match=", match_, " next=", next_);
  if (is_learner_) absl::StrAppend(&s, " learner");
  if (state_ == ProgressState::kSnapshot) absl::StrAppend(&s, " pending_snapshot=", pending_snapshot_);
  if (inflights_.count() > 0) absl::StrAppend(&s, " inflight=", inflights_.count());
  return s;
}

}  // namespace rkv::raft
