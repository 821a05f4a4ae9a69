#include "raft/config.h"

#include <functional>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::raft {
namespace {

TEST(ConfigTest, ValidateNamesTheFieldOutOfRange) {
  struct Case {
    const char* name;
    std::function<void(Config&)> mutate;
    bool want_ok;
  };
  const std::vector<Case> cases = {
      {"defaults", [](Config&) {}, true},
      {"id 0", [](Config& c) { c.id = 0; }, false},
      {"heartbeat 0", [](Config& c) { c.heartbeat_ticks = 0; }, false},
      {"election <= heartbeat", [](Config& c) { c.election_ticks = 1; }, false},
      {"no inflight", [](Config& c) { c.max_inflight_msgs = 0; }, false},
      {"window smaller than a message", [](Config& c) { c.max_inflight_bytes = 10; }, false},
      // Thesis §6.4.1: a lease is sound only if an isolated leader steps down.
      {"lease without check-quorum",
       [](Config& c) {
         c.read_only = ReadOnlyOption::kLeaseBased;
         c.check_quorum = false;
       },
       false},
      {"lease with check-quorum", [](Config& c) { c.read_only = ReadOnlyOption::kLeaseBased; }, true},
  };
  for (const Case& c : cases) {
    Config config;
    config.id = 1;
    c.mutate(config);
    absl::Status s = config.Validate();
    EXPECT_EQ(s.ok(), c.want_ok) << c.name << ": " << s;
    if (!s.ok()) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    }
  }
}

}  // namespace
}  // namespace rkv::raft
