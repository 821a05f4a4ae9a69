#include "server/node.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "prometheus/text_serializer.h"
#include "server/convert.h"
#include "raft/raw_node.h"
#include "server/grpc_metrics.h"
#include "server/meta.h"
#include "server/thread_name.h"
#include "spdlog/spdlog.h"
#include "storage/bootstrap.h"
#include "storage/engine_stats.h"
#include "storage/raft_log_store.h"
#include "storage/state_machine.h"

namespace rkv::server {
namespace {

constexpr char kIdentityFile[] = "IDENTITY";

absl::Status ReadIdentity(const std::string& path, uint64_t* cluster_id, uint64_t* node_id,
                          bool* bootstrapped) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  bool have_cluster = false;
  bool have_node = false;
  *bootstrapped = false;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "cluster_id") have_cluster = absl::SimpleAtoi(kv.second, cluster_id);
    if (kv.first == "node_id") have_node = absl::SimpleAtoi(kv.second, node_id);
    if (kv.first == "state") *bootstrapped = kv.second == "ready";
  }
  if (!have_cluster || !have_node) {
    return absl::DataLossError(absl::StrCat(path, " is damaged: it must name cluster_id and node_id"));
  }
  return absl::OkStatus();
}

// Replaces the identity file atomically (write, then rename).
absl::Status WriteIdentity(const std::string& path, uint64_t cluster_id, uint64_t node_id,
                           bool bootstrapped) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "cluster_id=" << cluster_id << "\nnode_id=" << node_id
        << "\nstate=" << (bootstrapped ? "ready" : "bootstrapping") << "\n";
    out.flush();
    if (!out) return absl::FailedPreconditionError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

Node::Node(const NodeConfig& config, ClusterLayout layout)
    : config_(config),
      layout_(std::move(layout)),
      partitioner_(config.partitions),
      metrics_(std::make_unique<Metrics>(config.node_id, config.metrics_enabled, PublicRpcMethods())) {}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(const NodeConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  absl::StatusOr<ClusterLayout> layout = ClusterLayout::FromConfig(config);
  if (!layout.ok()) return layout.status();
  std::unique_ptr<Node> node(new Node(config, std::move(*layout)));
  bool fresh = false;
  if (absl::Status s = node->CheckIdentity(&fresh); !s.ok()) return s;
  storage::EngineOptions engine_options;
  engine_options.dir = config.data_dir;
  // Every data partition and the meta partition, the most a node can host.
  engine_options.max_partitions = config.partitions + 1;
  absl::StatusOr<std::unique_ptr<storage::Engine>> engine = storage::Engine::Open(engine_options);
  if (!engine.ok()) return engine.status();
  node->engine_ = std::move(*engine);
  if (absl::Status s = node->OpenReplicas(fresh); !s.ok()) return s;
  if (absl::Status s = node->StartServers(); !s.ok()) {
    node->Shutdown();
    return s;
  }
  spdlog::info("node {} of cluster {} serving clients on {} and peers on {} ({} partitions hosted{})",
               config.node_id, node->cluster_id(), config.client_address, config.peer_address,
               node->replicas_.size(), fresh ? ", bootstrapped" : "");
  return node;
}

absl::Status Node::CheckIdentity(bool* fresh) {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data dir ", config_.data_dir, ": ", ec.message()));
  }
  const std::string path = absl::StrCat(config_.data_dir, "/", kIdentityFile);
  if (std::filesystem::exists(path)) {
    uint64_t cluster_id = 0;
    uint64_t node_id = 0;
    bool bootstrapped = false;
    if (absl::Status s = ReadIdentity(path, &cluster_id, &node_id, &bootstrapped); !s.ok()) return s;
    if (cluster_id != layout_.cluster_id() || node_id != config_.node_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data dir ", config_.data_dir, " belongs to node ", node_id, " of cluster ", cluster_id,
          ", not node ", config_.node_id, " of cluster ", layout_.cluster_id(),
          " (check --node-id, --initial-cluster, --partitions and --replication-factor, or use an "
          "empty --data-dir)"));
    }
    // A bootstrap that a crash interrupted is finished (it is idempotent).
    *fresh = !bootstrapped;
    return absl::OkStatus();
  }
  if (!std::filesystem::is_empty(config_.data_dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", config_.data_dir, " is not empty but has no ", kIdentityFile,
        " file; refusing to mix rkv data with other files"));
  }
  // Written before any partition exists, so a crash during bootstrap leaves a
  // dir that is recognised and finished at the next start.
  *fresh = true;
  return WriteIdentity(path, layout_.cluster_id(), config_.node_id, /*bootstrapped=*/false);
}

absl::Status Node::OpenReplicas(bool fresh) {
  raft::Config raft_config;
  raft_config.id = config_.node_id;
  raft_config.election_ticks = config_.election_ticks;
  raft_config.heartbeat_ticks = config_.heartbeat_ticks;
  // Read leases need voters to keep check-quorum's promise across restarts.
  raft_config.ignore_votes_at_start = config_.ReadLeaseNanos() > 0;
  raft_config.seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  std::vector<uint64_t> hosted;
  for (uint64_t p : layout_.AllPartitions()) {
    if (layout_.Hosts(config_.node_id, p)) hosted.push_back(p);
  }
  if (fresh) {
    std::vector<storage::PartitionBootstrap> boots;
    for (uint64_t p : hosted) {
      raft::ConfState voters;
      for (uint64_t id : layout_.ReplicasOf(p)) voters.add_voters(id);
      raft::BootstrapState boot = raft::Bootstrap(voters);
      boots.push_back({p, std::move(*boot.snapshot.mutable_metadata()), std::move(boot.hard_state)});
    }
    if (absl::Status s = storage::BootstrapPartitions(engine_.get(), boots); !s.ok()) return s;
  }
  for (uint64_t p : hosted) {
    absl::StatusOr<std::unique_ptr<storage::RaftLogStore>> log =
        storage::RaftLogStore::Open(engine_.get(), p, storage::LogLimits());
    if (!log.ok()) return log.status();
    absl::StatusOr<std::unique_ptr<storage::StateMachine>> sm =
        storage::StateMachine::Open(engine_.get(), p, storage::StateMachineLimits());
    if (!sm.ok()) return sm.status();
    auto replica = std::make_unique<Replica>(p, std::move(*log),
                                             std::shared_ptr<storage::StateMachine>(std::move(*sm)),
                                             std::make_unique<RaftLogger>(p), metrics_->Partition(p),
                                             config_.ReadLeaseNanos());
    raft_config.seed += p;
    if (absl::Status s = replica->StartRaft(raft_config); !s.ok()) return s;
    replica_view_[p] = replica.get();
    replicas_[p] = std::move(replica);
  }
  if (!fresh) return absl::OkStatus();
  return WriteIdentity(absl::StrCat(config_.data_dir, "/", kIdentityFile), layout_.cluster_id(),
                       config_.node_id, /*bootstrapped=*/true);
}

absl::Status Node::StartServers() {
  std::map<uint64_t, std::string> peers;
  std::map<uint64_t, std::string> clients;
  for (const auto& [id, addresses] : layout_.members()) {
    peers[id] = addresses.peer;
    clients[id] = addresses.client;
  }
  apply_worker_ = std::make_unique<ApplyWorker>(
      /*max_queued_entries=*/100000, metrics_.get(),
      [this](uint64_t partition, uint64_t applied, const raft::ConfState* conf) {
        driver_->OnApplied(partition, applied, conf ? std::optional<raft::ConfState>(*conf) : std::nullopt);
      });
  transport_ = std::make_unique<GrpcTransport>(
      layout_.cluster_id(), config_.node_id, peers, TransportLimits(), metrics_.get(),
      [this](uint64_t peer, std::vector<uint64_t> partitions) {
        driver_->ReportUnreachable(peer, std::move(partitions));
      });
  snapshot_sender_ = std::make_unique<SnapshotSender>(
      layout_.cluster_id(), config_.node_id, peers, storage::SnapshotLimits(), /*max_concurrent=*/2,
      metrics_.get(), [this](uint64_t partition, uint64_t peer, bool ok) { driver_->ReportSnapshot(partition, peer, ok); });
  DriverOptions options;
  options.node_id = config_.node_id;
  options.tick = absl::Milliseconds(config_.tick_ms);
  options.log_retain_entries = config_.log_retain_entries;
  options.max_pending_proposals = config_.max_pending_proposals;
  options.max_pending_reads = config_.max_pending_reads;
  options.read_retry_ticks = static_cast<uint64_t>(config_.heartbeat_ticks) + 1;
  options.balance_leaders = config_.balance_leaders;
  options.client_addresses = clients;
  options.metrics = metrics_.get();
  driver_ = std::make_unique<Driver>(
      options, engine_.get(), transport_.get(), apply_worker_.get(), replica_view_,
      [this](uint64_t to, uint64_t partition, raft::Message message) {
        snapshot_sender_->Send(to, partition, std::move(message), replicas_.at(partition)->state_machine());
      });
  apply_worker_->Start();
  driver_->Start();

  channels_ = std::make_unique<MemberChannels>(layout_);
  service_context_.node_id = config_.node_id;
  service_context_.layout = &layout_;
  service_context_.partitioner = &partitioner_;
  service_context_.limits = &config_.limits;
  service_context_.driver = driver_.get();
  service_context_.replicas = &replica_view_;
  service_context_.channels = channels_.get();
  forward_targets_ = std::make_unique<ForwardTargets>(layout_);
  service_context_.forward_targets = forward_targets_.get();

  peer_service_ = std::make_unique<PeerService>(
      layout_.cluster_id(), config_.node_id, metrics_.get(),
      [this](rkv::internal::MessageBatch batch) { driver_->Deliver(std::move(batch)); },
      [this](grpc::ServerReader<rkv::internal::SnapshotChunk>* reader) {
        return ReceiveSnapshot(engine_.get(), storage::SnapshotLimits(), layout_.cluster_id(),
                               config_.node_id, metrics_.get(), reader,
                               [this](uint64_t p, raft::Message m, std::unique_ptr<storage::StagedSnapshot> s) {
                                 driver_->OnSnapshotReceived(p, std::move(m), std::move(s));
                               });
      },
      [this](const rkv::internal::PartitionReadRequest& request, absl::Time deadline,
             rkv::internal::PartitionReadResponse* response) {
        return ReadPartition(request, deadline, response);
      });
  grpc::ServerBuilder peer_builder;
  int peer_port = 0;
  peer_builder.AddListeningPort(config_.peer_address, grpc::InsecureServerCredentials(), &peer_port);
  // gRPC sets SO_REUSEPORT by default, so a second process could bind a
  // port this node holds, and the kernel would split connections between
  // the two: peers or clients would reach the wrong node. A port in use must
  // make the start fail instead.
  peer_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  peer_builder.RegisterService(peer_service_.get());
  peer_builder.SetMaxReceiveMessageSize(64 << 20);
  peer_builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  peer_builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  peer_server_ = peer_builder.BuildAndStart();
  if (!peer_server_ || peer_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for peers on ", config_.peer_address));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  kv_service_ = std::make_unique<KvService>(service_context_);
  cluster_service_ = std::make_unique<ClusterService>(service_context_);
  maintenance_service_ = std::make_unique<MaintenanceService>(service_context_, config_.data_dir);
  grpc::ServerBuilder client_builder;
  int client_port = 0;
  client_builder.AddListeningPort(config_.client_address, grpc::InsecureServerCredentials(), &client_port);
  client_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  client_builder.RegisterService(kv_service_.get());
  client_builder.RegisterService(cluster_service_.get());
  client_builder.RegisterService(maintenance_service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(metrics_.get()));
  client_builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // Members forward requests over channels that ping every 2 s, also while
  // idle (GrpcTransport::ChannelArgs); by default the server counts those as
  // abuse and closes the connection with GOAWAY "too_many_pings".
  client_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  client_builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  // A request may carry a value at the limit plus its key and framing.
  client_builder.SetMaxReceiveMessageSize(
      static_cast<int>(config_.limits.max_value_bytes + config_.limits.max_key_bytes + (64 << 10)));
  client_server_ = client_builder.BuildAndStart();
  if (!client_server_ || client_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for clients on ", config_.client_address));
  }
  client_server_->GetHealthCheckService()->SetServingStatus(true);

  HttpHandlers handlers;
  handlers.metrics = [this] {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, metrics_->registry()->Collect());
    return out.str();
  };
  handlers.healthy = [this] { return Healthy(); };
  handlers.ready = [this] { return Ready(); };
  handlers.service_discovery = [this] {
    std::vector<SdTarget> targets;
    for (const v1::Member& m : Members()) targets.push_back({m.id(), m.metrics_address()});
    return ServiceDiscoveryJson(targets, layout_.cluster_id());
  };
  absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(config_.metrics_address, std::move(handlers));
  if (!http.ok()) return http.status();
  http_server_ = std::move(*http);
  UpdateMemberMetrics();
  housekeeping_ = StartNamedThread("rkv-housekeep", [this] { RunHousekeeping(); });
  return absl::OkStatus();
}

std::vector<v1::Member> Node::Members() {
  // The meta partition's record, read from the local replica's applied state
  // (a serializable read: /sd must answer even without a quorum).
  if (auto it = replica_view_.find(kMetaPartition); it != replica_view_.end()) {
    rkv::internal::RangeOp op;
    op.set_key(kMetaMembersPrefix);
    op.set_range_end(PrefixEnd(kMetaMembersPrefix));
    absl::StatusOr<rkv::internal::RangeResult> range =
        it->second->state_machine()->Range(op, static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())));
    if (range.ok() && range->kvs_size() > 0) {
      absl::StatusOr<std::vector<v1::Member>> members = ParseMembers(*range);
      if (members.ok()) return *members;
    }
  }
  std::vector<v1::Member> members;
  for (const auto& [id, addresses] : layout_.members()) members.push_back(ToMember(id, addresses));
  return members;
}

absl::Status Node::Healthy() {
  if (shut_down_.load()) return absl::UnavailableError("shutting down");
  absl::Status s = storage::ProbeWritable(*engine_);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("storage does not take writes: ", s.message()));
  return absl::OkStatus();
}

absl::Status Node::Ready() {
  if (shut_down_.load()) return absl::UnavailableError("shutting down");
  for (const auto& [id, replica] : replica_view_) {
    if (replica->info().leader.load() == raft::kNoNode) {
      return absl::UnavailableError(absl::StrCat("partition ", id, " has no leader"));
    }
    const uint64_t commit = replica->info().commit.load();
    const uint64_t applied = replica->state_machine()->applied_index();
    if (commit > applied + config_.ready_max_apply_lag) {
      return absl::UnavailableError(absl::StrCat("partition ", id, " has applied ", applied, " of ", commit,
                                                 " committed entries"));
    }
  }
  return absl::OkStatus();
}

void Node::UpdateStorageMetrics() {
  if (!metrics_->enabled()) return;
  const storage::EngineStats stats = storage::ReadEngineStats(*engine_);
  Set(metrics_->storage_size_bytes(), static_cast<double>(stats.size_bytes));
  Set(metrics_->storage_live_keys(), static_cast<double>(stats.live_keys_estimate));
  Set(metrics_->storage_pending_compaction_bytes(), static_cast<double>(stats.pending_compaction_bytes));
  Set(metrics_->storage_block_cache_bytes(), static_cast<double>(stats.block_cache_usage_bytes));
  metrics_->SetRowCacheLookups(stats.row_cache_hits, stats.row_cache_misses);
}

void Node::UpdateMemberMetrics() {
  raft::ConfState meta_conf;
  if (auto it = replica_view_.find(kMetaPartition); it != replica_view_.end()) {
    meta_conf = it->second->state_machine()->conf_state();
  }
  for (const v1::Member& m : Members()) {
    std::string role = "member";
    for (uint64_t id : meta_conf.voters()) role = id == m.id() ? "voter" : role;
    for (uint64_t id : meta_conf.learners()) role = id == m.id() ? "learner" : role;
    metrics_->SetMemberInfo(m.id(), m.client_address(), m.peer_address(), m.metrics_address(), role);
  }
}

// Pings every peer at once and records the round-trip times.
void Node::PingPeers() {
  if (!metrics_->enabled()) return;
  struct Ping {
    grpc::ClientContext context;
    rkv::internal::PingRequest request;
    rkv::internal::PingResponse response;
    SteadyClock::time_point start;
  };
  std::vector<std::pair<uint64_t, std::shared_ptr<Ping>>> pings;
  absl::Mutex mu;
  int remaining = 0;
  for (const auto& [id, addresses] : layout_.members()) {
    if (id == config_.node_id) continue;
    rkv::internal::Peer::Stub* stub = channels_->Peer(id);
    if (stub == nullptr) continue;
    auto ping = std::make_shared<Ping>();
    ping->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    ping->request.set_from_node(config_.node_id);
    ping->start = SteadyClock::now();
    {
      absl::MutexLock lock(&mu);
      ++remaining;
    }
    PeerMetrics* peer = metrics_->Peer(id);
    stub->async()->Ping(&ping->context, &ping->request, &ping->response,
                        [ping, peer, &mu, &remaining](grpc::Status status) {
                          if (status.ok()) Observe(peer->round_trip_seconds, absl::ToDoubleSeconds(Since(ping->start)));
                          absl::MutexLock lock(&mu);
                          --remaining;
                        });
  }
  absl::MutexLock lock(&mu);
  auto done = [&remaining]() { return remaining == 0; };
  mu.Await(absl::Condition(&done));
}

// Background chores that need no precise timing, once a second: storage and
// membership metrics, peer round-trip times, and (on the meta partition's
// first leader) recording the cluster layout.
void Node::RunHousekeeping() {
  auto meta = replicas_.find(kMetaPartition);
  bool meta_recorded = false;
  while (!stopping_.WaitFor(absl::Seconds(1))) {
    UpdateStorageMetrics();
    UpdateMemberMetrics();
    PingPeers();
    if (meta_recorded || meta == replicas_.end() || !meta->second->info().is_leader.load()) continue;
    absl::Notification done;
    bool succeeded = false;
    const uint64_t now = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
    driver_->Propose(kMetaPartition, InitialMetaCommand(layout_, partitioner_, now).SerializeAsString(),
                     absl::Now() + absl::Seconds(5),
                     [&](absl::StatusOr<storage::EntryResult> result) {
                       succeeded = result.ok() && result->status.ok();
                       done.Notify();
                     });
    done.WaitForNotification();
    // Whether this Txn or an earlier one wrote it, the layout is recorded.
    meta_recorded = succeeded;
  }
}

grpc::Status Node::ReadPartition(const rkv::internal::PartitionReadRequest& request,
                                 absl::Time deadline, rkv::internal::PartitionReadResponse* response) {
  auto it = replica_view_.find(request.partition_id());
  if (it == replica_view_.end()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("partition ", request.partition_id(), " is not hosted on node ",
                                     config_.node_id));
  }
  absl::Notification done;
  absl::Status status;
  ReadPartitionLocally(service_context_, *it->second, request.range(), request.serializable(), deadline,
                       [&](absl::StatusOr<rkv::internal::RangeResult> result, uint64_t revision) {
                         if (result.ok()) {
                           *response->mutable_result() = std::move(*result);
                           response->set_revision(revision);
                         } else {
                           status = result.status();
                         }
                         done.Notify();
                       });
  done.WaitForNotification();
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void Node::Shutdown() {
  if (shut_down_.exchange(true)) return;
  spdlog::info("node {} shutting down", config_.node_id);
  stopping_.Notify();
  if (housekeeping_.joinable()) housekeeping_.join();
  if (client_server_) client_server_->GetHealthCheckService()->SetServingStatus(false);
  http_server_.reset();
  // The driver first: it fails everything pending, so the servers' shutdown
  // never waits on a request that can no longer complete.
  if (driver_) driver_->Stop();
  if (client_server_) client_server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  if (peer_server_) peer_server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  if (apply_worker_) apply_worker_->Stop();
  if (snapshot_sender_) snapshot_sender_->Stop();
  if (transport_) transport_->Stop();
  driver_.reset();
  replicas_.clear();
  replica_view_.clear();
  engine_.reset();
}

Node::~Node() { Shutdown(); }

}  // namespace rkv::server
