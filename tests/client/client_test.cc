// The client end to end against ScriptedServer, a fault injector on loopback:
// it checks which failures are retried, where retries go, and which become
// "outcome unknown", by counting the calls each server received.
#include "client/client.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/client/scripted_server.h"

namespace rkv::client {
namespace {

using testing::Reply;
using testing::ScriptedServer;
using testing::SetOnePartitionMap;
using testing::Status;
using testing::Unavailable;

Options FastOptions(std::vector<std::string> endpoints) {
  Options options;
  options.endpoints = std::move(endpoints);
  options.retry.initial_backoff = absl::Milliseconds(1);
  options.retry.max_backoff = absl::Milliseconds(5);
  options.min_refresh_interval = absl::ZeroDuration();
  return options;
}

std::unique_ptr<Client> ConnectTo(const Options& options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

v1::PutRequest PutOf(const std::string& key) {
  v1::PutRequest request;
  request.set_key(key);
  request.set_value("v");
  return request;
}

v1::GetRequest GetOf(const std::string& key) {
  v1::GetRequest request;
  request.set_key(key);
  return request;
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok());
    SetOnePartitionMap(server_, {server_.address()}, 1);
    client_ = ConnectTo(FastOptions({server_.address()}));
    ASSERT_NE(client_, nullptr);
  }

  ScriptedServer server_;
  std::unique_ptr<Client> client_;
};

// Issue #4: a write the server never proposed (ErrorDetail.not_proposed) is
// retried until it succeeds.
TEST_F(ClientTest, WriteNotProposedIsRetried) {
  server_.Script({Unavailable(true), Unavailable(true)});
  absl::StatusOr<v1::PutResponse> put = client_->Put(PutOf("k"), In(absl::Seconds(5)));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->revision(), 7u);
  EXPECT_EQ(server_.calls(), 3);
}

// Issue #4: UNAVAILABLE without not_proposed may have been proposed: the
// write is reported as indeterminate and sent exactly once.
TEST_F(ClientTest, WriteFailedWithoutNotProposedIsIndeterminate) {
  server_.Script({Unavailable(false)});
  absl::StatusOr<v1::PutResponse> put = client_->Put(PutOf("k"), In(absl::Seconds(5)));
  ASSERT_FALSE(put.ok());
  EXPECT_TRUE(IsIndeterminate(put.status())) << put.status();
  EXPECT_NE(std::string(put.status().message()).find("put of key \"k\""), std::string::npos);
  EXPECT_EQ(server_.calls(), 1);
}

// Issue #4: a write that timed out is indeterminate, never retried.
TEST_F(ClientTest, WriteThatTimedOutIsIndeterminate) {
  Reply hold;
  hold.hold = true;
  server_.Script({hold});
  absl::StatusOr<v1::DeleteResponse> del = [&] {
    v1::DeleteRequest request;
    request.set_key("k");
    return client_->Delete(request, In(absl::Milliseconds(300)));
  }();
  server_.Release();
  ASSERT_FALSE(del.ok());
  EXPECT_TRUE(IsIndeterminate(del.status())) << del.status();
  EXPECT_NE(std::string(del.status().message()).find("DEADLINE_EXCEEDED"), std::string::npos);
  EXPECT_EQ(server_.calls(), 1);
}

// Reads are retried on UNAVAILABLE whatever the detail says.
TEST_F(ClientTest, ReadIsRetriedOnUnavailable) {
  server_.Script({Unavailable(false), Status(grpc::StatusCode::UNAVAILABLE)});
  absl::StatusOr<v1::GetResponse> get = client_->Get(GetOf("k"), In(absl::Seconds(5)));
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_TRUE(get->found());
  EXPECT_EQ(server_.calls(), 3);
}

// A read attempt that hangs costs one attempt (read_attempt_timeout), not
// the whole deadline.
TEST(ClientReadTimeoutTest, HungReadAttemptIsRetried) {
  ScriptedServer server;
  ASSERT_TRUE(server.ok());
  SetOnePartitionMap(server, {server.address()}, 1);
  Options options = FastOptions({server.address()});
  options.read_attempt_timeout = absl::Milliseconds(200);
  std::unique_ptr<Client> client = ConnectTo(options);
  ASSERT_NE(client, nullptr);
  Reply hold;
  hold.hold = true;
  server.Script({hold});
  absl::StatusOr<v1::GetResponse> get = client->Get(GetOf("k"), In(absl::Seconds(10)));
  server.Release();
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(server.calls(), 2);
}

// Issue #4: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, FAILED_PRECONDITION and
// OUT_OF_RANGE are returned as they are, after one call.
TEST_F(ClientTest, RefusalsAreReturnedAsIs) {
  const std::vector<grpc::StatusCode> codes = {
      grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::RESOURCE_EXHAUSTED,
      grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::OUT_OF_RANGE};
  int calls = 0;
  for (grpc::StatusCode code : codes) {
    server_.Script({Status(code), Status(code)});
    absl::StatusOr<v1::PutResponse> put = client_->Put(PutOf("k"), In(absl::Seconds(5)));
    absl::StatusOr<v1::GetResponse> get = client_->Get(GetOf("k"), In(absl::Seconds(5)));
    calls += 2;
    EXPECT_EQ(static_cast<int>(put.status().code()), static_cast<int>(code));
    EXPECT_EQ(static_cast<int>(get.status().code()), static_cast<int>(code));
    EXPECT_EQ(put.status().message(), "scripted");
    EXPECT_EQ(server_.calls(), calls);
  }
}

// The retry budget bounds a read; the last error is named.
TEST_F(ClientTest, ReadGivesUpAfterMaxAttempts) {
  std::vector<Reply> replies(20, Status(grpc::StatusCode::UNAVAILABLE));
  server_.Script(replies);
  absl::StatusOr<v1::GetResponse> get = client_->Get(GetOf("k"), In(absl::Seconds(10)));
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(get.status().message()).find("gave up after 8 attempts"), std::string::npos)
      << get.status();
  EXPECT_EQ(server_.calls(), 8);
}

// A never-proposed write that runs out of time says it was not applied and
// is not indeterminate.
TEST_F(ClientTest, NotProposedWriteOutOfTimeIsNotIndeterminate) {
  std::vector<Reply> replies(100, Unavailable(true));
  server_.Script(replies);
  absl::StatusOr<v1::PutResponse> put = client_->Put(PutOf("k"), In(absl::Milliseconds(100)));
  ASSERT_FALSE(put.ok());
  EXPECT_FALSE(IsIndeterminate(put.status()));
  EXPECT_TRUE(put.status().code() == absl::StatusCode::kDeadlineExceeded ||
              put.status().code() == absl::StatusCode::kUnavailable)
      << put.status();
  EXPECT_NE(std::string(put.status().message()).find("the write was not applied"),
            std::string::npos)
      << put.status();
}

// A failed compare is a normal reply (kv.proto, TxnRequest).
TEST_F(ClientTest, FailedTxnCompareIsANormalReply) {
  Reply failed;
  failed.txn_succeeded = false;
  server_.Script({failed});
  v1::TxnRequest txn;
  txn.add_compare()->set_key("k");
  txn.add_success()->mutable_put()->set_key("k");
  absl::StatusOr<v1::TxnResponse> response = client_->Txn(txn, In(absl::Seconds(5)));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(response->succeeded());
}

// Async calls: many in flight at once, each answered exactly once.
TEST_F(ClientTest, ManyAsyncCallsEachAnswerOnce) {
  constexpr int kCalls = 200;
  std::atomic<int> ok{0};
  std::atomic<int> answered{0};
  absl::Notification all;
  for (int i = 0; i < kCalls; ++i) {
    client_->PutAsync(PutOf("k" + std::to_string(i)), In(absl::Seconds(10)),
                      [&](absl::StatusOr<v1::PutResponse> put) {
                        if (put.ok()) ok.fetch_add(1);
                        if (answered.fetch_add(1) + 1 == kCalls) all.Notify();
                      });
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(server_.calls(), kCalls);
}

// Destroying the client waits for async calls still backing off.
TEST(ClientLifetimeTest, DestructorWaitsForCallsInFlight) {
  ScriptedServer server;
  ASSERT_TRUE(server.ok());
  SetOnePartitionMap(server, {server.address()}, 1);
  std::atomic<int> answered{0};
  {
    std::unique_ptr<Client> client = ConnectTo(FastOptions({server.address()}));
    ASSERT_NE(client, nullptr);
    server.Script(std::vector<Reply>(10, Unavailable(true)));
    for (int i = 0; i < 10; ++i) {
      client->GetAsync(GetOf("k"), In(absl::Seconds(10)),
                       [&](absl::StatusOr<v1::GetResponse>) { answered.fetch_add(1); });
    }
  }
  EXPECT_EQ(answered.load(), 10);
}

// Issue #4 routing: the call goes to the partition's leader; a not-leader
// answer with a hint sends the retry straight to the hinted leader.
TEST(ClientRoutingTest, FollowsLeaderHintToAnotherNode) {
  ScriptedServer a;
  ScriptedServer b;
  ASSERT_TRUE(a.ok() && b.ok());
  SetOnePartitionMap(a, {a.address(), b.address()}, /*leader_id=*/1);
  std::unique_ptr<Client> client = ConnectTo(FastOptions({a.address()}));
  ASSERT_NE(client, nullptr);
  a.Script({Unavailable(true, /*leader_id=*/2, /*partition_id=*/1)});
  absl::StatusOr<v1::PutResponse> put = client->Put(PutOf("k"), In(absl::Seconds(5)));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(a.calls(), 1);
  EXPECT_EQ(b.calls(), 1);
  // The leader is cached: the next call goes to b directly.
  ASSERT_TRUE(client->Put(PutOf("k2"), In(absl::Seconds(5))).ok());
  EXPECT_EQ(a.calls(), 1);
  EXPECT_EQ(b.calls(), 2);
}

// A leader the client cannot connect to costs a retry through an endpoint,
// not an unknown outcome: the write was never sent.
TEST(ClientRoutingTest, WriteToUnreachableLeaderGoesThroughAnEndpoint) {
  ScriptedServer a;
  ASSERT_TRUE(a.ok());
  std::string dead_address;
  {
    ScriptedServer dead;
    ASSERT_TRUE(dead.ok());
    dead_address = dead.address();
    dead.Stop();
  }
  SetOnePartitionMap(a, {a.address(), dead_address}, /*leader_id=*/2);
  std::unique_ptr<Client> client = ConnectTo(FastOptions({a.address()}));
  ASSERT_NE(client, nullptr);
  absl::StatusOr<v1::PutResponse> put = client->Put(PutOf("k"), In(absl::Seconds(5)));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(a.calls(), 1);
}

// Without routing, no cluster map is read and calls go to the endpoints.
TEST(ClientRoutingTest, NoRoutingSendsToEndpoints) {
  ScriptedServer a;
  ASSERT_TRUE(a.ok());
  Options options = FastOptions({a.address()});
  options.route_to_leader = false;
  std::unique_ptr<Client> client = ConnectTo(options);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Get(GetOf("k"), In(absl::Seconds(5))).ok());
  EXPECT_EQ(a.calls(), 1);
}

// A write as the very first call of a client that has not talked to the
// node yet: the client must bring the connection up itself (gRPC polls a
// connection's socket only while a call is in flight).
TEST(ClientRoutingTest, FirstCallIsAWriteOnAFreshChannel) {
  ScriptedServer a;
  ASSERT_TRUE(a.ok());
  Options options = FastOptions({a.address()});
  options.route_to_leader = false;
  std::unique_ptr<Client> client = ConnectTo(options);
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::PutResponse> put = client->Put(PutOf("k"), In(absl::Seconds(10)));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(a.calls(), 1);
  // Not a timing assert on speed: it bounds a wait that would otherwise end
  // only with gRPC's 5-second backup poller.
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

// Connect fails, naming the endpoints, when none answers in time.
TEST(ClientConnectTest, UnreachableEndpointsFailConnect) {
  std::string dead_address;
  {
    ScriptedServer dead;
    ASSERT_TRUE(dead.ok());
    dead_address = dead.address();
    dead.Stop();
  }
  Options options = FastOptions({dead_address});
  options.dial_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(client.status().code() == absl::StatusCode::kUnavailable ||
              client.status().code() == absl::StatusCode::kDeadlineExceeded)
      << client.status();
  EXPECT_NE(std::string(client.status().message()).find(dead_address), std::string::npos);
  options.endpoints.clear();
  EXPECT_EQ(Client::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// Calls on one node go to that node once, without retries; its status comes
// back as it is.
TEST_F(ClientTest, NodeCallsGoToTheNamedNodeOnce) {
  absl::StatusOr<v1::HealthResponse> health =
      client_->NodeHealth(server_.address(), In(absl::Seconds(5)));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_TRUE(health->healthy());
  // ScriptedServer does not implement Status.
  EXPECT_EQ(client_->NodeStatus(server_.address(), In(absl::Seconds(5))).status().code(),
            absl::StatusCode::kUnimplemented);
}

v1::RangeResponse Page(std::vector<std::string> keys, bool more, std::string next_key) {
  v1::RangeResponse page;
  for (std::string& key : keys) page.add_kvs()->set_key(std::move(key));
  page.set_more(more);
  page.set_next_key(std::move(next_key));
  return page;
}

// RangeAll follows next_key, turns a prefix into a range and stops at the
// limit.
TEST_F(ClientTest, RangeAllFollowsPages) {
  Reply first;
  first.range = Page({"p/a", "p/b"}, true, "p/c");
  Reply second;
  second.range = Page({"p/c"}, false, "");
  server_.Script({first, second});
  v1::RangeRequest request;
  request.set_key("p/");
  request.set_prefix(true);
  absl::StatusOr<std::vector<v1::KeyValue>> all =
      client_->RangeAll(request, 100, In(absl::Seconds(5)));
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].key(), "p/c");
  EXPECT_EQ(server_.keys(), (std::vector<std::string>{"p/", "p/c"}));

  Reply big;
  big.range = Page({"a", "b"}, true, "c");
  server_.Script({big});
  request.set_key("a");
  request.set_prefix(false);
  request.set_range_end("z");
  EXPECT_EQ(client_->RangeAll(request, 2, In(absl::Seconds(5))).status().code(),
            absl::StatusCode::kResourceExhausted);
  server_.Script({big});
  request.set_limit(2);
  absl::StatusOr<std::vector<v1::KeyValue>> limited =
      client_->RangeAll(request, 100, In(absl::Seconds(5)));
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_EQ(limited->size(), 2u);
}

// PrefixEnd: the first key past every key with the prefix.
TEST(PrefixEndTest, IncrementsTheLastByteBelow0xff) {
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
}

}  // namespace
}  // namespace rkv::client
