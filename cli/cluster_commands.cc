#include "cli/cluster_commands.h"

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "cli/cluster_view.h"
#include "cli/render.h"

namespace rkv::cli {
namespace {

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

// Every member reports its own replicas; one answer alone would show the
// other members' replicas as unknown.
int RunClusterStatus(const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("cluster status", client.status());
  absl::StatusOr<v1::PartitionListResponse> partitions =
      (*client)->PartitionList(globals.Deadline());
  if (!partitions.ok()) return ReportError("cluster status", partitions.status());
  absl::StatusOr<v1::MemberListResponse> members = (*client)->MemberList(globals.Deadline());
  if (!members.ok()) return ReportError("cluster status", members.status());
  std::map<uint64_t, v1::PartitionListResponse> by_member;
  for (const v1::Member& member : members->members()) {
    absl::StatusOr<v1::PartitionListResponse> own =
        (*client)->NodePartitionList(member.client_address(), globals.Deadline());
    if (own.ok()) {
      by_member.emplace(member.id(), *std::move(own));
    } else {
      std::fprintf(stderr, "rkvctl: cluster status: member %llu (%s) did not answer: %s\n",
                   static_cast<unsigned long long>(member.id()), member.client_address().c_str(),
                   own.status().ToString().c_str());
    }
  }
  const v1::PartitionListResponse merged = MergeReplicaViews(*partitions, by_member);
  Print(RenderClusterStatus(merged, globals.format));
  for (const v1::Partition& partition : merged.partitions()) {
    if (partition.leader_id() == 0) return kExitUnhealthy;
  }
  return kExitOk;
}

int RunMemberList(const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("member list", client.status());
  absl::StatusOr<v1::MemberListResponse> members = (*client)->MemberList(globals.Deadline());
  if (!members.ok()) return ReportError("member list", members.status());
  Print(RenderMembers(*members, globals.format));
  return kExitOk;
}

struct TransferFlags {
  uint64_t partition_id = 0;
  uint64_t to_member_id = 0;
};

int RunLeaderTransfer(const TransferFlags& flags, const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("leader transfer", client.status());
  v1::TransferLeaderRequest request;
  request.set_partition_id(flags.partition_id);
  request.set_to_member_id(flags.to_member_id);
  absl::StatusOr<v1::TransferLeaderResponse> response =
      (*client)->TransferLeader(request, globals.Deadline());
  if (!response.ok()) return ReportError("leader transfer", response.status());
  std::printf("OK: partition %llu handed to member %llu (answer at term %llu)\n",
              static_cast<unsigned long long>(flags.partition_id),
              static_cast<unsigned long long>(flags.to_member_id),
              static_cast<unsigned long long>(response->header().raft_term()));
  return kExitOk;
}

int RunEndpointHealth(const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("endpoint health", client.status());
  std::vector<EndpointHealth> rows;
  bool all_healthy = true;
  for (const std::string& endpoint : globals.options.endpoints) {
    EndpointHealth row{endpoint, (*client)->NodeHealth(endpoint, globals.Deadline())};
    all_healthy = all_healthy && row.health.ok() && row.health->healthy();
    rows.push_back(std::move(row));
  }
  Print(RenderEndpointHealth(rows, globals.format));
  return all_healthy ? kExitOk : kExitUnhealthy;
}

int RunEndpointStatus(const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("endpoint status", client.status());
  std::vector<EndpointStatus> rows;
  bool all_answered = true;
  for (const std::string& endpoint : globals.options.endpoints) {
    EndpointStatus row{endpoint, (*client)->NodeStatus(endpoint, globals.Deadline())};
    all_answered = all_answered && row.status.ok();
    rows.push_back(std::move(row));
  }
  Print(RenderEndpointStatus(rows, globals.format));
  return all_answered ? kExitOk : kExitUnhealthy;
}

int RunLogLevel(const std::string& level, const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("log-level", client.status());
  std::vector<EndpointLogLevel> rows;
  bool all_ok = true;
  for (const std::string& endpoint : globals.options.endpoints) {
    EndpointLogLevel row{endpoint, (*client)->NodeSetLogLevel(endpoint, level, globals.Deadline())};
    all_ok = all_ok && row.answer.ok();
    rows.push_back(std::move(row));
  }
  Print(RenderLogLevel(rows, level, globals.format));
  return all_ok ? kExitOk : kExitError;
}

int RunEndpointHash(uint64_t partition_id, const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("endpoint hash", client.status());
  std::vector<EndpointHash> rows;
  for (const std::string& endpoint : globals.options.endpoints) {
    rows.push_back(
        {endpoint, (*client)->NodePartitionHash(endpoint, partition_id, globals.Deadline())});
  }
  Print(RenderHashes(rows, partition_id, globals.format));
  const std::string mismatch = HashMismatch(rows);
  if (!mismatch.empty()) {
    return ReportError("endpoint hash", absl::DataLossError(absl::StrCat("partition ", partition_id,
                                                                         ": ", mismatch)));
  }
  return kExitOk;
}

}  // namespace

void AddClusterCommands(CLI::App& app, CommandSet& commands) {
  CLI::App* cluster = app.add_subcommand("cluster", "Cluster-wide state");
  cluster->require_subcommand(1);
  CLI::App* status = cluster->add_subcommand(
      "status",
      "Per partition and replica: leader, term, commit, applied, match and lag "
      "(exit code 7 when a partition has no leader)");
  commands.Add(status, RunClusterStatus);

  CLI::App* member = app.add_subcommand("member", "Cluster members");
  member->require_subcommand(1);
  commands.Add(member->add_subcommand("list", "List the members and their addresses"),
               RunMemberList);

  CLI::App* leader = app.add_subcommand("leader", "Partition leadership");
  leader->require_subcommand(1);
  auto flags = std::make_shared<TransferFlags>();
  CLI::App* transfer =
      leader->add_subcommand("transfer", "Hand a partition's leadership to another voter");
  transfer->add_option("partition", flags->partition_id, "The partition id")->required();
  transfer->add_option("member", flags->to_member_id, "The member id of the new leader")
      ->required();
  commands.Add(transfer, [flags](const Globals& g) { return RunLeaderTransfer(*flags, g); });

  CLI::App* endpoint = app.add_subcommand("endpoint", "Each endpoint on its own");
  endpoint->require_subcommand(1);
  commands.Add(endpoint->add_subcommand(
                   "health", "Ask each endpoint whether it is healthy (exit code 7 if any is not)"),
               RunEndpointHealth);
  commands.Add(
      endpoint->add_subcommand(
          "status", "Version, partitions hosted and led, and database size of each endpoint"),
      RunEndpointStatus);
  auto partition = std::make_shared<uint64_t>(0);
  CLI::App* hash = endpoint->add_subcommand(
      "hash",
      "Each endpoint's hash of its replica of a partition at its applied index; exit code 1 "
      "when two replicas at one applied index differ");
  hash->add_option("partition", *partition, "The partition id")->required();
  commands.Add(hash, [partition](const Globals& g) { return RunEndpointHash(*partition, g); });

  auto level = std::make_shared<std::string>();
  CLI::App* log_level = app.add_subcommand(
      "log-level",
      "Set the log level of every endpoint (trace, debug, info, warn, error, critical, off)");
  log_level->add_option("level", *level, "The new level")->required();
  commands.Add(log_level, [level](const Globals& g) { return RunLogLevel(*level, g); });
}

}  // namespace rkv::cli
