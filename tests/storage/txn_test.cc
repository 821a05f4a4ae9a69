// Txn semantics: every compare target and result against present, absent and
// expired keys (as etcd: a missing key has version and revisions 0 and fails
// every value compare), branch choice, and ops that see earlier ops.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/state_machine.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/temp_dir.h"

namespace rkv::storage {
namespace {

using ::rkv::internal::Command;
using ::rkv::internal::Compare;
using ::rkv::storage::testing::MakeEntry;
using ::rkv::storage::testing::OpenEngine;
using ::rkv::storage::testing::PutCommand;
using ::rkv::testing::TempDir;

class TxnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = OpenEngine(dir_.path());
    ASSERT_NE(engine_, nullptr);
    ASSERT_TRUE(engine_->CreatePartition(1, {}).ok());
    auto machine = StateMachine::Open(engine_.get(), 1, StateMachineLimits());
    ASSERT_TRUE(machine.ok());
    machine_ = *std::move(machine);
    // "k" = "m" created at 1, modified at 3 (version 2); "ttl" expires at 100.
    Apply(PutCommand("k", "a"));
    Apply(PutCommand("ttl", "t", /*expiry_unix_ms=*/100));
    Apply(PutCommand("k", "m"));
  }

  EntryResult Apply(const std::string& data) {
    auto results =
        machine_->Apply({MakeEntry(machine_->applied_index() + 1, 1, data)}, {});
    EXPECT_TRUE(results.ok()) << results.status();
    return results.ok() ? (*results)[0] : EntryResult{};
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<StateMachine> machine_;
};

Compare MakeCompare(const std::string& key, Compare::Target target, Compare::Result result) {
  Compare compare;
  compare.set_key(key);
  compare.set_target(target);
  compare.set_result(result);
  return compare;
}

TEST_F(TxnTest, CompareSemantics) {
  struct Case {
    const char* name;
    Compare compare;
    uint64_t now_unix_ms;
    bool holds;
  };
  auto value = [](const std::string& key, Compare::Result r, const std::string& v) {
    Compare c = MakeCompare(key, Compare::TARGET_VALUE, r);
    c.set_value(v);
    return c;
  };
  auto version = [](const std::string& key, Compare::Result r, uint64_t v) {
    Compare c = MakeCompare(key, Compare::TARGET_VERSION, r);
    c.set_version(v);
    return c;
  };
  auto create = [](const std::string& key, Compare::Result r, uint64_t v) {
    Compare c = MakeCompare(key, Compare::TARGET_CREATE_REVISION, r);
    c.set_create_revision(v);
    return c;
  };
  auto mod = [](const std::string& key, Compare::Result r, uint64_t v) {
    Compare c = MakeCompare(key, Compare::TARGET_MOD_REVISION, r);
    c.set_mod_revision(v);
    return c;
  };
  auto exists = [](const std::string& key, Compare::Result r, bool v) {
    Compare c = MakeCompare(key, Compare::TARGET_EXISTS, r);
    c.set_exists(v);
    return c;
  };
  using C = Compare;
  const std::vector<Case> cases = {
      {"value equal", value("k", C::RESULT_EQUAL, "m"), 0, true},
      {"value equal, other", value("k", C::RESULT_EQUAL, "a"), 0, false},
      {"value not equal", value("k", C::RESULT_NOT_EQUAL, "a"), 0, true},
      {"value greater", value("k", C::RESULT_GREATER, "l"), 0, true},
      {"value greater, prefix", value("k", C::RESULT_GREATER, "mm"), 0, false},
      {"value less", value("k", C::RESULT_LESS, "n"), 0, true},
      {"value of missing key never holds", value("nope", C::RESULT_NOT_EQUAL, "x"), 0, false},
      {"value of missing key, empty", value("nope", C::RESULT_EQUAL, ""), 0, false},
      {"version equal", version("k", C::RESULT_EQUAL, 2), 0, true},
      {"version greater", version("k", C::RESULT_GREATER, 1), 0, true},
      {"version less", version("k", C::RESULT_LESS, 2), 0, false},
      {"version of missing key is 0", version("nope", C::RESULT_EQUAL, 0), 0, true},
      {"create revision", create("k", C::RESULT_EQUAL, 1), 0, true},
      {"create revision not equal", create("k", C::RESULT_NOT_EQUAL, 1), 0, false},
      {"create revision of missing key is 0", create("nope", C::RESULT_LESS, 1), 0, true},
      {"mod revision", mod("k", C::RESULT_EQUAL, 3), 0, true},
      {"mod revision less", mod("k", C::RESULT_LESS, 3), 0, false},
      {"mod revision greater", mod("k", C::RESULT_GREATER, 2), 0, true},
      {"exists", exists("k", C::RESULT_EQUAL, true), 0, true},
      {"exists not", exists("k", C::RESULT_NOT_EQUAL, true), 0, false},
      {"missing does not exist", exists("nope", C::RESULT_EQUAL, false), 0, true},
      {"live ttl key exists", exists("ttl", C::RESULT_EQUAL, true), 99, true},
      {"expired key does not exist", exists("ttl", C::RESULT_EQUAL, false), 100, true},
      {"expired key has version 0", version("ttl", C::RESULT_EQUAL, 0), 100, true},
      {"expired key fails value compare", value("ttl", C::RESULT_EQUAL, "t"), 100, false},
  };
  for (const Case& c : cases) {
    Command command;
    command.set_now_unix_ms(c.now_unix_ms);
    *command.mutable_txn()->add_compares() = c.compare;
    EntryResult r = Apply(command.SerializeAsString());
    ASSERT_TRUE(r.status.ok()) << c.name << ": " << r.status;
    EXPECT_EQ(r.result.txn().succeeded(), c.holds) << c.name;
  }
}

TEST_F(TxnTest, InvalidComparesAreRejected) {
  struct Case {
    const char* name;
    Compare compare;
    const char* message;
  };
  Compare exists_greater = MakeCompare("k", Compare::TARGET_EXISTS, Compare::RESULT_GREATER);
  exists_greater.set_exists(true);
  Compare mismatched = MakeCompare("k", Compare::TARGET_VERSION, Compare::RESULT_EQUAL);
  mismatched.set_value("x");
  Compare no_target = MakeCompare("k", Compare::TARGET_UNSPECIFIED, Compare::RESULT_EQUAL);
  Compare no_result = MakeCompare("k", Compare::TARGET_VERSION, Compare::RESULT_UNSPECIFIED);
  no_result.set_version(1);
  Compare unknown_result = MakeCompare("k", Compare::TARGET_VERSION, static_cast<Compare::Result>(42));
  unknown_result.set_version(1);
  const std::vector<Case> cases = {
      {"exists with greater", exists_greater, "only equal or not-equal"},
      {"operand mismatch", mismatched, "does not match its target"},
      {"no target", no_target, "unknown compare target"},
      {"no result", no_result, "unknown compare result"},
      {"unknown result", unknown_result, "unknown compare result 42"},
  };
  for (const Case& c : cases) {
    Command command;
    *command.mutable_txn()->add_compares() = c.compare;
    command.mutable_txn()->add_success()->mutable_put()->set_key("side-effect");
    EntryResult r = Apply(command.SerializeAsString());
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(r.status.message().find(c.message), absl::string_view::npos)
        << c.name << ": " << r.status;
    EXPECT_FALSE(machine_->Get("side-effect", 0)->has_value()) << c.name;
  }
  StateMachineLimits limits;
  EXPECT_EQ(limits.max_txn_ops, 128u);
  Command big;
  for (int i = 0; i < 129; ++i) big.mutable_txn()->add_success()->mutable_put()->set_key("x");
  EXPECT_EQ(Apply(big.SerializeAsString()).status.code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(TxnTest, BranchesRunTheirOpsInOrder) {
  Command command;
  auto* txn = command.mutable_txn();
  Compare compare = MakeCompare("k", Compare::TARGET_MOD_REVISION, Compare::RESULT_EQUAL);
  compare.set_mod_revision(3);
  *txn->add_compares() = compare;
  // Success: put x, read it back in the same txn, delete k.
  auto* put = txn->add_success()->mutable_put();
  put->set_key("x");
  put->set_value("1");
  txn->add_success()->mutable_range()->set_key("x");
  auto* del = txn->add_success()->mutable_delete_key();
  del->set_key("k");
  del->set_prev_kv(true);
  // Failure: put y.
  txn->add_failure()->mutable_put()->set_key("y");

  EntryResult r = Apply(command.SerializeAsString());  // index 4
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.result.revision(), 4u);
  ASSERT_TRUE(r.result.txn().succeeded());
  ASSERT_EQ(r.result.txn().results_size(), 3);
  EXPECT_EQ(r.result.txn().results(1).range().kvs(0).value(), "1");
  EXPECT_EQ(r.result.txn().results(1).range().kvs(0).mod_revision(), 4u);
  EXPECT_EQ(r.result.txn().results(2).delete_key().prev_kvs(0).value(), "m");
  EXPECT_FALSE(machine_->Get("k", 0)->has_value());
  EXPECT_FALSE(machine_->Get("y", 0)->has_value());

  // The same txn again: k's mod revision is gone, so the failure branch runs.
  r = Apply(command.SerializeAsString());
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.result.txn().succeeded());
  ASSERT_EQ(r.result.txn().results_size(), 1);
  EXPECT_TRUE(machine_->Get("y", 0)->has_value());
  EXPECT_EQ(machine_->Get("x", 0).value()->version(), 1u);
}

}  // namespace
}  // namespace rkv::storage
