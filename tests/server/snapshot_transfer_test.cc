// SnapshotSender against a real PeerService on loopback whose receiver never
// answers: the watchdog cancels the transfer and reports it failed, so Raft
// retries instead of waiting on the follower for good.
#include "server/snapshot_transfer.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/grpc_transport.h"
#include "server/metrics.h"
#include "storage/state_machine.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/free_port.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wait_for.h"

namespace rkv::server {
namespace {

using ::rkv::testing::FreePort;
using ::rkv::testing::TempDir;
using ::rkv::testing::WaitFor;

constexpr uint64_t kCluster = 7;
constexpr uint64_t kPartition = 5;

TEST(SnapshotSenderTest, ATransferTheReceiverNeverAnswersIsCancelledAndReportedFailed) {
  TempDir dir;
  std::unique_ptr<storage::Engine> engine = storage::testing::OpenEngine(dir.path());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->CreatePartition(kPartition, storage::testing::Voters({1, 2})).ok());
  auto machine = storage::StateMachine::Open(engine.get(), kPartition, storage::StateMachineLimits());
  ASSERT_TRUE(machine.ok()) << machine.status();
  std::shared_ptr<storage::StateMachine> state_machine = *std::move(machine);

  // Node 2 reads the whole stream, then hangs instead of answering, as a
  // receiver stuck on its disk would, until the test releases it.
  std::atomic<bool> receiving{false};
  absl::Notification release;
  Metrics receiver_metrics(2, true, {});
  PeerService service(
      kCluster, 2, &receiver_metrics, [](rkv::internal::MessageBatch) {},
      [&](grpc::ServerReader<rkv::internal::SnapshotChunk>* reader) {
        receiving = true;
        rkv::internal::SnapshotChunk chunk;
        while (reader->Read(&chunk)) {
        }
        release.WaitForNotificationWithTimeout(absl::Seconds(60));
        return grpc::Status::OK;
      },
      [](const rkv::internal::PartitionReadRequest&, absl::Time, rkv::internal::PartitionReadResponse*) {
        return grpc::Status::OK;
      });
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  // As rkvd's peer server: the senders' keepalive pings are welcome, so they
  // never end the call.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  absl::Mutex mu;
  std::optional<bool> outcome;
  Metrics metrics(1, true, {});
  SnapshotSender sender(
      kCluster, 1, {{2, address}}, storage::SnapshotLimits(), /*max_concurrent=*/1, &metrics,
      [&](uint64_t partition, uint64_t peer, bool succeeded) {
        EXPECT_EQ(partition, kPartition);
        EXPECT_EQ(peer, 2u);
        absl::MutexLock lock(&mu);
        outcome = succeeded;
      },
      /*stall_timeout=*/absl::Milliseconds(300));
  sender.Send(2, kPartition, raft::Message(), state_machine);
  ASSERT_TRUE(WaitFor([&] { return receiving.load(); }, absl::Seconds(10)));
  // Nothing else ends the call: it has no deadline, and the connection is
  // healthy, so keepalive does not close it.
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return outcome.has_value();
      },
      absl::Seconds(10)));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(outcome, std::optional<bool>(false));
  }
  EXPECT_FALSE(release.HasBeenNotified()) << "the receiver was still hanging when the sender gave up";
  release.Notify();
  sender.Stop();
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(200)));
}

}  // namespace
}  // namespace rkv::server
