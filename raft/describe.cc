#include "raft/describe.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rkv::raft {

std::string DescribeMessageType(MessageType type) {
  switch (type) {
    case rkv::internal::MSG_APPEND:
      return "Append";
    case rkv::internal::MSG_APPEND_RESPONSE:
      return "AppendResp";
    case rkv::internal::MSG_VOTE:
      return "Vote";
    case rkv::internal::MSG_VOTE_RESPONSE:
      return "VoteResp";
    case rkv::internal::MSG_PRE_VOTE:
      return "PreVote";
    case rkv::internal::MSG_PRE_VOTE_RESPONSE:
      return "PreVoteResp";
    case rkv::internal::MSG_HEARTBEAT:
      return "Heartbeat";
    case rkv::internal::MSG_HEARTBEAT_RESPONSE:
      return "HeartbeatResp";
    case rkv::internal::MSG_SNAPSHOT:
      return "Snapshot";
    case rkv::internal::MSG_READ_INDEX:
      return "ReadIndex";
    case rkv::internal::MSG_READ_INDEX_RESPONSE:
      return "ReadIndexResp";
    case rkv::internal::MSG_TRANSFER_LEADER:
      return "TransferLeader";
    case rkv::internal::MSG_TIMEOUT_NOW:
      return "TimeoutNow";
    default:
      return absl::StrCat("Type", static_cast<int>(type));
  }
}

std::string DescribeEntry(const Entry& e) {
  std::string s = absl::StrCat(e.term(), "/", e.index());
  if (e.type() == rkv::internal::ENTRY_CONF_CHANGE) absl::StrAppend(&s, " conf");
  return s;
}

std::string DescribeMessage(const Message& m) {
  std::string s =
      absl::StrCat(m.from(), "->", m.to(), " ", DescribeMessageType(m.type()), " term=", m.term());
  if (m.log_term() != 0 || m.index() != 0) absl::StrAppend(&s, " log=", m.log_term(), "/", m.index());
  if (m.commit() != 0) absl::StrAppend(&s, " commit=", m.commit());
  if (m.reject()) absl::StrAppend(&s, " rejected hint=", m.reject_hint());
  if (m.entries_size() > 0) {
    absl::StrAppend(&s, " entries=[",
                    absl::StrJoin(m.entries(), " ",
                                  [](std::string* out, const Entry& e) {
                                    out->append(DescribeEntry(e));
                                  }),
                    "]");
  }
  if (m.has_snapshot() && m.snapshot().metadata().index() != 0) {
    absl::StrAppend(&s, " snapshot=", m.snapshot().metadata().term(), "/",
                    m.snapshot().metadata().index());
  }
  if (!m.context().empty()) absl::StrAppend(&s, " context=", m.context());
  return s;
}

std::string DescribeReady(const Ready& r) {
  std::string s;
  if (r.soft_state) {
    absl::StrAppend(&s, "soft: leader=", r.soft_state->leader, " ", RoleName(r.soft_state->role), "\n");
  }
  if (r.hard_state) {
    absl::StrAppend(&s, "hard: term=", r.hard_state->term(), " vote=", r.hard_state->vote(),
                    " commit=", r.hard_state->commit(), "\n");
  }
  auto entries = [](const std::vector<Entry>& es) {
    return absl::StrJoin(es, " ", [](std::string* out, const Entry& e) { out->append(DescribeEntry(e)); });
  };
  if (!r.entries.empty()) absl::StrAppend(&s, "entries: ", entries(r.entries), "\n");
  if (r.snapshot) {
    absl::StrAppend(&s, "snapshot: ", r.snapshot->metadata().term(), "/",
                    r.snapshot->metadata().index(), "\n");
  }
  if (!r.committed_entries.empty()) absl::StrAppend(&s, "committed: ", entries(r.committed_entries), "\n");
  for (const Message& m : r.messages) absl::StrAppend(&s, "send: ", DescribeMessage(m), "\n");
  for (const ReadState& rs : r.read_states) {
    absl::StrAppend(&s, "read: index=", rs.index, " context=", rs.request_context, "\n");
  }
  return s;
}

}  // namespace rkv::raft
