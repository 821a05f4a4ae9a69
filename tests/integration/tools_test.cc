// The user-facing tools against real rkvd processes: the C++ client library
// (routing to leaders, sync and async calls), rkvctl (its commands, output
// and exit codes) and the Python example over Debian's grpcio.
#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "gtest/gtest.h"
#include "tests/integration/local_cluster.h"
#include "tests/util/free_port.h"
#include "tests/util/scrape.h"
#include "tests/util/temp_dir.h"

namespace rkv::testing {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line to completion. The commands are bounded by the
// tools' own deadlines (every rkvctl request has --timeout).
CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class ToolsTest : public ::testing::Test {
 protected:
  explicit ToolsTest(LocalClusterOptions options = {}) : cluster_(options) {}

  void SetUp() override {
    ASSERT_TRUE(cluster_.Start()) << cluster_.DumpLogs();
    ASSERT_TRUE(cluster_.WaitForLeaders()) << cluster_.DumpLogs();
    std::vector<std::string> endpoints;
    for (uint64_t id : cluster_.ids()) endpoints.push_back(cluster_.ClientAddress(id));
    endpoints_ = absl::StrJoin(endpoints, ",");
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_.DumpLogs();
  }

  CommandResult Rkvctl(const std::string& args) {
    return RunCommand(absl::StrCat(RKV_RKVCTL_PATH, " --endpoints ", endpoints_, " --timeout 10s ", args));
  }

  std::unique_ptr<client::Client> ConnectClient() {
    client::Options options;
    for (uint64_t id : cluster_.ids()) options.endpoints.push_back(cluster_.ClientAddress(id));
    options.dial_timeout = absl::Seconds(10);
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  static absl::Time In10s() { return absl::Now() + absl::Seconds(10); }

  LocalCluster cluster_;
  std::string endpoints_;
};

TEST_F(ToolsTest, ClientRoutesEveryCallToTheLeader) {
  std::unique_ptr<client::Client> c = ConnectClient();
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 20; ++i) {
    v1::PutRequest put;
    put.set_key(absl::StrCat("client/", i));
    put.set_value(absl::StrCat("v", i));
    absl::StatusOr<v1::PutResponse> r = c->Put(put, In10s());
    ASSERT_TRUE(r.ok()) << r.status();
  }
  v1::GetRequest get;
  get.set_key("client/7");
  absl::StatusOr<v1::GetResponse> got = c->Get(get, In10s());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->found());
  EXPECT_EQ(got->kv().value(), "v7");

  // Keys of every partition, merged in key order across partitions.
  v1::RangeRequest range;
  range.set_key("client/");
  range.set_range_end(client::PrefixEnd("client/"));
  absl::StatusOr<std::vector<v1::KeyValue>> all = c->RangeAll(range, 100, In10s());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 20u);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].key(), (*all)[i].key());

  // A compare-and-swap on two keys of one hash tag.
  v1::TxnRequest txn;
  v1::Compare* compare = txn.add_compare();
  compare->set_key("{acct}:a");
  compare->set_target(v1::Compare::VERSION);
  compare->set_result(v1::Compare::EQUAL);
  compare->set_version(0);
  v1::PutRequest* then_a = txn.add_success()->mutable_put();
  then_a->set_key("{acct}:a");
  then_a->set_value("90");
  v1::PutRequest* then_b = txn.add_success()->mutable_put();
  then_b->set_key("{acct}:b");
  then_b->set_value("10");
  absl::StatusOr<v1::TxnResponse> first = c->Txn(txn, In10s());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->succeeded());
  absl::StatusOr<v1::TxnResponse> second = c->Txn(txn, In10s());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->succeeded());

  // Async calls complete through their callbacks.
  constexpr int kAsync = 50;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  absl::Notification all_done;
  for (int i = 0; i < kAsync; ++i) {
    v1::PutRequest put;
    put.set_key(absl::StrCat("async/", i));
    put.set_value("x");
    c->PutAsync(std::move(put), In10s(), [&](absl::StatusOr<v1::PutResponse> r) {
      if (r.ok()) ++ok;
      if (++done == kAsync) all_done.Notify();
    });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(ok.load(), kAsync);
}

// One replica per partition: each node hosts some partitions and its cluster
// map names only their leaders, so the client first sends the others' keys to
// an endpoint, which forwards them. The answers' headers name the leaders, and
// from then on every call goes straight to its leader: each Put is served
// once, by the node that leads its key (gRPC's request counter, which a
// forwarding node and the leader both bump, grows by one per Put).
class SingleReplicaToolsTest : public ToolsTest {
 protected:
  SingleReplicaToolsTest() : ToolsTest(Options()) {}

  static LocalClusterOptions Options() {
    LocalClusterOptions options;
    options.replication_factor = 1;
    return options;
  }

  double PutsServed() {
    double total = 0;
    for (uint64_t id : cluster_.ids()) {
      total += Sum(Scrape(cluster_.MetricsAddress(id)), "rkv_grpc_requests_total",
                   {"method=\"/rkv.v1.KV/Put\""});
    }
    return total;
  }
};

TEST_F(SingleReplicaToolsTest, ClientLearnsLeadersTheMapLacksFromAnswers) {
  std::unique_ptr<client::Client> c = ConnectClient();
  ASSERT_NE(c, nullptr);
  auto put = [&](const std::string& key) {
    v1::PutRequest request;
    request.set_key(key);
    request.set_value("v");
    absl::StatusOr<v1::PutResponse> r = c->Put(request, In10s());
    EXPECT_TRUE(r.ok()) << r.status();
  };
  // Enough keys to reach every partition (hashing is fixed, so this is too).
  for (int i = 0; i < 64; ++i) put(absl::StrCat("learn/", i));
  const double before = PutsServed();
  constexpr int kPuts = 40;
  for (int i = 0; i < kPuts; ++i) put(absl::StrCat("direct/", i));
  // Each node counts a request before it answers, so every count of these
  // Puts (a forwarder's too) is in before the client has its answer.
  EXPECT_EQ(PutsServed() - before, kPuts);
  EXPECT_GT(before, 0);

  // rkvctl bench learns them too. It starts from a fresh map, so its first
  // answers may still come through endpoints (two of three Puts would, had it
  // not learned); a bound that loose keeps this from depending on timing.
  constexpr int kBenchPuts = 2000;
  const double before_bench = PutsServed();
  CommandResult bench = Rkvctl(absl::StrCat("bench write --clients 4 --total ", kBenchPuts,
                                            " --key-space 1000 --no-progress"));
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  EXPECT_LT(PutsServed() - before_bench, kBenchPuts * 1.25) << bench.output;
}

// A fresh rkvctl whose first call is a write, with the default timeouts (a
// 2 s dial timeout): the write waits for a connected channel, and that wait
// must itself drive the connection attempt. Waiting by polling the channel's
// state left it to gRPC's 5 s backup poller, so every such put failed.
TEST_F(ToolsTest, RkvctlFirstCallIsAWriteWithDefaultTimeouts) {
  for (int i = 0; i < 3; ++i) {
    CommandResult put = RunCommand(absl::StrCat(RKV_RKVCTL_PATH, " --endpoints ", endpoints_,
                                                " put fresh-", i, " v"));
    ASSERT_EQ(put.exit_code, 0) << put.output;
  }
}

TEST_F(ToolsTest, RkvctlCommandsAndExitCodes) {
  CommandResult put = Rkvctl("put greeting hello");
  ASSERT_EQ(put.exit_code, 0) << put.output;
  CommandResult get = Rkvctl("get greeting");
  ASSERT_EQ(get.exit_code, 0) << get.output;
  EXPECT_NE(get.output.find("hello"), std::string::npos) << get.output;

  CommandResult missing = Rkvctl("get no-such-key");
  EXPECT_EQ(missing.exit_code, 3) << missing.output;

  CommandResult json = Rkvctl("-o json get greeting");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_NE(json.output.find("\"value\":\"hello\""), std::string::npos) << json.output;

  ASSERT_EQ(Rkvctl("put g2 x").exit_code, 0);
  CommandResult scan = Rkvctl("range --prefix g");
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  EXPECT_NE(scan.output.find("greeting"), std::string::npos) << scan.output;
  EXPECT_NE(scan.output.find("g2"), std::string::npos) << scan.output;
  // --all follows pages; its pages must stay within the server's
  // --max-range-keys (it once asked for a million keys a page and was refused).
  CommandResult all = Rkvctl("range --prefix g --all");
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_NE(all.output.find("(2 keys)"), std::string::npos) << all.output;
  // The empty key with --from-key reads every key, as in etcd.
  CommandResult everything = Rkvctl("range '' --from-key --all --keys-only");
  ASSERT_EQ(everything.exit_code, 0) << everything.output;
  EXPECT_NE(everything.output.find("greeting"), std::string::npos) << everything.output;

  CommandResult txn_ok = Rkvctl("txn 'if missing({t}:x) then put {t}:x 1'");
  EXPECT_EQ(txn_ok.exit_code, 0) << txn_ok.output;
  CommandResult txn_failed = Rkvctl("txn 'if missing({t}:x) then put {t}:x 2 else get {t}:x'");
  EXPECT_EQ(txn_failed.exit_code, 4) << txn_failed.output;
  CommandResult bad_syntax = Rkvctl("txn 'if then'");
  EXPECT_EQ(bad_syntax.exit_code, 2) << bad_syntax.output;

  CommandResult del = Rkvctl("del greeting");
  EXPECT_EQ(del.exit_code, 0) << del.output;
  EXPECT_EQ(Rkvctl("get greeting").exit_code, 3);

  CommandResult empty_key = Rkvctl("put '' v");
  EXPECT_EQ(empty_key.exit_code, 1) << empty_key.output;
  EXPECT_NE(empty_key.output.find("INVALID_ARGUMENT"), std::string::npos) << empty_key.output;

  CommandResult status = Rkvctl("cluster status");
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("leader"), std::string::npos) << status.output;
  EXPECT_EQ(status.output.find("unknown"), std::string::npos) << status.output;
  CommandResult members = Rkvctl("member list");
  ASSERT_EQ(members.exit_code, 0) << members.output;
  for (uint64_t id : cluster_.ids()) {
    EXPECT_NE(members.output.find(cluster_.ClientAddress(id)), std::string::npos)
        << members.output;
  }

  CommandResult level = Rkvctl("log-level debug");
  EXPECT_EQ(level.exit_code, 0) << level.output;
  CommandResult bad_level = Rkvctl("log-level loud");
  EXPECT_EQ(bad_level.exit_code, 1) << bad_level.output;
  EXPECT_NE(bad_level.output.find("INVALID_ARGUMENT"), std::string::npos) << bad_level.output;

  // The replicas of a partition agree once they have applied the same index.
  CommandResult hash = Rkvctl("-o json endpoint hash 1");
  EXPECT_EQ(hash.exit_code, 0) << hash.output;
  EXPECT_NE(hash.output.find("\"consistent\":true"), std::string::npos) << hash.output;

  CommandResult bench = Rkvctl("bench write --clients 4 --total 200 --key-space 100");
  EXPECT_EQ(bench.exit_code, 0) << bench.output;
}

TEST_F(ToolsTest, AnRkvdWhosePortIsTakenRefusesToStart) {
  // gRPC would share a port through SO_REUSEPORT and split the connections
  // between the two processes; rkvd must refuse to start instead.
  TempDir dir;
  const std::string free_client = absl::StrCat("127.0.0.1:", FreePort());
  const std::string free_peer = absl::StrCat("127.0.0.1:", FreePort());
  const std::string taken = cluster_.ClientAddress(1);
  // Bounded: an rkvd that did start (sharing the port) is stopped after 20 s
  // and the exit code is then timeout's 124.
  auto start = [&](const std::string& client, const std::string& peer, const std::string& data) {
    return RunCommand(absl::StrCat(
        "timeout 20 ", RKV_RKVD_PATH, " --node-id=1 --client-address=", client,
        " --peer-address=", peer, " --metrics-address=127.0.0.1:", FreePort(),
        " --data-dir=", dir.path(), "/", data, " --replication-factor=1 --initial-cluster=1=", peer));
  };
  CommandResult peer_taken = start(free_client, taken, "a");
  EXPECT_EQ(peer_taken.exit_code, 3) << peer_taken.output;
  EXPECT_NE(peer_taken.output.find("cannot listen for peers on " + taken), std::string::npos)
      << peer_taken.output;
  CommandResult client_taken = start(taken, free_peer, "b");
  EXPECT_EQ(client_taken.exit_code, 3) << client_taken.output;
  EXPECT_NE(client_taken.output.find("cannot listen for clients on " + taken), std::string::npos)
      << client_taken.output;
  // The cluster's node still answers on its port.
  EXPECT_EQ(Rkvctl("endpoint health").exit_code, 0);
}

TEST_F(ToolsTest, PythonExampleRunsAgainstTheCluster) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "/usr/bin/python3 is missing";
  CommandResult example = RunCommand(absl::StrCat("/usr/bin/python3 ", RKV_SOURCE_DIR,
                                           "/examples/python/rkv_example.py --endpoint ",
                                           cluster_.ClientAddress(1), " --stubs ",
                                           RKV_PYTHON_STUBS_DIR));
  EXPECT_EQ(example.exit_code, 0) << example.output;
}

}  // namespace
}  // namespace rkv::testing
