// Observability tests (DESIGN §6): /metrics, /readyz and /sd on real rkvd
// processes, and a real Prometheus from Debian's package scraping them.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/partitioner.h"
#include "tests/integration/local_cluster.h"
#include "tests/util/free_port.h"
#include "tests/util/http_get.h"
#include "tests/util/scrape.h"
#include "tests/util/wait_for.h"

extern char** environ;

namespace rkv::testing {
namespace {

class MetricsTest : public ::testing::Test {
 protected:
  explicit MetricsTest(const LocalClusterOptions& options = {}) : cluster_(options) {}
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start()) << cluster_.DumpLogs();
    ASSERT_TRUE(cluster_.WaitForLeaders()) << cluster_.DumpLogs();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_.DumpLogs();
  }
  grpc::Status Put(uint64_t via, const std::string& key, const std::string& value) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    v1::PutResponse response;
    return cluster_.Kv(via).Put(&context, request, &response);
  }
  // A linearizable read of key on node `via`; its value, or the error.
  absl::StatusOr<std::string> Get(uint64_t via, const std::string& key) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::GetRequest request;
    request.set_key(key);
    v1::GetResponse response;
    const grpc::Status status = cluster_.Kv(via).Get(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    }
    return response.kv().value();
  }
  int PutMany(uint64_t via, int count, const std::string& prefix) {
    int ok = 0;
    for (int i = 0; i < count; ++i) {
      if (Put(via, absl::StrCat(prefix, i), "v").ok()) ++ok;
    }
    return ok;
  }
  // A key, named prefix + a number, whose partition node `leader` leads;
  // sets `partition` to it.
  std::string KeyLedBy(uint64_t leader, const std::string& prefix, uint64_t* partition) {
    server::Partitioner partitioner(cluster_.partitions());
    for (int i = 0;; ++i) {
      std::string key = absl::StrCat(prefix, i);
      *partition = partitioner.PartitionOf(key);
      if (cluster_.LeaderOf(*partition, leader) == leader) return key;
    }
  }
  LocalCluster cluster_;
};

// Heartbeats every 10 ticks of 50 ms, so an unanswered ReadIndex round holds
// the next back for 11 ticks (550 ms).
class ReadRoundsTest : public MetricsTest {
 protected:
  static constexpr absl::Duration kRetryInterval = absl::Milliseconds(550);
  static LocalClusterOptions SlowHeartbeats() {
    LocalClusterOptions options;
    // Without read leases: a lease taken before the followers stop would
    // answer reads with no round at all.
    options.extra_flags = {"--heartbeat-ticks=10", "--election-ticks=40", "--read-lease=false"};
    return options;
  }
  ReadRoundsTest() : MetricsTest(SlowHeartbeats()) {}
};

// The series of issue #5 exist on every node with sane values, and request
// counters count exactly the requests sent.
TEST_F(MetricsTest, SeriesExistAndCountTheWorkload) {
  const auto before = Scrape(cluster_.MetricsAddress(1));
  constexpr int kPuts = 40;
  ASSERT_EQ(PutMany(1, kPuts, "m"), kPuts);
  for (uint64_t id : cluster_.ids()) {
    std::map<std::string, double> m;
    // Gauges are published as each pass runs; wait for the workload to show.
    ASSERT_TRUE(WaitFor(
        [&] {
          m = Scrape(cluster_.MetricsAddress(id));
          return Sum(m, "rkv_raft_applied_index") > Sum(before, "rkv_raft_applied_index") + kPuts - 1;
        },
        absl::Seconds(10)))
        << "node " << id;
    for (const char* name :
         {"rkv_raft_has_leader", "rkv_raft_is_leader", "rkv_raft_term", "rkv_raft_commit_index",
          "rkv_raft_applied_index", "rkv_raft_leader_changes_total", "rkv_proposals_applied_total",
          "rkv_proposals_pending", "rkv_log_fsync_duration_seconds_count", "rkv_group_commit_partitions_count",
          "rkv_apply_duration_seconds_count", "rkv_peer_sent_bytes_total", "rkv_peer_received_messages_total",
          "rkv_peer_round_trip_seconds_count", "rkv_storage_size_bytes", "rkv_storage_live_keys_estimate",
          "rkv_storage_block_cache_usage_bytes", "rkv_storage_row_cache_lookups_total", "rkv_member_info",
          "rkv_snapshots_sent_total"}) {
      bool present = false;
      for (const auto& [series, value] : m) present |= series.rfind(std::string(name), 0) == 0;
      EXPECT_TRUE(present) << name << " missing on node " << id;
    }
    // Every hosted partition (all 5 here) has a leader, and exactly one
    // replica of each leads it across the cluster (checked below).
    EXPECT_EQ(Sum(m, "rkv_raft_has_leader"), 5) << "node " << id;
    EXPECT_EQ(Sum(m, "rkv_member_info"), 3) << "node " << id;
    EXPECT_GT(Sum(m, "rkv_log_fsync_duration_seconds_count"), 0) << "node " << id;
  }
  double leaders = 0;
  for (uint64_t id : cluster_.ids()) leaders += Sum(Scrape(cluster_.MetricsAddress(id)), "rkv_raft_is_leader");
  EXPECT_EQ(leaders, 5);
  // Node 1 served exactly kPuts client Puts (forwarded ones are counted by
  // the leaders they reach, not again by node 1).
  const auto after = Scrape(cluster_.MetricsAddress(1));
  EXPECT_EQ(Sum(after, "rkv_grpc_requests_total", {"method=\"/rkv.v1.KV/Put\"", "code=\"OK\""}) -
                Sum(before, "rkv_grpc_requests_total", {"method=\"/rkv.v1.KV/Put\"", "code=\"OK\""}),
            kPuts);
  // A rejected request is counted under its code.
  grpc::ClientContext context;
  v1::PutResponse response;
  ASSERT_EQ(cluster_.Kv(1).Put(&context, v1::PutRequest(), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Sum(Scrape(cluster_.MetricsAddress(1)), "rkv_grpc_requests_total",
                {"method=\"/rkv.v1.KV/Put\"", "code=\"INVALID_ARGUMENT\""}),
            1);
}

// Point reads of one key: the first reads RocksDB (a miss), the next ones
// come from the row cache (hits), and a write in between sends the next read
// back to RocksDB, which finds the new value. Besides these Gets, only the
// apply thread's reads look up node 1's row cache: those of the Txn that
// records the cluster layout once at start-up. So once the counters stop
// moving, they move by exactly the Gets sent.
TEST_F(MetricsTest, RowCacheLookupsCountHitsAndMisses) {
  auto put = [&](const std::string& value) {
    grpc::ClientContext context;
    v1::PutRequest request;
    request.set_key("row-cache-key");
    request.set_value(value);
    v1::PutResponse response;
    ASSERT_TRUE(cluster_.Kv(1).Put(&context, request, &response).ok());
  };
  double hits = 0, misses = 0;
  auto scrape = [&] {
    const auto m = Scrape(cluster_.MetricsAddress(1));
    hits = Sum(m, "rkv_storage_row_cache_lookups_total", {"result=\"hit\""});
    misses = Sum(m, "rkv_storage_row_cache_lookups_total", {"result=\"miss\""});
  };
  // Quiet: the layout Txn's read counted, and the totals unchanged for
  // 2.5 s, more than two publications.
  double last_total = -1;
  absl::Time last_change = absl::Now();
  ASSERT_TRUE(WaitFor(
      [&] {
        scrape();
        if (hits + misses != last_total) {
          last_total = hits + misses;
          last_change = absl::Now();
        }
        return last_total >= 1 && absl::Now() - last_change >= absl::Milliseconds(2500);
      },
      absl::Seconds(30)));
  int gets = static_cast<int>(last_total);
  auto get = [&] {
    grpc::ClientContext context;
    v1::GetRequest request;
    request.set_key("row-cache-key");
    request.set_serializable(true);  // answered by node 1 itself
    v1::GetResponse response;
    EXPECT_TRUE(cluster_.Kv(1).Get(&context, request, &response).ok());
    ++gets;
    return response.kv().value();
  };
  // The counters are published once a second.
  auto published = [&] {
    return WaitFor(
        [&] {
          scrape();
          return hits + misses == gets;
        },
        absl::Seconds(20));
  };
  put("one");
  // Node 1 may apply the put after the leader answered: read until it has.
  ASSERT_TRUE(WaitFor([&] { return get() == "one"; }, absl::Seconds(10)));
  ASSERT_TRUE(published()) << hits << " + " << misses << " != " << gets;
  const double hits_before = hits, misses_before = misses;
  EXPECT_GE(misses, 1);
  EXPECT_EQ(get(), "one");
  EXPECT_EQ(get(), "one");
  ASSERT_TRUE(published()) << hits << " + " << misses << " != " << gets;
  EXPECT_EQ(hits, hits_before + 2);
  EXPECT_EQ(misses, misses_before);
  put("two");
  ASSERT_TRUE(WaitFor([&] { return get() == "two"; }, absl::Seconds(10)));
  ASSERT_TRUE(published()) << hits << " + " << misses << " != " << gets;
  EXPECT_GE(misses, misses_before + 1);
}

// /readyz goes not-ready when the node is cut off from its peers (SIGSTOP
// them) and ready again once they resume; /healthz stays ok.
TEST_F(MetricsTest, ReadyzFollowsReachabilityOfTheQuorum) {
  const std::string node1 = cluster_.MetricsAddress(1);
  EXPECT_EQ(HttpGet(node1, "/readyz")->status, 200);
  cluster_.Signal(2, SIGSTOP);
  cluster_.Signal(3, SIGSTOP);
  EXPECT_TRUE(WaitFor([&] { return HttpGet(node1, "/readyz")->status == 503; }, absl::Seconds(10)));
  std::optional<HttpResponse> unready = HttpGet(node1, "/readyz");
  EXPECT_NE(unready->body.find("has no leader"), std::string::npos) << unready->body;
  EXPECT_EQ(HttpGet(node1, "/healthz")->status, 200);
  cluster_.Signal(2, SIGCONT);
  cluster_.Signal(3, SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return HttpGet(node1, "/readyz")->status == 200; }, absl::Seconds(15)));
}

// Linearizable reads share ReadIndex rounds: while a round is unanswered
// (both followers stopped) the reads arriving meanwhile wait for it instead
// of each starting its own, so rounds grow with time (one retry per
// heartbeat interval plus a tick), not with the number of reads.
TEST_F(ReadRoundsTest, ReadsWaitingForAnUnansweredRoundDoNotStartMoreRounds) {
  uint64_t partition = 0;
  const std::string key = KeyLedBy(1, "round-", &partition);
  const std::string node1 = cluster_.MetricsAddress(1);
  const std::vector<std::string> of_partition = {absl::StrCat("partition=\"", partition, "\"")};
  const double before = Sum(Scrape(node1), "rkv_read_index_rounds_total", of_partition);
  cluster_.Signal(2, SIGSTOP);
  cluster_.Signal(3, SIGSTOP);
  constexpr int kReads = 60;
  const absl::Time start = absl::Now();
  std::atomic<int> answered{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < kReads; ++i) {
    readers.emplace_back([&] {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
      v1::GetRequest request;
      request.set_key(key);
      v1::GetResponse response;
      if (cluster_.Kv(1).Get(&context, request, &response).ok()) ++answered;
    });
  }
  for (std::thread& t : readers) t.join();
  const absl::Duration elapsed = absl::Now() - start;
  const double rounds = Sum(Scrape(node1), "rkv_read_index_rounds_total", of_partition) - before;
  cluster_.Signal(2, SIGCONT);
  cluster_.Signal(3, SIGCONT);
  std::cout << "[ measured ] " << kReads << " reads with no quorum took " << rounds << " ReadIndex rounds in "
            << absl::ToInt64Milliseconds(elapsed) << " ms\n";
  EXPECT_EQ(answered.load(), 0);  // no quorum confirmed the leader
  EXPECT_GE(rounds, 1);
  // The first round, one per retry interval, and one after each of the two
  // deadline ticks that can end a round early (the reads' deadlines span at
  // most two ticks).
  EXPECT_LE(rounds, 3 + std::floor(elapsed / kRetryInterval));
}

// With a read lease (the default), a leader answers a stream of
// linearizable reads with a renewal round every half lease, not a round per
// read; without one, each read in turn takes its own round.
class ReadLeaseRoundsTest : public MetricsTest, public ::testing::WithParamInterface<bool> {
 protected:
  static LocalClusterOptions WithLease(bool lease) {
    LocalClusterOptions options;
    options.extra_flags = {absl::StrCat("--read-lease=", lease ? "true" : "false")};
    return options;
  }
  ReadLeaseRoundsTest() : MetricsTest(WithLease(GetParam())) {}
};

TEST_P(ReadLeaseRoundsTest, ReadsOneAfterAnotherTakeRoundsOnlyWithoutALease) {
  const bool lease = GetParam();
  uint64_t partition = 0;
  const std::string key = KeyLedBy(1, "lease-", &partition);
  ASSERT_TRUE(Put(1, key, "v").ok());
  const std::string node1 = cluster_.MetricsAddress(1);
  const std::vector<std::string> of_partition = {absl::StrCat("partition=\"", partition, "\"")};
  const double before = Sum(Scrape(node1), "rkv_read_index_rounds_total", of_partition);
  constexpr int kReads = 300;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kReads; ++i) {
    absl::StatusOr<std::string> value = Get(1, key);
    ASSERT_TRUE(value.ok()) << value.status();
    ASSERT_EQ(*value, "v");
  }
  const absl::Duration elapsed = absl::Now() - start;
  const double rounds = Sum(Scrape(node1), "rkv_read_index_rounds_total", of_partition) - before;
  std::cout << "[ measured ] " << kReads << " linearizable reads one after another "
            << (lease ? "with" : "without") << " a read lease took " << rounds << " ReadIndex rounds in "
            << absl::ToInt64Milliseconds(elapsed) << " ms\n";
  if (lease) {
    // The tests' 50 ms tick and 10-tick election timeout give a 360 ms
    // lease, renewed once under 180 ms remain and at most every 100 ms.
    EXPECT_LE(rounds, 2 + std::floor(elapsed / absl::Milliseconds(100)));
    EXPECT_LT(rounds, kReads / 10);
  } else {
    EXPECT_GE(rounds, kReads);
  }
}

// A follower's linearizable read asks the leader for a read index; a leader
// holding its lease answers at once, without a round of heartbeats. Each read
// follows a write acknowledged by the leader and must see it.
TEST_P(ReadLeaseRoundsTest, LeaderAnswersFollowerReadsFromItsLeaseOnlyWithALease) {
  const bool lease = GetParam();
  uint64_t partition = 0;
  const std::string key = KeyLedBy(1, "follower-read-", &partition);
  const std::string node1 = cluster_.MetricsAddress(1);
  const std::vector<std::string> of_partition = {absl::StrCat("partition=\"", partition, "\"")};
  // A read on the leader takes the round that starts its lease (when it has
  // one); the follower reads below keep it renewed.
  ASSERT_TRUE(Get(1, key).ok());
  const double before = Sum(Scrape(node1), "rkv_read_index_lease_answers_total", of_partition);
  constexpr int kReads = 100;
  for (int i = 0; i < kReads; ++i) {
    const std::string value = absl::StrCat("v", i);
    ASSERT_TRUE(Put(1, key, value).ok());
    absl::StatusOr<std::string> read = Get(2, key);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_EQ(*read, value) << "read " << i << " on a follower missed the write before it";
  }
  const double answers = Sum(Scrape(node1), "rkv_read_index_lease_answers_total", of_partition) - before;
  std::cout << "[ measured ] " << kReads << " follower reads " << (lease ? "with" : "without")
            << " a read lease: the leader answered " << answers << " from its lease\n";
  if (lease) {
    // The lease is renewed while under half of it is left, so only a stall
    // of the leader longer than that lets it lapse and makes reads take rounds.
    EXPECT_GE(answers, kReads * 0.8);
  } else {
    EXPECT_EQ(answers, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(LeaseOnAndOff, ReadLeaseRoundsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "WithLease" : "WithoutLease";
                         });

TEST_F(MetricsTest, ServiceDiscoveryListsEveryMember) {
  for (uint64_t id : cluster_.ids()) {
    std::optional<HttpResponse> sd = HttpGet(cluster_.MetricsAddress(id), "/sd");
    ASSERT_TRUE(sd.has_value());
    EXPECT_EQ(sd->status, 200);
    for (uint64_t member : cluster_.ids()) {
      EXPECT_NE(sd->body.find(absl::StrCat("\"", cluster_.MetricsAddress(member), "\"")), std::string::npos)
          << sd->body;
      EXPECT_NE(sd->body.find(absl::StrCat("\"rkv_member_id\":\"", member, "\"")), std::string::npos);
    }
  }
}

// A real Prometheus (Debian's package, which `make test` installs) scrapes
// the cluster through deploy/prometheus.yml's discovery and sees every node
// up and every partition with a leader.
TEST_F(MetricsTest, RealPrometheusDiscoversAndScrapesTheCluster) {
  const std::string prometheus = "/usr/bin/prometheus";
  if (access(prometheus.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "Debian's prometheus package is not installed (deploy/install-deps.sh installs "
                    "it); skipping the real-Prometheus check";
  }
  // deploy/prometheus.yml with this cluster's /sd URLs instead of the local
  // cluster's fixed ports.
  std::ifstream in(std::string(RKV_SOURCE_DIR) + "/deploy/prometheus.yml");
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  std::vector<std::pair<std::string, std::string>> replacements = {
      {"refresh_interval: 15s", "refresh_interval: 1s"},
      {"  - alerts.yml", absl::StrCat("  - ", RKV_SOURCE_DIR, "/deploy/alerts.yml")}};
  for (int i = 1; i <= 3; ++i) {
    replacements.emplace_back(absl::StrCat("127.0.0.1:910", i), cluster_.MetricsAddress(i));
  }
  config = absl::StrReplaceAll(config, replacements);
  TempDir dir;
  const std::string config_path = dir.Sub("prometheus.yml");
  std::ofstream(config_path) << config;
  const std::string web = absl::StrCat("127.0.0.1:", FreePort());
  std::vector<std::string> args = {prometheus, "--config.file=" + config_path,
                                   "--storage.tsdb.path=" + dir.Sub("data"), "--web.listen-address=" + web};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = dir.Sub("prometheus.log");
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  auto query = [&](const std::string& q) {
    std::optional<HttpResponse> r = HttpGet(web, "/api/v1/query?query=" + q);
    return r ? r->body : std::string();
  };
  // up == 1 for all three nodes, found through /sd.
  const bool all_up = WaitFor(
      [&] {
        const std::string body = query("count(up%7Bjob%3D%22rkv%22%7D%3D%3D1)");
        return body.find("\"3\"]") != std::string::npos;
      },
      absl::Seconds(60), absl::Milliseconds(500));
  // rkv_raft_has_leader is 1 for every partition (5 partitions x 3 replicas).
  const bool leaders = WaitFor(
      [&] {
        const std::string body = query("count(rkv_raft_has_leader%3D%3D1)");
        return body.find("\"15\"]") != std::string::npos;
      },
      absl::Seconds(30), absl::Milliseconds(500));
  const std::string up_body = query("up%7Bjob%3D%22rkv%22%7D");
  const std::string leader_body = query("rkv_raft_has_leader");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(all_up) << up_body;
  EXPECT_TRUE(leaders) << leader_body;
}

}  // namespace
}  // namespace rkv::testing
