#include "client/options.h"

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::client {
namespace {

Options Good() {
  Options options;
  options.endpoints = {"127.0.0.1:7001"};
  return options;
}

// STYLE §3: options are validated at the edge with a message naming the field.
TEST(OptionsTest, ValidateNamesTheBadField) {
  struct Case {
    const char* name;
    std::function<void(Options&)> change;
    const char* message_part;  // empty: valid
  };
  const std::vector<Case> cases = {
      {"defaults", [](Options&) {}, ""},
      {"no endpoints", [](Options& o) { o.endpoints.clear(); }, "no endpoints"},
      {"not host:port", [](Options& o) { o.endpoints = {"localhost"}; }, "not host:port"},
      {"too many endpoints", [](Options& o) { o.endpoints.assign(kMaxEndpoints + 1, "h:1"); },
       "the limit is 256"},
      {"zero dial timeout", [](Options& o) { o.dial_timeout = absl::ZeroDuration(); },
       "dial_timeout"},
      {"negative request timeout", [](Options& o) { o.request_timeout = absl::Seconds(-1); },
       "request_timeout"},
      {"zero attempts", [](Options& o) { o.retry.max_attempts = 0; }, "max_attempts is 0"},
      {"too many attempts", [](Options& o) { o.retry.max_attempts = 101; }, "[1, 100]"},
      {"max below initial", [](Options& o) { o.retry.max_backoff = absl::Microseconds(1); },
       "max_backoff"},
      {"jitter above one", [](Options& o) { o.retry.jitter = 1.5; }, "jitter"},
      {"multiplier below one", [](Options& o) { o.retry.backoff_multiplier = 0.5; },
       "backoff_multiplier"},
      {"no connections", [](Options& o) { o.connections_per_endpoint = 0; },
       "connections_per_endpoint is 0"},
      {"small receive limit", [](Options& o) { o.max_receive_message_bytes = 1024; },
       "max_receive_message_bytes"},
  };
  for (const Case& c : cases) {
    Options options = Good();
    c.change(options);
    const absl::Status status = options.Validate();
    if (std::string(c.message_part).empty()) {
      EXPECT_TRUE(status.ok()) << c.name << ": " << status;
      continue;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(std::string(status.message()).find(c.message_part), std::string::npos)
        << c.name << ": " << status.message();
  }
}

}  // namespace
}  // namespace rkv::client
