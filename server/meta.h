// The meta partition (partition 0, DESIGN §4): an ordinary Raft group whose
// keys describe the cluster: "meta/members/<id>" holds an rkv.v1.Member and
// "meta/partitions/<id>" an rkv.v1.Partition (hash range and replica ids).
// Its first leader writes the initial layout with one Txn guarded by
// "meta/initialized", so the write happens once however often it is tried.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rkv/internal/command.pb.h"
#include "rkv/v1/cluster.pb.h"
#include "server/layout.h"
#include "server/partitioner.h"

namespace rkv::server {

inline constexpr char kMetaInitializedKey[] = "meta/initialized";
inline constexpr char kMetaMembersPrefix[] = "meta/members/";

// The command that records the initial layout unless already recorded.
rkv::internal::Command InitialMetaCommand(const ClusterLayout& layout, const Partitioner& partitioner,
                                          uint64_t now_unix_ms);
// The members recorded in the meta partition (values of kMetaMembersPrefix
// keys). DATA_LOSS for a value that does not parse.
absl::StatusOr<std::vector<v1::Member>> ParseMembers(const rkv::internal::RangeResult& range);
v1::Member ToMember(uint64_t id, const MemberAddresses& addresses);

}  // namespace rkv::server
