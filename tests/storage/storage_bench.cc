// storage_bench: throughput figures of the storage layer next to raw RocksDB
// doing the same bytes with the same options, measured by the same program.
// A program that prints figures, not a test (STYLE §3: no timed asserts).
//
//  1. Group commit: synced log appends per second with 1, 16 and 256
//     partitions appending together, one 256-byte entry per partition per
//     LogBatch (one synced write), next to raw synced WriteBatches carrying
//     the same keys and record bytes. Aim: ratio >= 0.8.
//  2. Apply: 256-byte Puts applied per second (StateMachine::Apply, batches of
//     256 entries), next to raw WriteBatches of the same keys and values
//     without a WAL record, as Apply writes them. Aim: ratio >= 0.7.
//  3. Column families with N partitions: K staging column families made one
//     after the other (as K snapshot installs do), then K partitions dropped
//     at once (replicas removed); the time each step takes and the longest
//     synced log append of another partition meanwhile, since RocksDB holds
//     back every write while it rewrites its OPTIONS file.
//
//   storage_bench [--dir <dir>] [--seconds <per run>] [--repeat <runs>]
//                 [--partitions <n>: only this count, 0: skip part 1] [--apply 0: skip part 2]
//                 [--drop-partitions <N>, 0: skip part 3 (default 1024)] [--drops <K> (16)]
//
// Runs of ours and raw alternate; each figure is the median of the runs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "rkv/internal/command.pb.h"
#include "storage/engine.h"
#include "storage/keys.h"
#include "storage/log_batch.h"
#include "storage/log_codec.h"
#include "storage/raft_log_store.h"
#include "storage/rocks_options.h"
#include "storage/slice.h"
#include "storage/state_machine.h"
#include "tests/util/wait_for.h"

namespace rkv::storage {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kEntryBytes = 256;
constexpr size_t kApplyBatchEntries = 256;
constexpr uint64_t kApplyKeySpace = 1 << 20;

struct Flags {
  std::string dir;
  double seconds = 3;
  int repeat = 3;
  std::vector<uint64_t> partitions = {1, 16, 256};
  bool apply = true;
  uint64_t drop_partitions = 1024;
  uint64_t drops = 16;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Runs ours and raw in turn, flags.repeat times each; their medians.
std::pair<double, double> AlternatingMedians(const Flags& flags,
                                             const std::function<double(int)>& ours,
                                             const std::function<double(int)>& raw) {
  std::vector<double> ours_rates;
  std::vector<double> raw_rates;
  for (int run = 0; run < flags.repeat; ++run) {
    ours_rates.push_back(ours(run));
    raw_rates.push_back(raw(run));
  }
  return {Median(ours_rates), Median(raw_rates)};
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A raw RocksDB with the engine's database options and one column family of
// the given options: what "plain RocksDB" does with the same tuning.
class RawDb {
 public:
  RawDb(const std::string& dir, const rocksdb::ColumnFamilyOptions& cf_options) {
    EngineOptions options;
    options.dir = dir;
    shared_ = MakeSharedResources(options);
    rocksdb::DBOptions db_options = MakeDbOptions(options, shared_);
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"data", cf_options}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    RKV_CHECK(rocksdb::DB::Open(db_options, dir, descriptors, &handles, &db_).ok());
    default_ = handles[0];
    cf_ = handles[1];
  }
  ~RawDb() {
    db_->DestroyColumnFamilyHandle(cf_);
    db_->DestroyColumnFamilyHandle(default_);
    delete db_;
  }
  // The two ways rkv writes: synced log appends (WAL, fdatasync), and
  // state-machine applies with no WAL record at all.
  void Write(rocksdb::WriteBatch* batch, bool synced) {
    rocksdb::WriteOptions options;
    options.sync = synced;
    options.disableWAL = !synced;
    RKV_CHECK(db_->Write(options, batch).ok());
  }
  rocksdb::ColumnFamilyHandle* cf() const { return cf_; }

 private:
  SharedResources shared_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
};

void RemoveDir(const std::string& dir) {
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  RKV_CHECK_MSG(!error, dir + ": " + error.message());
}

std::string FreshDir(const Flags& flags, const std::string& name) {
  std::string dir = absl::StrCat(flags.dir, "/", name);
  RemoveDir(dir);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  RKV_CHECK_MSG(!error, dir + ": " + error.message());
  return dir;
}

// --- 1. group commit ---

double OurAppends(const Flags& flags, uint64_t partitions, int run) {
  std::string dir = FreshDir(flags, absl::StrCat("ours-", partitions, "-", run));
  auto engine = Engine::Open(EngineOptions{.dir = dir});
  RKV_CHECK_OK(engine.status());
  std::vector<std::unique_ptr<RaftLogStore>> logs;
  for (uint64_t p = 1; p <= partitions; ++p) {
    RKV_CHECK_OK((*engine)->CreatePartition(p, {}));
    auto log = RaftLogStore::Open(engine->get(), p, LogLimits());
    RKV_CHECK_OK(log.status());
    logs.push_back(*std::move(log));
  }
  LogBatch batch(engine->get(), LogLimits());
  raft::HardState hard_state;
  hard_state.set_term(1);
  for (auto& log : logs) RKV_CHECK_OK(batch.SetHardState(log.get(), hard_state));
  RKV_CHECK_OK(batch.Commit());
  const std::string data(kEntryBytes, 'x');
  std::vector<raft::Entry> entry(1);
  entry[0].set_term(1);
  entry[0].set_data(data);
  uint64_t appended = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(flags.seconds);
  auto now = start;
  while (now < end) {
    for (auto& log : logs) {
      entry[0].set_index(log->LastIndex() + 1);
      RKV_CHECK_OK(batch.Append(log.get(), entry));
    }
    RKV_CHECK_OK(batch.Commit());
    appended += partitions;
    now = Clock::now();
  }
  double seconds = std::chrono::duration<double>(now - start).count();
  logs.clear();
  engine->reset();
  RemoveDir(dir);
  return appended / seconds;
}

double RawAppends(const Flags& flags, uint64_t partitions, int run) {
  std::string dir = FreshDir(flags, absl::StrCat("raw-", partitions, "-", run));
  EngineOptions options{.dir = dir};
  SharedResources shared = MakeSharedResources(options);
  auto raw_db = std::make_unique<RawDb>(dir, MakeRaftCfOptions(options, shared));
  RawDb& raw = *raw_db;
  // The same bytes the log writes: its keys, and values the size of its
  // encoded entry records.
  raft::Entry sample;
  sample.set_term(1);
  sample.set_index(1000000);
  sample.set_data(std::string(kEntryBytes, 'x'));
  const std::string value(EncodeEntryRecord(1, sample).size(), 'x');
  std::vector<uint64_t> last(partitions + 1, 0);
  rocksdb::WriteBatch batch;
  uint64_t appended = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(flags.seconds);
  auto now = start;
  while (now < end) {
    batch.Clear();
    for (uint64_t p = 1; p <= partitions; ++p) {
      auto key = keys::LogEntryKey(p, ++last[p]);
      RKV_CHECK(batch.Put(raw.cf(), ToSlice(key.view()), value).ok());
    }
    raw.Write(&batch, /*synced=*/true);
    appended += partitions;
    now = Clock::now();
  }
  double seconds = std::chrono::duration<double>(now - start).count();
  raw_db.reset();
  RemoveDir(dir);
  return appended / seconds;
}

// --- 2. apply ---

struct ApplyWorkload {
  std::vector<std::vector<raft::Entry>> batches;  // ours
  std::vector<std::string> keys;                  // raw, the same keys
  std::string value;
};

ApplyWorkload MakeApplyWorkload(uint64_t puts) {
  ApplyWorkload workload;
  workload.value = std::string(kEntryBytes, 'v');
  uint64_t index = 0;
  for (uint64_t i = 0; i < puts; i += kApplyBatchEntries) {
    std::vector<raft::Entry>& batch = workload.batches.emplace_back();
    for (size_t j = 0; j < kApplyBatchEntries; ++j) {
      ++index;
      std::string key = absl::StrCat("key-", Mix(index) % kApplyKeySpace);
      key.resize(16, '.');
      rkv::internal::Command command;
      command.mutable_put()->set_key(key);
      command.mutable_put()->set_value(workload.value);
      raft::Entry& entry = batch.emplace_back();
      entry.set_index(index);
      entry.set_term(1);
      entry.set_data(command.SerializeAsString());
      workload.keys.push_back(std::move(key));
    }
  }
  return workload;
}

double OurApplies(const Flags& flags, const ApplyWorkload& workload, int run) {
  std::string dir = FreshDir(flags, absl::StrCat("ours-apply-", run));
  auto engine = Engine::Open(EngineOptions{.dir = dir});
  RKV_CHECK_OK(engine.status());
  RKV_CHECK_OK((*engine)->CreatePartition(1, {}));
  auto machine = StateMachine::Open(engine->get(), 1, StateMachineLimits());
  RKV_CHECK_OK(machine.status());
  uint64_t applied = 0;
  const auto start = Clock::now();
  for (const auto& batch : workload.batches) {
    auto results = (*machine)->Apply(batch, {});
    RKV_CHECK_OK(results.status());
    applied += batch.size();
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  machine->reset();
  engine->reset();
  RemoveDir(dir);
  return applied / seconds;
}

double RawApplies(const Flags& flags, const ApplyWorkload& workload, int run) {
  std::string dir = FreshDir(flags, absl::StrCat("raw-apply-", run));
  EngineOptions options{.dir = dir};
  SharedResources shared = MakeSharedResources(options);
  auto raw_db = std::make_unique<RawDb>(dir, MakePartitionCfOptions(options, shared));
  RawDb& raw = *raw_db;
  rocksdb::WriteBatch batch;
  uint64_t written = 0;
  const auto start = Clock::now();
  for (size_t i = 0; i < workload.keys.size(); i += kApplyBatchEntries) {
    batch.Clear();
    for (size_t j = i; j < i + kApplyBatchEntries && j < workload.keys.size(); ++j) {
      RKV_CHECK(batch.Put(raw.cf(), workload.keys[j], workload.value).ok());
      ++written;
    }
    raw.Write(&batch, /*synced=*/false);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  raw_db.reset();
  RemoveDir(dir);
  return written / seconds;
}

void Applies(const Flags& flags) {
  const uint64_t puts = static_cast<uint64_t>(200000 * flags.seconds);
  ApplyWorkload workload = MakeApplyWorkload(puts);
  std::printf("\n2. apply of %zu-byte Puts, %zu entries per Apply, %zu keys over a space of "
              "%llu (writes without a WAL record)\n",
              kEntryBytes, kApplyBatchEntries, workload.keys.size(),
              static_cast<unsigned long long>(kApplyKeySpace));
  const auto [ours_rate, raw_rate] =
      AlternatingMedians(flags, [&](int run) { return OurApplies(flags, workload, run); },
                         [&](int run) { return RawApplies(flags, workload, run); });
  std::printf("%16s %16s %8s\n", "ours puts/s", "raw puts/s", "ratio");
  std::printf("%16.0f %16.0f %8.2f\n", ours_rate, raw_rate, ours_rate / raw_rate);
  std::fflush(stdout);
}

// --- 3. column-family drops ---

struct DropFigures {
  double create_seconds = 0;     // K staging column families, one call each
  double drop_seconds = 0;       // from the first drop until every one is done
  double longest_append_ms = 0;  // synced append of a partition not dropped
  uint64_t appends = 0;
};

DropFigures Drops(const Flags& flags) {
  std::string dir = FreshDir(flags, "drops");
  auto engine = Engine::Open(EngineOptions{.dir = dir});
  RKV_CHECK_OK(engine.status());
  std::vector<std::pair<uint64_t, raft::ConfState>> partitions;
  for (uint64_t p = 1; p <= flags.drop_partitions; ++p) partitions.emplace_back(p, raft::ConfState());
  RKV_CHECK_OK((*engine)->CreatePartitions(partitions));
  auto log = RaftLogStore::Open(engine->get(), 1, LogLimits());
  RKV_CHECK_OK(log.status());

  std::atomic<bool> stop{false};
  DropFigures figures;
  std::thread appender([&] {
    LogBatch batch(engine->get(), LogLimits());
    raft::HardState hard_state;
    hard_state.set_term(1);
    RKV_CHECK_OK(batch.SetHardState(log->get(), hard_state));
    RKV_CHECK_OK(batch.Commit());
    const std::string data(kEntryBytes, 'x');
    std::vector<raft::Entry> entry(1);
    entry[0].set_term(1);
    entry[0].set_data(data);
    while (!stop.load()) {
      entry[0].set_index((*log)->LastIndex() + 1);
      RKV_CHECK_OK(batch.Append(log->get(), entry));
      const auto start = Clock::now();
      RKV_CHECK_OK(batch.Commit());
      figures.longest_append_ms = std::max(
          figures.longest_append_ms,
          std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      ++figures.appends;
    }
  });
  const uint64_t last = std::min(flags.drop_partitions, flags.drops + 1);
  auto start = Clock::now();
  for (uint64_t p = 2; p <= last; ++p) {
    auto staged = (*engine)->CreateStagingCf(p);
    RKV_CHECK_OK(staged.status());
    (*engine)->DiscardStagingCf(*staged);
  }
  figures.create_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  auto await_drops = [&] {
    RKV_CHECK_MSG(rkv::testing::WaitFor([&] { return (*engine)->outstanding_drop_count() == 0; },
                                        absl::Minutes(10), absl::Milliseconds(1)),
                  "column-family drops still outstanding after 10 minutes");
  };
  await_drops();
  start = Clock::now();
  for (uint64_t p = 2; p <= last; ++p) RKV_CHECK_OK((*engine)->DropPartition(p));
  await_drops();
  figures.drop_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop.store(true);
  appender.join();
  log->reset();
  engine->reset();
  RemoveDir(dir);
  return figures;
}

int Main(const Flags& flags) {
  std::printf("storage_bench: dir %s, %.1f s per run, median of %d runs\n", flags.dir.c_str(),
              flags.seconds, flags.repeat);
  std::printf("\n1. synced log appends (group commit), %zu-byte entries, one entry per "
              "partition per synced write\n",
              kEntryBytes);
  std::printf("%10s %16s %16s %8s %14s\n", "partitions", "ours entries/s", "raw entries/s",
              "ratio", "ours writes/s");
  for (uint64_t partitions : flags.partitions) {
    const auto [ours_rate, raw_rate] =
        AlternatingMedians(flags, [&](int run) { return OurAppends(flags, partitions, run); },
                           [&](int run) { return RawAppends(flags, partitions, run); });
    std::printf("%10llu %16.0f %16.0f %8.2f %14.0f\n",
                static_cast<unsigned long long>(partitions), ours_rate, raw_rate,
                ours_rate / raw_rate, ours_rate / partitions);
    std::fflush(stdout);
  }

  if (flags.apply) Applies(flags);
  if (flags.drop_partitions > 1 && flags.drops > 0) {
    std::printf("\n3. among %llu partitions, %llu staging column families made one by one, then "
                "%llu partitions dropped at once, while another partition appends (synced)\n",
                static_cast<unsigned long long>(flags.drop_partitions),
                static_cast<unsigned long long>(std::min(flags.drops, flags.drop_partitions - 1)),
                static_cast<unsigned long long>(std::min(flags.drops, flags.drop_partitions - 1)));
    DropFigures figures = Drops(flags);
    std::printf("%16s %16s %20s %12s\n", "all made, s", "all dropped, s", "longest append, ms",
                "appends");
    std::printf("%16.2f %16.2f %20.1f %12llu\n", figures.create_seconds, figures.drop_seconds,
                figures.longest_append_ms, static_cast<unsigned long long>(figures.appends));
  }
  return 0;
}


}  // namespace
}  // namespace rkv::storage

int main(int argc, char** argv) {
  rkv::storage::Flags flags;
  const char* tmp = std::getenv("TMPDIR");
  flags.dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/rkv-storage-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dir") {
      flags.dir = argv[i + 1];
    } else if (flag == "--seconds") {
      flags.seconds = std::strtod(argv[i + 1], nullptr);
    } else if (flag == "--repeat") {
      flags.repeat = std::atoi(argv[i + 1]);
    } else if (flag == "--partitions") {
      uint64_t partitions = std::strtoull(argv[i + 1], nullptr, 10);
      flags.partitions.clear();
      if (partitions > 0) flags.partitions.push_back(partitions);
    } else if (flag == "--apply") {
      flags.apply = std::string(argv[i + 1]) != "0";
    } else if (flag == "--drop-partitions") {
      flags.drop_partitions = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (flag == "--drops") {
      flags.drops = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 1;
    }
  }
  if (flags.seconds <= 0 || flags.repeat <= 0) {
    std::fprintf(stderr, "--seconds and --repeat must be positive\n");
    return 1;
  }
  std::error_code error;
  std::filesystem::create_directories(flags.dir, error);
  if (error) {
    std::fprintf(stderr, "cannot create %s: %s\n", flags.dir.c_str(), error.message().c_str());
    return 1;
  }
  int rc = rkv::storage::Main(flags);
  std::filesystem::remove_all(flags.dir, error);
  return rc;
}
