#include "client/ready_watcher.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/client/scripted_server.h"
#include "tests/util/free_port.h"

namespace rkv::client::internal {
namespace {

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

// A socket that listens but never accepts: the kernel completes the TCP
// handshake, and the channel then waits in CONNECTING for the HTTP/2 one.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return port_ != 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Outcome {
  absl::Notification done;
  std::atomic<bool> ready{false};
  std::atomic<int> calls{0};
};

ReadyWatcher::Done Record(Outcome* outcome) {
  return [outcome](bool ready) {
    outcome->ready = ready;
    if (++outcome->calls == 1) outcome->done.Notify();
  };
}

TEST(ReadyWatcherTest, AnswersTrueOnceAChannelToALiveServerConnects) {
  testing::ScriptedServer server;
  ASSERT_TRUE(server.ok());
  ReadyWatcher watcher;
  Outcome outcome;
  watcher.WhenReady(ChannelTo(server.address()), absl::Now() + absl::Seconds(10), Record(&outcome));
  ASSERT_TRUE(outcome.done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(outcome.ready);
  EXPECT_EQ(outcome.calls, 1);
}

TEST(ReadyWatcherTest, AnswersFalseWhenNothingListens) {
  ReadyWatcher watcher;
  Outcome outcome;
  const std::string address = "127.0.0.1:" + std::to_string(rkv::testing::FreePort());
  watcher.WhenReady(ChannelTo(address), absl::Now() + absl::Seconds(10), Record(&outcome));
  ASSERT_TRUE(outcome.done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_FALSE(outcome.ready);
  EXPECT_EQ(outcome.calls, 1);
}

TEST(ReadyWatcherTest, AnswersFalseAtOnceForAPassedDeadline) {
  testing::ScriptedServer server;
  ASSERT_TRUE(server.ok());
  ReadyWatcher watcher;
  Outcome outcome;
  watcher.WhenReady(ChannelTo(server.address()), absl::Now() - absl::Seconds(1), Record(&outcome));
  EXPECT_TRUE(outcome.done.HasBeenNotified()) << "answered on the caller's thread";
  EXPECT_FALSE(outcome.ready);
}

TEST(ReadyWatcherTest, AnswersFalseAtTheDeadlineWhileStillConnecting) {
  SilentListener listener;
  ASSERT_TRUE(listener.ok());
  ReadyWatcher watcher;
  Outcome outcome;
  watcher.WhenReady(ChannelTo(listener.address()), absl::Now() + absl::Milliseconds(300),
                    Record(&outcome));
  ASSERT_TRUE(outcome.done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_FALSE(outcome.ready);
}

// Every watch is answered exactly once, also when the watcher goes away while
// it is still in flight.
TEST(ReadyWatcherTest, DestroyingTheWatcherAnswersWatchesInFlight) {
  SilentListener listener;
  ASSERT_TRUE(listener.ok());
  Outcome outcome;
  {
    ReadyWatcher watcher;
    watcher.WhenReady(ChannelTo(listener.address()), absl::Now() + absl::Milliseconds(300),
                      Record(&outcome));
    EXPECT_FALSE(outcome.done.HasBeenNotified()) << "still connecting";
  }
  EXPECT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_FALSE(outcome.ready);
  EXPECT_EQ(outcome.calls, 1);
}

}  // namespace
}  // namespace rkv::client::internal
