#include "cli/command.h"

#include <string>
#include <vector>

#include "client/errors.h"
#include "gtest/gtest.h"

namespace rkv::cli {
namespace {

// The exit codes scripts rely on (exit_codes.h).
TEST(CommandTest, ExitCodeForStatus) {
  struct Case {
    absl::Status status;
    int want;
  };
  const std::vector<Case> cases = {
      {absl::OkStatus(), 0},
      {absl::InvalidArgumentError("key is empty"), 1},
      {absl::FailedPreconditionError("x"), 1},
      {absl::ResourceExhaustedError("x"), 1},
      {absl::InternalError("x"), 1},
      {absl::UnknownError("not an outcome"), 1},
      {absl::UnavailableError("x"), 5},
      {absl::DeadlineExceededError("x"), 5},
      {client::OutcomeUnknownError("put timed out"), 6},
  };
  for (const Case& c : cases) EXPECT_EQ(ExitCodeFor(c.status), c.want) << c.status;
}

TEST(CommandTest, ParseEndpoints) {
  EXPECT_EQ(*ParseEndpoints("a:1"), std::vector<std::string>{"a:1"});
  EXPECT_EQ(*ParseEndpoints("a:1, b:2 ,c:3"), (std::vector<std::string>{"a:1", "b:2", "c:3"}));
  EXPECT_EQ(ParseEndpoints("a:1,,b:2").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEndpoints("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CommandTest, ResolveGlobalsChecksEveryFlag) {
  GlobalFlags flags;
  absl::StatusOr<Globals> ok = ResolveGlobals(flags);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->options.endpoints, std::vector<std::string>{"127.0.0.1:7001"});
  EXPECT_EQ(ok->timeout, absl::Seconds(5));
  EXPECT_EQ(ok->options.request_timeout, absl::Seconds(5));
  struct Case {
    void (*change)(GlobalFlags&);
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](GlobalFlags& f) { f.output = "xml"; }, "output format \"xml\""},
      {[](GlobalFlags& f) { f.timeout = "5"; }, "--timeout \"5\" is not a positive duration"},
      {[](GlobalFlags& f) { f.dial_timeout = "-1s"; }, "--dial-timeout"},
      {[](GlobalFlags& f) { f.routing = "maybe"; }, "--routing \"maybe\""},
      {[](GlobalFlags& f) { f.endpoints = "nohostport"; }, "not host:port"},
  };
  for (const Case& c : cases) {
    GlobalFlags bad;
    c.change(bad);
    absl::StatusOr<Globals> got = ResolveGlobals(bad);
    ASSERT_FALSE(got.ok()) << c.message;
    EXPECT_NE(std::string(got.status().message()).find(c.message), std::string::npos)
        << got.status();
  }
}

}  // namespace
}  // namespace rkv::cli
