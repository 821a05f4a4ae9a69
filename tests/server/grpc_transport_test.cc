// GrpcTransport against a real PeerService on loopback: batches arrive in
// order, a peer that is not there is reported unreachable without blocking the
// sender, the stream comes up once the peer does, a stream that never opens is
// cancelled, and Stop returns with a stream open or broken.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/grpc_transport.h"
#include "server/metrics.h"
#include "tests/util/free_port.h"
#include "tests/util/wait_for.h"

namespace rkv::server {
namespace {

using ::rkv::testing::FreePort;
using ::rkv::testing::WaitFor;

constexpr uint64_t kCluster = 7;
constexpr uint64_t kSender = 1;
constexpr uint64_t kReceiver = 2;

PartitionMessage Numbered(uint64_t partition, uint64_t n) {
  PartitionMessage m;
  m.set_partition_id(partition);
  m.mutable_message()->set_index(n);
  return m;
}

// A peer server that records every message it receives, in order.
class Receiver {
 public:
  explicit Receiver(int port) : metrics_(kReceiver, true, {}) {
    service_ = std::make_unique<PeerService>(
        kCluster, kReceiver, &metrics_,
        [this](rkv::internal::MessageBatch batch) {
          absl::MutexLock lock(&mu_);
          for (const PartitionMessage& m : batch.messages()) received_.push_back(m.message().index());
        },
        [](grpc::ServerReader<rkv::internal::SnapshotChunk>*) { return grpc::Status::OK; },
        [](const rkv::internal::PartitionReadRequest&, absl::Time,
           rkv::internal::PartitionReadResponse*) { return grpc::Status::OK; });
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
  }
  // An open stream is cancelled after a short grace period.
  ~Receiver() { server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(200))); }
  bool started() const { return server_ != nullptr; }

  std::vector<uint64_t> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }

 private:
  Metrics metrics_;
  std::unique_ptr<PeerService> service_;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  std::vector<uint64_t> received_ ABSL_GUARDED_BY(mu_);
};

// Collects the unreachable reports of a transport_.
class Reports {
 public:
  UnreachableFn Callback() {
    return [this](uint64_t peer, std::vector<uint64_t> partitions) {
      absl::MutexLock lock(&mu_);
      for (uint64_t p : partitions) partitions_.insert({peer, p});
    };
  }
  bool Has(uint64_t peer, uint64_t partition) {
    absl::MutexLock lock(&mu_);
    return partitions_.count({peer, partition}) > 0;
  }

 private:
  absl::Mutex mu_;
  std::set<std::pair<uint64_t, uint64_t>> partitions_ ABSL_GUARDED_BY(mu_);
};

// Sends message number n for `partition` to the receiver.
void SendOne(GrpcTransport& transport, uint64_t partition, uint64_t n) {
  std::vector<PartitionMessage> messages;
  messages.push_back(Numbered(partition, n));
  transport.Send(kReceiver, std::move(messages));
}

// Sends one numbered message for `partition` (numbers counting up from *n)
// at every poll until `done` holds or 20 s pass, as a leader's heartbeats
// would; returns whether it held.
bool SendUntil(GrpcTransport& transport, uint64_t partition, uint64_t* n,
               const std::function<bool()>& done) {
  return WaitFor(
      [&] {
        SendOne(transport, partition, ++*n);
        return done();
      },
      absl::Seconds(20));
}

TransportLimits FastRetries() {
  TransportLimits limits;
  limits.min_backoff_ms = 10;
  limits.max_backoff_ms = 100;
  return limits;
}

// A transport from node kSender to node kReceiver at port_, where nothing
// listens until a test starts a Receiver there.
class GrpcTransportTest : public ::testing::Test {
 protected:
  const int port_ = FreePort();
  Metrics metrics_{kSender, true, {}};
  Reports reports_;
  GrpcTransport transport_{kCluster, kSender, {{kReceiver, absl::StrCat("127.0.0.1:", port_)}},
                           FastRetries(), &metrics_, reports_.Callback()};
};

TEST_F(GrpcTransportTest, DeliversEveryMessageInOrder) {
  Receiver receiver(port_);
  ASSERT_TRUE(receiver.started());
  // Many small sends while earlier writes are in flight: they queue and go
  // out in later batches, never out of order.
  std::vector<uint64_t> sent;
  size_t message_bytes = 0;
  for (uint64_t n = 1; n <= 2000; ++n) {
    message_bytes += Numbered(n % 8, n).ByteSizeLong();
    SendOne(transport_, n % 8, n);
    sent.push_back(n);
  }
  ASSERT_TRUE(WaitFor([&] { return receiver.received().size() >= sent.size(); }, absl::Seconds(20)))
      << receiver.received().size() << " of " << sent.size() << " arrived";
  EXPECT_EQ(receiver.received(), sent);
  transport_.Stop();
  // Every write is counted, its bytes with each batch's framing on top.
  PeerMetrics* peer = metrics_.Peer(kReceiver);
  EXPECT_EQ(peer->sent_messages->Value(), 2000);
  EXPECT_GT(peer->sent_bytes->Value(), static_cast<double>(message_bytes));
}

TEST_F(GrpcTransportTest, APeerThatIsNotThereIsReportedAndTheStreamComesUpWithIt) {
  // Nothing listens: the messages are dropped and their partition reported,
  // and Send returns at once every time.
  uint64_t n = 0;
  ASSERT_TRUE(SendUntil(transport_, 3, &n, [&] { return reports_.Has(kReceiver, 3); }));
  // Once the peer listens, a later message opens a new stream and arrives.
  Receiver receiver(port_);
  ASSERT_TRUE(receiver.started());
  ASSERT_TRUE(SendUntil(transport_, 3, &n, [&] { return !receiver.received().empty(); }));
  transport_.Stop();
}

// A message queued while the back-off after a broken stream holds the next
// one closed goes out once the back-off has passed, with nothing more sent:
// the watchdog's poll opens the stream.
TEST_F(GrpcTransportTest, AMessageQueuedDuringTheBackOffGoesOutWithoutMoreTraffic) {
  TransportLimits limits;
  limits.min_backoff_ms = 1000;
  limits.max_backoff_ms = 1000;
  limits.stall_timeout_ms = 200;
  Reports reports;
  GrpcTransport transport(kCluster, kSender, {{kReceiver, absl::StrCat("127.0.0.1:", port_)}},
                          limits, &metrics_, reports.Callback());
  SendOne(transport, 2, 1);
  ASSERT_TRUE(WaitFor([&] { return reports.Has(kReceiver, 2); }, absl::Seconds(20)));
  Receiver receiver(port_);
  ASSERT_TRUE(receiver.started());
  SendOne(transport, 2, 2);
  ASSERT_TRUE(WaitFor([&] { return !receiver.received().empty(); }, absl::Seconds(20)));
  EXPECT_EQ(receiver.received(), std::vector<uint64_t>{2});
  transport.Stop();
}

// A peer whose port completes TCP handshakes but never speaks HTTP/2 (a hung
// process, or a link that drops everything after the handshake): the stream
// never opens. The watchdog cancels it after the stall timeout, on the
// monotonic clock, instead of leaving it to gRPC's connect deadline, whose
// timer a wall-clock step can hold back for as long as the step.
TEST_F(GrpcTransportTest, AStreamThatNeverOpensIsCancelledAfterTheStallTimeout) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const int hung_port = FreePort();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(hung_port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  // Never accepted: the kernel completes handshakes into the backlog.
  ASSERT_EQ(listen(listener, 16), 0);
  // gRPC's own connect deadline (connect_timeout_ms, 5 s) is far longer
  // than the stall timeout: the watchdog ends the attempt.
  TransportLimits limits;
  limits.stall_timeout_ms = 200;
  Reports reports;
  GrpcTransport transport(kCluster, kSender, {{kReceiver, absl::StrCat("127.0.0.1:", hung_port)}},
                          limits, &metrics_, reports.Callback());
  SendOne(transport, 4, 1);
  // One send and no later traffic: the watchdog cancels the stuck stream on
  // its own, and the lost message is reported.
  PeerMetrics* peer = metrics_.Peer(kReceiver);
  EXPECT_TRUE(WaitFor([&] { return peer->stalled_streams->Value() >= 1; }, absl::Seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return reports.Has(kReceiver, 4); }, absl::Seconds(10)));
  transport.Stop();
  close(listener);
}

TEST_F(GrpcTransportTest, StopReturnsWhileThePeerIsGoneAndAfterItLeft) {
  {
    Receiver receiver(port_);
    ASSERT_TRUE(receiver.started());
    uint64_t n = 0;
    ASSERT_TRUE(SendUntil(transport_, 1, &n, [&] { return !receiver.received().empty(); }));
  }
  // The receiver shut down under an open stream; messages now fail and are
  // reported, and Stop still returns.
  uint64_t n = 1000;
  ASSERT_TRUE(SendUntil(transport_, 5, &n, [&] { return reports_.Has(kReceiver, 5); }));
  transport_.Stop();
  // Sends after Stop are dropped without a report.
  SendOne(transport_, 6, 1);
  EXPECT_FALSE(reports_.Has(kReceiver, 6));
}

}  // namespace
}  // namespace rkv::server
