#include "server/meta.h"

#include "absl/strings/str_cat.h"

namespace rkv::server {

namespace pb = rkv::internal;

v1::Member ToMember(uint64_t id, const MemberAddresses& addresses) {
  v1::Member m;
  m.set_id(id);
  m.set_client_address(addresses.client);
  m.set_peer_address(addresses.peer);
  m.set_metrics_address(addresses.metrics);
  return m;
}

pb::Command InitialMetaCommand(const ClusterLayout& layout, const Partitioner& partitioner,
                               uint64_t now_unix_ms) {
  pb::Command command;
  command.set_now_unix_ms(now_unix_ms);
  pb::TxnCommand* txn = command.mutable_txn();
  pb::Compare* not_initialized = txn->add_compares();
  not_initialized->set_key(kMetaInitializedKey);
  not_initialized->set_target(pb::Compare::TARGET_VERSION);
  not_initialized->set_result(pb::Compare::RESULT_EQUAL);
  not_initialized->set_version(0);
  auto put = [txn](std::string key, std::string value) {
    pb::PutOp* op = txn->add_success()->mutable_put();
    op->set_key(std::move(key));
    op->set_value(std::move(value));
  };
  for (const auto& [id, addresses] : layout.members()) {
    put(absl::StrCat(kMetaMembersPrefix, id), ToMember(id, addresses).SerializeAsString());
  }
  for (uint64_t p : layout.AllPartitions()) {
    v1::Partition partition;
    partition.set_id(p);
    if (p != kMetaPartition) {
      partition.set_hash_start(partitioner.RangeOf(p).start);
      partition.set_hash_end(partitioner.RangeOf(p).end);
    }
    for (uint64_t replica : layout.ReplicasOf(p)) partition.add_replicas()->set_member_id(replica);
    put(absl::StrCat("meta/partitions/", p), partition.SerializeAsString());
  }
  put(kMetaInitializedKey, "1");
  return command;
}

absl::StatusOr<std::vector<v1::Member>> ParseMembers(const pb::RangeResult& range) {
  std::vector<v1::Member> members;
  for (const pb::KeyValue& kv : range.kvs()) {
    v1::Member m;
    if (!m.ParseFromString(kv.value())) {
      return absl::DataLossError(absl::StrCat("meta key ", kv.key(), " does not hold a member"));
    }
    members.push_back(std::move(m));
  }
  return members;
}

}  // namespace rkv::server
