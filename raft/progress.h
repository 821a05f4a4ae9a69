// Progress: the leader's view of one peer's log (Raft paper §5.3 nextIndex and
// matchIndex) and the flow control of appends to it. Not thread-safe; owned by
// the ProgressTracker of a leader.
//
// States: kProbe sends one append per heartbeat interval until the follower's
// match index is known; kReplicate streams appends optimistically within the
// Inflights window; kSnapshot waits for a snapshot to be installed.
#pragma once

#include <cstdint>
#include <string>

#include "raft/inflights.h"

namespace rkv::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };
const char* ProgressStateName(ProgressState state);

class Progress final {
 public:
  Progress(uint64_t next, uint64_t max_inflight_msgs, uint64_t max_inflight_bytes)
      : next_(next), inflights_(max_inflight_msgs, max_inflight_bytes) {}

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);

  // The follower acknowledged entries up to index. Returns true when that is
  // news (the match index grew).
  bool MaybeUpdate(uint64_t index);
  // The follower rejected an append at `rejected`; match_hint is the largest
  // index it may still share with us (fast back-off, Raft paper §5.3 end).
  // Returns false for a stale rejection.
  bool MaybeDecrTo(uint64_t rejected, uint64_t match_hint);
  // Accounts for an append of `count` entries (`bytes` of payload) sent.
  void SentEntries(uint64_t count, uint64_t bytes);
  // A heartbeat response lets a probing leader send again.
  void ResumeProbe() { probe_sent_ = false; }
  // The snapshot transfer ended; probe from its index (or from match when it
  // failed) once the follower answers.
  void OnSnapshotDone(bool succeeded);
  // Frees the window up to an acknowledged index (kReplicate).
  void FreeInflightsUpTo(uint64_t index) { inflights_.FreeLE(index); }
  // Frees the oldest slot of a full window whose appends were probably lost.
  void FreeOldestInflight() { inflights_.FreeFirst(); }

  // True when no more appends may be sent now.
  bool IsPaused() const;

  uint64_t match() const { return match_; }
  uint64_t next() const { return next_; }
  ProgressState state() const { return state_; }
  uint64_t pending_snapshot() const { return pending_snapshot_; }
  bool recent_active() const { return recent_active_; }
  void set_recent_active(bool active) { recent_active_ = active; }
  bool is_learner() const { return is_learner_; }
  void set_is_learner(bool learner) { is_learner_ = learner; }
  // The leader's own progress: match is what it persisted.
  void SetMatchForSelf(uint64_t match) {
    match_ = match;
    next_ = match + 1;
  }
  const Inflights& inflights() const { return inflights_; }
  std::string ToString() const;

 private:
  void ResetState(ProgressState state);

  uint64_t match_ = 0;
  uint64_t next_;
  ProgressState state_ = ProgressState::kProbe;
  uint64_t pending_snapshot_ = 0;
  bool recent_active_ = false;
  bool probe_sent_ = false;
  bool is_learner_ = false;
  Inflights inflights_;
};

}  // namespace rkv::raft
