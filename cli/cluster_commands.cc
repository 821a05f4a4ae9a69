#include "cli/cluster_commands.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/render.h"

namespace rkv::cli {
namespace {

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

int RunClusterStatus(const Globals& globals) {
  absl::StatusOr<std::unique_ptr<client::Client>> client = globals.Connect(false);
  if (!client.ok()) return ReportError("cluster status", client.status());
  absl::StatusOr<v1::PartitionListResponse> partitions =
      (*client)->PartitionList(globals.Deadline());
  if (!partitions.ok()) return ReportError("cluster status", partitions.status());
  Print(RenderClusterStatus(*partitions, globals.format));
  for (const v1::Partition& partition : partitions->partitions()) {
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
}

}  // namespace rkv::cli
