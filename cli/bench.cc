#include "cli/bench.h"

#include <grpcpp/alarm.h>
#include <grpcpp/client_context.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "cli/proc_stat.h"
#include "client/core.h"
#include "client/key_hash.h"
#include "client/topology.h"
#include "rkv/v1/kv.grpc.pb.h"
#include "rkv/v1/maintenance.grpc.pb.h"

namespace rkv::cli {
namespace {

using client::internal::Core;

constexpr int kStatusCodes = 17;
// How often the run loop wakes to stop, report progress and refresh routes.
constexpr absl::Duration kTick = absl::Milliseconds(20);
constexpr absl::Duration kProgressInterval = absl::Seconds(1);
constexpr absl::Duration kRouteRefreshInterval = absl::Seconds(1);

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// SplitMix64 then xorshift: cheap, seeded, per slot.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

size_t Digits(uint64_t n) {
  size_t digits = 1;
  while (n >= 10) {
    n /= 10;
    ++digits;
  }
  return digits;
}

class Engine;

// One closed-loop client: one request in flight at a time. Its fields are
// touched only by the callback of its current request (or, before the run,
// by the main thread), so none need a lock; `completed` is read by the
// progress line and is atomic.
class Slot final {
 public:
  Slot(Engine* engine, int index, uint64_t seed);
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  // Starts the next operation, or finishes the slot when the phase is over.
  void Next();
  void ResetStats();

  // Stubs per partition index (the last entry for keys without a partition);
  // the main thread may swap them while the run goes on.
  std::vector<std::atomic<v1::KV::Stub*>> write_stubs;
  std::vector<std::atomic<v1::KV::Stub*>> read_stubs;
  v1::Maintenance::Stub* echo_stub = nullptr;

  // Results of the phase (valid once it is over).
  Histogram histogram;
  uint64_t ok = 0;
  uint64_t reads = 0;
  uint64_t reads_found = 0;
  std::array<uint64_t, kStatusCodes> errors{};
  int64_t last_measured_done_ns = 0;
  std::atomic<uint64_t> completed{0};

 private:
  void OnDone(const grpc::Status& status);

  Engine* const engine_;
  uint64_t random_;
  std::optional<grpc::ClientContext> context_;
  v1::PutRequest put_;
  v1::PutResponse put_response_;
  v1::GetRequest get_;
  v1::GetResponse get_response_;
  v1::EchoRequest echo_;
  v1::EchoResponse echo_response_;
  std::unique_ptr<grpc::Alarm> pause_;
  int64_t start_ns_ = 0;
  bool is_read_ = false;
  uint32_t partition_ = 0;
};

class Engine final {
 public:
  Engine(const BenchConfig& config, Core* core) : config_(config), core_(core) {}

  absl::Status Prepare();
  // Runs one phase: prefill (every key written once, not measured) or the
  // measured run.
  void RunPhase(bool prefill, std::FILE* progress, BenchResult* result);

  // Called by slots.
  // True when a slot may start another operation; *key_index is its key.
  bool TakeTicket(uint64_t random, uint64_t* key_index) {
    if (stop_.load(std::memory_order_relaxed)) return false;
    if (limit_ > 0) {
      const uint64_t ticket = issued_.fetch_add(1, std::memory_order_relaxed);
      if (ticket >= limit_) return false;
      if (prefill_) {
        *key_index = ticket;
        return true;
      }
    }
    *key_index = random % config_.key_space;
    return true;
  }
  void SlotFinished() {
    if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) phase_done_->Notify();
  }
  void NoteError() { error_count_.fetch_add(1, std::memory_order_relaxed); }
  // An answer for a partition whose leader the routes do not know yet (its
  // calls go through an endpoint, which forwards them) may name the leader;
  // the main loop then re-resolves the routes.
  void NoteAnswer(uint32_t partition, const v1::ResponseHeader& header) {
    if (partition >= leader_known_.size() ||
        leader_known_[partition].load(std::memory_order_relaxed)) {
      return;
    }
    if (core_->router().OnAnswer(partition_ids_[partition], header.leader_id())) {
      leader_learned_.store(true, std::memory_order_relaxed);
    }
  }
  bool Measured(int64_t start_ns) const {
    return start_ns >= measure_from_ns_.load(std::memory_order_relaxed);
  }
  bool IsRead(uint64_t random) const {
    if (prefill_) return false;
    switch (config_.workload) {
      case Workload::kRead:
        return true;
      case Workload::kMixed:
        return (random >> 11) * 0x1.0p-53 < config_.read_fraction;
      default:
        return false;
    }
  }

  const BenchConfig& config() const { return config_; }
  const std::string& key(uint64_t index) const { return keys_[index]; }
  const std::string& value() const { return value_; }
  uint32_t partition_index(uint64_t key_index) const {
    return key_partition_.empty() ? fallback_index_ : key_partition_[key_index];
  }

 private:
  absl::Status ResolveRoutes(bool wait_connected);

  const BenchConfig& config_;
  Core* const core_;
  std::vector<std::string> keys_;
  std::string value_;
  // Per key: index into partition_ids_, or fallback_index_.
  std::vector<uint32_t> key_partition_;
  std::vector<uint64_t> partition_ids_;
  uint32_t fallback_index_ = 0;
  // Per partition index: its routes go to its cached leader.
  std::vector<std::atomic<bool>> leader_known_;
  std::atomic<bool> leader_learned_{false};
  std::vector<std::unique_ptr<Slot>> slots_;

  bool prefill_ = false;
  uint64_t limit_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> issued_{0};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> error_count_{0};
  std::atomic<int64_t> measure_from_ns_{0};
  std::unique_ptr<absl::Notification> phase_done_;
};

Slot::Slot(Engine* engine, int index, uint64_t seed)
    : engine_(engine), random_(Mix(seed ^ Mix(static_cast<uint64_t>(index)))) {
  put_.set_value(engine->value());
  get_.set_serializable(engine->config().serializable);
  echo_.set_payload(engine->value());
}

void Slot::ResetStats() {
  histogram = Histogram();
  ok = reads = reads_found = 0;
  errors.fill(0);
  last_measured_done_ns = 0;
}

void Slot::Next() {
  random_ = Mix(random_);
  uint64_t key_index = 0;
  if (!engine_->TakeTicket(random_, &key_index)) {
    engine_->SlotFinished();
    return;
  }
  is_read_ = engine_->IsRead(random_ * 0x2545f4914f6cdd1dULL);
  context_.emplace();
  context_->set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(engine_->config().op_timeout));
  auto done = [this](grpc::Status status) { OnDone(status); };
  start_ns_ = NowNs();
  if (engine_->config().workload == Workload::kEcho) {
    echo_stub->async()->Echo(&*context_, &echo_, &echo_response_, done);
    return;
  }
  const uint32_t partition = engine_->partition_index(key_index);
  partition_ = partition;
  if (is_read_) {
    get_.set_key(engine_->key(key_index));
    read_stubs[partition]
        .load(std::memory_order_acquire)
        ->async()
        ->Get(&*context_, &get_, &get_response_, done);
  } else {
    put_.set_key(engine_->key(key_index));
    write_stubs[partition]
        .load(std::memory_order_acquire)
        ->async()
        ->Put(&*context_, &put_, &put_response_, done);
  }
}

void Slot::OnDone(const grpc::Status& status) {
  const int64_t end_ns = NowNs();
  const bool measured = engine_->Measured(start_ns_);
  if (measured) last_measured_done_ns = end_ns;
  completed.fetch_add(1, std::memory_order_relaxed);
  if (status.ok()) {
    engine_->NoteAnswer(partition_, is_read_ ? get_response_.header() : put_response_.header());
    if (measured) {
      histogram.Record(static_cast<uint64_t>(end_ns - start_ns_));
      ++ok;
      if (is_read_) {
        ++reads;
        if (get_response_.found()) ++reads_found;
      }
    }
    return Next();
  }
  if (measured) ++errors[std::clamp(static_cast<int>(status.error_code()), 0, kStatusCodes - 1)];
  engine_->NoteError();
  // A failing cluster answers at once; pausing keeps the loop from spinning.
  pause_ = std::make_unique<grpc::Alarm>();
  pause_->Set(
      std::chrono::system_clock::now() + absl::ToChronoNanoseconds(engine_->config().error_pause),
      [this](bool) { Next(); });
}

absl::Status Engine::Prepare() {
  const size_t digits = config_.key_bytes - config_.key_prefix.size();
  keys_.reserve(config_.key_space);
  for (uint64_t i = 0; i < config_.key_space; ++i) {
    keys_.push_back(absl::StrFormat("%s%0*d", config_.key_prefix, static_cast<int>(digits), i));
  }
  uint64_t random = Mix(config_.seed);
  value_.resize(config_.value_bytes);
  for (char& c : value_) {
    random = Mix(random);
    c = static_cast<char>('a' + random % 26);
  }
  if (config_.workload != Workload::kEcho && config_.routing) {
    std::shared_ptr<const client::Topology> topology = core_->router().topology();
    if (topology != nullptr) {
      for (const client::PartitionInfo& p : topology->partitions()) {
        partition_ids_.push_back(p.partition_id);
      }
      fallback_index_ = static_cast<uint32_t>(partition_ids_.size());
      leader_known_ = std::vector<std::atomic<bool>>(partition_ids_.size());
      key_partition_.reserve(keys_.size());
      for (const std::string& key : keys_) {
        const client::PartitionInfo* p = topology->FindByHash(client::KeyHash(key));
        key_partition_.push_back(
            p == nullptr ? fallback_index_
                         : static_cast<uint32_t>(std::find(partition_ids_.begin(),
                                                           partition_ids_.end(), p->partition_id) -
                                                 partition_ids_.begin()));
      }
    }
  }
  for (int i = 0; i < config_.clients; ++i) {
    auto slot = std::make_unique<Slot>(this, i, config_.seed);
    slot->write_stubs = std::vector<std::atomic<v1::KV::Stub*>>(partition_ids_.size() + 1);
    slot->read_stubs = std::vector<std::atomic<v1::KV::Stub*>>(partition_ids_.size() + 1);
    slots_.push_back(std::move(slot));
  }
  return ResolveRoutes(/*wait_connected=*/true);
}

absl::Status Engine::ResolveRoutes(bool wait_connected) {
  const std::vector<std::string>& endpoints = core_->options().endpoints;
  std::shared_ptr<const client::Topology> topology = core_->router().topology();
  const absl::Time now = absl::Now();
  absl::flat_hash_set<std::string> addresses;
  auto stub = [&](const std::string& address, size_t salt) -> absl::StatusOr<client::Connection*> {
    addresses.insert(address);
    return core_->pool().Get(address, salt);
  };
  for (size_t s = 0; s < slots_.size(); ++s) {
    Slot& slot = *slots_[s];
    // Slot s uses endpoint s % E and, on every node, connection s % C.
    const std::string& endpoint = endpoints[s % endpoints.size()];
    absl::StatusOr<client::Connection*> home = stub(endpoint, s);
    if (!home.ok()) return home.status();
    slot.echo_stub = (*home)->maintenance.get();
    for (size_t p = 0; p <= partition_ids_.size(); ++p) {
      std::string leader = endpoint;
      std::string reader = endpoint;
      if (p < partition_ids_.size()) {
        std::optional<std::string> cached = core_->router().CachedLeader(partition_ids_[p]);
        if (cached.has_value()) leader = *cached;
        leader_known_[p].store(cached.has_value(), std::memory_order_relaxed);
        reader = leader;
        const client::PartitionInfo* info =
            topology == nullptr ? nullptr : topology->FindById(partition_ids_[p]);
        if (config_.serializable && info != nullptr && !info->replica_ids.empty()) {
          if (const std::string* address =
                  topology->AddressOf(info->replica_ids[s % info->replica_ids.size()])) {
            reader = *address;
          }
        }
      }
      absl::StatusOr<client::Connection*> writer_connection = stub(leader, s);
      if (!writer_connection.ok()) return writer_connection.status();
      absl::StatusOr<client::Connection*> reader_connection = stub(reader, s);
      if (!reader_connection.ok()) return reader_connection.status();
      slot.write_stubs[p].store((*writer_connection)->kv.get(), std::memory_order_release);
      slot.read_stubs[p].store((*reader_connection)->kv.get(), std::memory_order_release);
    }
  }
  for (const std::string& address : addresses) {
    if (!wait_connected) {
      core_->pool().Warm(address);
      continue;
    }
    absl::Status s = core_->pool().WaitConnected(address, now + core_->options().dial_timeout);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("could not connect to ", address, " within ",
                       absl::FormatDuration(core_->options().dial_timeout)));
    }
  }
  return absl::OkStatus();
}

std::vector<ProcessCpu> ReadCpu(const std::vector<int>& pids) {
  std::vector<ProcessCpu> out;
  for (int pid : pids) out.push_back({pid, ProcessCpuTime(pid)});
  return out;
}

void Engine::RunPhase(bool prefill, std::FILE* progress, BenchResult* result) {
  prefill_ = prefill;
  limit_ = prefill ? config_.key_space : config_.total;
  stop_.store(false);
  issued_.store(0);
  error_count_.store(0);
  active_.store(static_cast<int>(slots_.size()));
  phase_done_ = std::make_unique<absl::Notification>();
  for (auto& slot : slots_) slot->ResetStats();

  const bool warm_first = !prefill && config_.warmup > absl::ZeroDuration();
  std::vector<ProcessCpu> cpu_before = ReadCpu(config_.server_pids);
  absl::StatusOr<absl::Duration> self_before = ProcessCpuTime(getpid());
  int64_t t0 = NowNs();
  measure_from_ns_.store(warm_first ? INT64_MAX : t0);
  const bool timed = !prefill && config_.total == 0;
  int64_t stop_at =
      timed && !warm_first ? t0 + absl::ToInt64Nanoseconds(config_.duration) : INT64_MAX;
  const int64_t warm_until = t0 + absl::ToInt64Nanoseconds(config_.warmup);
  bool warming = warm_first;

  for (auto& slot : slots_) slot->Next();

  int64_t last_progress_ns = t0;
  uint64_t last_completed = 0;
  int64_t last_refresh_ns = t0;
  uint64_t errors_at_refresh = 0;
  while (!phase_done_->WaitForNotificationWithTimeout(kTick)) {
    const int64_t now = NowNs();
    if (warming && now >= warm_until) {
      cpu_before = ReadCpu(config_.server_pids);
      self_before = ProcessCpuTime(getpid());
      t0 = NowNs();
      measure_from_ns_.store(t0);
      stop_at = timed ? t0 + absl::ToInt64Nanoseconds(config_.duration) : INT64_MAX;
      warming = false;
    }
    if (now >= stop_at) stop_.store(true);
    if (progress != nullptr &&
        now - last_progress_ns >= absl::ToInt64Nanoseconds(kProgressInterval)) {
      uint64_t completed = 0;
      for (const auto& slot : slots_) completed += slot->completed.load(std::memory_order_relaxed);
      const double rate = static_cast<double>(completed - last_completed) * 1e9 /
                          static_cast<double>(now - last_progress_ns);
      std::fprintf(progress, "\r%s%6.1fs  %12llu ops  %10.0f ops/s  %8llu errors   ",
                   prefill ? "prefill " : (warming ? "warmup " : ""),
                   static_cast<double>(now - t0) / 1e9, static_cast<unsigned long long>(completed),
                   rate, static_cast<unsigned long long>(error_count_.load()));
      std::fflush(progress);
      last_progress_ns = now;
      last_completed = completed;
    }
    // Errors may mean a leader moved: re-learn the routes, at most once a
    // second. Slots keep running meanwhile.
    const uint64_t errors = error_count_.load(std::memory_order_relaxed);
    if (config_.routing && leader_learned_.exchange(false)) {
      ResolveRoutes(/*wait_connected=*/false).IgnoreError();
    }
    if (config_.routing && errors > errors_at_refresh &&
        now - last_refresh_ns >= absl::ToInt64Nanoseconds(kRouteRefreshInterval)) {
      if (core_->RefreshNow(absl::Now() + absl::Seconds(1)).ok()) {
        ResolveRoutes(/*wait_connected=*/false).IgnoreError();  // keeps the old routes on error
      }
      errors_at_refresh = errors;
      last_refresh_ns = NowNs();
    }
  }
  if (progress != nullptr) {
    std::fprintf(progress, "\r\033[K");
    std::fflush(progress);
  }
  if (prefill) {
    for (const auto& slot : slots_) result->prefilled += slot->ok;
    return;
  }
  int64_t t1 = t0;
  for (const auto& slot : slots_) t1 = std::max(t1, slot->last_measured_done_ns);
  std::vector<ProcessCpu> cpu_after = ReadCpu(config_.server_pids);
  absl::StatusOr<absl::Duration> self_after = ProcessCpuTime(getpid());
  result->elapsed = absl::Nanoseconds(t1 - t0);
  for (const auto& slot : slots_) {
    result->latency.Merge(slot->histogram);
    result->ops += slot->ok;
    result->reads += slot->reads;
    result->reads_found += slot->reads_found;
    for (int code = 0; code < kStatusCodes; ++code) {
      if (slot->errors[code] == 0) continue;
      result->errors += slot->errors[code];
      result->errors_by_code[absl::StatusCodeToString(static_cast<absl::StatusCode>(code))] +=
          slot->errors[code];
    }
  }
  for (size_t i = 0; i < config_.server_pids.size(); ++i) {
    ProcessCpu cpu{config_.server_pids[i], cpu_before[i].cpu};
    if (cpu_before[i].cpu.ok() && cpu_after[i].cpu.ok()) {
      cpu.cpu = *cpu_after[i].cpu - *cpu_before[i].cpu;
    } else if (cpu_before[i].cpu.ok()) {
      cpu.cpu = cpu_after[i].cpu.status();
    }
    result->server_cpu.push_back(std::move(cpu));
  }
  if (self_before.ok() && self_after.ok()) result->bench_cpu = *self_after - *self_before;
}

}  // namespace

absl::StatusOr<Workload> ParseWorkload(absl::string_view text) {
  if (text == "write") return Workload::kWrite;
  if (text == "read") return Workload::kRead;
  if (text == "mixed") return Workload::kMixed;
  if (text == "echo") return Workload::kEcho;
  return absl::InvalidArgumentError(
      absl::StrCat("workload \"", text, "\" is unknown; use write, read, mixed or echo"));
}

const char* WorkloadName(Workload workload) {
  switch (workload) {
    case Workload::kWrite:
      return "write";
    case Workload::kRead:
      return "read";
    case Workload::kMixed:
      return "mixed";
    case Workload::kEcho:
      return "echo";
  }
  return "?";
}

absl::Status BenchConfig::Validate() const {
  if (clients < 1 || clients > kMaxBenchClients) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--clients is %d; it must be in [1, %d]", clients, kMaxBenchClients));
  }
  if (connections < 1 || connections > kMaxBenchConnections) {
    return absl::InvalidArgumentError(absl::StrFormat("--connections is %d; it must be in [1, %d]",
                                                      connections, kMaxBenchConnections));
  }
  if (key_space < 1) return absl::InvalidArgumentError("--key-space must be at least 1");
  const size_t needed = key_prefix.size() + Digits(key_space - 1);
  if (key_bytes < needed || key_bytes > 4096) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--key-size is %d; keys \"%s<number>\" for a key space of %d need %d to 4096 bytes",
        key_bytes, key_prefix, key_space, needed));
  }
  if (key_space * key_bytes > kMaxBenchKeySpaceBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--key-space %d x --key-size %d is %d bytes of keys; the limit is %d",
                        key_space, key_bytes, key_space * key_bytes, kMaxBenchKeySpaceBytes));
  }
  if (value_bytes > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--value-size is %d; the limit is %d", value_bytes, 1 << 20));
  }
  if (total == 0 && duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("give a positive --duration or a --total");
  }
  if (warmup < absl::ZeroDuration()) return absl::InvalidArgumentError("--warmup is negative");
  if (total > 0 && warmup > absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--warmup needs --duration, not --total");
  }
  if (!(read_fraction >= 0.0 && read_fraction <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--read-fraction is %g; it must be in [0, 1]", read_fraction));
  }
  if (serializable && (workload == Workload::kWrite || workload == Workload::kEcho)) {
    return absl::InvalidArgumentError(absl::StrCat("--serializable applies to reads; the ",
                                                   WorkloadName(workload), " workload has none"));
  }
  if (prefill && workload == Workload::kEcho) {
    return absl::InvalidArgumentError("--prefill does not apply to the echo workload");
  }
  if (op_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--op-timeout must be positive");
  }
  for (int pid : server_pids) {
    if (pid <= 0)
      return absl::InvalidArgumentError(absl::StrCat("server pid ", pid, " is invalid"));
  }
  return absl::OkStatus();
}

absl::StatusOr<BenchResult> RunBench(const BenchConfig& config, const client::Options& options,
                                     std::FILE* progress) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  client::Options bench_options = options;
  bench_options.connections_per_endpoint = config.connections;
  bench_options.route_to_leader = config.routing && config.workload != Workload::kEcho;
  if (absl::Status s = bench_options.Validate(); !s.ok()) return s;
  Core core(bench_options);
  if (bench_options.route_to_leader) {
    absl::Status s = core.RefreshNow(absl::Now() + bench_options.dial_timeout);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("learning the cluster: ", s.message(),
                                                 " (--routing off skips it)"));
    }
  }
  BenchResult result;
  result.config = config;
  {
    Engine engine(config, &core);
    if (absl::Status s = engine.Prepare(); !s.ok()) return s;
    if (config.prefill) engine.RunPhase(/*prefill=*/true, progress, &result);
    engine.RunPhase(/*prefill=*/false, progress, &result);
  }
  return result;
}

}  // namespace rkv::cli
