#include "raft/raft_log.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"

namespace rkv::raft {
namespace {

// Appends to *out (holding used bytes) the longest prefix of more that keeps
// it within max_bytes. Only the first piece of a slice gets the "at least one
// entry" rule; a later piece must fit.
void AppendWithin(std::vector<Entry>* out, uint64_t used, uint64_t max_bytes, std::vector<Entry> more) {
  for (Entry& e : more) {
    used += EntryBytes(e);
    if (used > max_bytes) return;
    out->push_back(std::move(e));
  }
}

}  // namespace

RaftLog::RaftLog(const LogReader* log, uint64_t max_committed_bytes_per_ready)
    : log_(log),
      unstable_(log->LastIndex() + 1),
      committed_(log->FirstIndex() - 1),
      applied_(log->FirstIndex() - 1),
      max_committed_bytes_per_ready_(max_committed_bytes_per_ready) {}

uint64_t RaftLog::FirstIndex() const {
  if (std::optional<uint64_t> i = unstable_.MaybeFirstIndex()) return *i;
  return log_->FirstIndex();
}

uint64_t RaftLog::LastIndex() const {
  if (std::optional<uint64_t> i = unstable_.MaybeLastIndex()) return *i;
  return log_->LastIndex();
}

uint64_t RaftLog::LastTerm() const { return TermOrZero(LastIndex()); }

absl::StatusOr<uint64_t> RaftLog::Term(uint64_t index) const {
  if (std::optional<uint64_t> t = unstable_.MaybeTerm(index)) return *t;
  // The valid range is [FirstIndex() - 1, LastIndex()].
  const uint64_t dummy = FirstIndex() - 1;
  if (index < dummy || index > LastIndex()) return 0;
  if (index >= unstable_.offset()) return 0;
  absl::StatusOr<uint64_t> t = log_->Term(index);
  if (t.ok()) return t;
  if (IsCompacted(t.status()) || IsUnavailableIndex(t.status())) return 0;
  return t.status();
}

uint64_t RaftLog::TermOrZero(uint64_t index) const {
  absl::StatusOr<uint64_t> t = Term(index);
  RKV_CHECK_OK(t.status());
  return *t;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  // Below the snapshot the term is unknown: never a match.
  if (index + 1 < FirstIndex() || index > LastIndex()) return false;
  return TermOrZero(index) == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t last_term) const {
  const uint64_t our_term = LastTerm();
  return last_term > our_term || (last_term == our_term && last_index >= LastIndex());
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t index, uint64_t log_term, uint64_t committed,
                                             std::vector<Entry> entries) {
  if (!MatchTerm(index, log_term)) return std::nullopt;
  const uint64_t last_new = index + entries.size();
  const uint64_t conflict = FindConflict(entries);
  if (conflict != 0) {
    // Raft paper §5.3 with Figure 8: a committed entry never conflicts.
    RKV_CHECK_GT(conflict, committed_);
    const size_t skip = conflict - (index + 1);
    entries.erase(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(skip));
    persisted_tail_.TruncateFrom(conflict);
    unstable_.TruncateAndAppend(std::move(entries));
  }
  CommitTo(std::min(committed, last_new));
  return last_new;
}

uint64_t RaftLog::Append(std::vector<Entry> entries) {
  if (entries.empty()) return LastIndex();
  RKV_CHECK_GT(entries.front().index(), committed_);
  persisted_tail_.TruncateFrom(entries.front().index());
  unstable_.TruncateAndAppend(std::move(entries));
  return LastIndex();
}

uint64_t RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (e.index() > LastIndex()) return e.index();
    if (!MatchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

std::pair<uint64_t, uint64_t> RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  index = std::min(index, LastIndex());
  while (true) {
    absl::StatusOr<uint64_t> our = Term(index);
    if (!our.ok()) return {index, 0};
    // Term() is 0 below the snapshot: stop there; the leader sends a snapshot.
    if (*our <= term) return {index, *our};
    if (index == 0) return {0, 0};
    --index;
  }
}

absl::StatusOr<std::vector<Entry>> RaftLog::Slice(uint64_t lo, uint64_t hi,
                                                  uint64_t max_bytes) const {
  RKV_CHECK_LE(lo, hi);
  if (lo < FirstIndex()) return CompactedError(lo, FirstIndex());
  RKV_CHECK_LE(hi, LastIndex() + 1);
  std::vector<Entry> out;
  if (lo == hi) return out;
  const uint64_t offset = unstable_.offset();
  if (lo < offset) {
    absl::StatusOr<std::vector<Entry>> stored = log_->Entries(lo, std::min(hi, offset), max_bytes);
    if (!stored.ok()) return stored.status();
    out = std::move(*stored);
    // The log stopped early at the byte bound.
    if (out.size() < std::min(hi, offset) - lo) return out;
  }
  if (hi > offset) {
    uint64_t used = 0;
    for (const Entry& e : out) used += EntryBytes(e);
    if (!out.empty() && used >= max_bytes) return out;
    std::vector<Entry> rest;
    unstable_.Slice(std::max(lo, offset), hi, out.empty() ? max_bytes : max_bytes - used, &rest);
    if (out.empty()) {
      out = std::move(rest);
    } else {
      AppendWithin(&out, used, max_bytes, std::move(rest));
    }
  }
  return out;
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;
  // A commit index past our log means the leader's message lied or our log
  // was lost: the replica cannot safely continue.
  RKV_CHECK_LE(index, LastIndex());
  committed_ = index;
}

bool RaftLog::MaybeCommit(uint64_t max_index, uint64_t term) {
  if (max_index > committed_ && TermOrZero(max_index) == term) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index == 0) return;
  RKV_CHECK_LE(index, committed_);
  RKV_CHECK_GE(index, applied_);
  applied_ = index;
  persisted_tail_.DropBelow(index + 1);
}

bool RaftLog::HasNextCommittedEntries() const {
  return committed_ > applied_ && applied_ + 1 >= FirstIndex();
}

std::vector<Entry> RaftLog::NextCommittedEntries() {
  if (!HasNextCommittedEntries()) return {};
  const uint64_t lo = std::max(applied_ + 1, FirstIndex());
  const uint64_t hi = committed_ + 1;
  const uint64_t max_bytes = max_committed_bytes_per_ready_;
  persisted_tail_.DropBelow(lo);
  if (persisted_tail_.FirstIndex() != lo) {
    absl::StatusOr<std::vector<Entry>> entries = Slice(lo, hi, max_bytes);
    RKV_CHECK_OK(entries.status());
    return std::move(*entries);
  }
  std::vector<Entry> out;
  const uint64_t bytes = persisted_tail_.Take(hi, max_bytes, &out);
  const uint64_t next = out.back().index() + 1;
  if (next < hi && bytes < max_bytes) {
    absl::StatusOr<std::vector<Entry>> rest = Slice(next, hi, max_bytes - bytes);
    RKV_CHECK_OK(rest.status());
    AppendWithin(&out, bytes, max_bytes, std::move(*rest));
  }
  return out;
}

void RaftLog::StableTo(uint64_t index, uint64_t term) {
  std::vector<Entry> stable = unstable_.StableTo(index, term);
  if (!stable.empty()) persisted_tail_.Append(std::move(stable));
}

void RaftLog::Restore(Snapshot snapshot) {
  committed_ = snapshot.metadata().index();
  // The snapshot replaces the whole log.
  persisted_tail_.Clear();
  unstable_.Restore(std::move(snapshot));
}

absl::StatusOr<Snapshot> RaftLog::GetSnapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return log_->GetSnapshot();
}

void RaftLog::SetCommittedAndApplied(uint64_t committed, uint64_t applied) {
  RKV_CHECK_LE(applied, committed);
  RKV_CHECK_LE(committed, LastIndex());
  committed_ = committed;
  applied_ = std::max(applied_, applied);
}

std::string RaftLog::ToString() const {
  return absl::StrCat("first=", FirstIndex(), " last=", LastIndex(), " committed=", committed_,
                      " applied=", applied_, " unstable.offset=", unstable_.offset(),
                      " unstable.entries=", unstable_.entries().size());
}

}  // namespace rkv::raft
