// Stable, compact text forms of Raft messages, entries and Readys for traces,
// logs and scenario tests. Pure functions.
#pragma once

#include <string>

#include "raft/ready.h"
#include "raft/types.h"

namespace rkv::raft {

// "MSG_APPEND" -> "Append".
std::string DescribeMessageType(MessageType type);
// "1->2 Append term=3 log=3/7 commit=6 entries=[3/8 3/9]".
std::string DescribeMessage(const Message& m);
// "3/8" for a normal entry, "3/8 conf" for a membership change.
std::string DescribeEntry(const Entry& e);
// One line per part of the Ready that is set.
std::string DescribeReady(const Ready& ready);

}  // namespace rkv::raft
