#include "server/validate.h"

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::server {
namespace {

struct Case {
  const char* name;
  std::function<absl::Status()> check;
  absl::StatusCode want;
  const char* message_part = "";
};

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    absl::Status s = c.check();
    EXPECT_EQ(s.code(), c.want) << c.name << ": " << s;
    EXPECT_NE(std::string(s.message()).find(c.message_part), std::string::npos)
        << c.name << ": \"" << s.message() << "\" should mention \"" << c.message_part << "\"";
  }
}

const Limits kLimits;

v1::PutRequest Put(std::string key, std::string value, uint64_t ttl_ms = 0) {
  v1::PutRequest r;
  r.set_key(std::move(key));
  r.set_value(std::move(value));
  r.set_ttl_ms(ttl_ms);
  return r;
}

v1::RangeRequest Range(std::string key, std::string end, bool prefix = false, uint64_t limit = 0) {
  v1::RangeRequest r;
  r.set_key(std::move(key));
  r.set_range_end(std::move(end));
  r.set_prefix(prefix);
  r.set_limit(limit);
  return r;
}

// DESIGN §4 limits: every bad input gets INVALID_ARGUMENT naming the limit
// and the actual value.
TEST(ValidateTest, PutGetDeleteAndRangeShapes) {
  RunCases({
      {"put ok", [] { return ValidatePut(Put("k", "v"), kLimits); }, absl::StatusCode::kOk},
      {"empty key", [] { return ValidatePut(Put("", "v"), kLimits); },
       absl::StatusCode::kInvalidArgument, "key is empty"},
      {"key too long", [] { return ValidatePut(Put(std::string(4097, 'k'), "v"), kLimits); },
       absl::StatusCode::kInvalidArgument, "4097 bytes; the limit is 4096"},
      {"key at limit", [] { return ValidatePut(Put(std::string(4096, 'k'), "v"), kLimits); },
       absl::StatusCode::kOk},
      {"value too long",
       [] { return ValidatePut(Put("k", std::string((1 << 20) + 1, 'v')), kLimits); },
       absl::StatusCode::kInvalidArgument, "value is 1048577 bytes; the limit is 1048576"},
      {"ttl too long", [] { return ValidatePut(Put("k", "v", ~0ull), kLimits); },
       absl::StatusCode::kInvalidArgument, "ttl_ms"},
      {"get empty key", [] { return ValidateGet(v1::GetRequest(), kLimits); },
       absl::StatusCode::kInvalidArgument, "key is empty"},
      {"delete empty key", [] { return ValidateDelete(v1::DeleteRequest(), kLimits); },
       absl::StatusCode::kInvalidArgument, "key is empty"},
      {"range one key", [] { return ValidateRange(Range("a", ""), kLimits); }, absl::StatusCode::kOk},
      {"range everything", [] { return ValidateRange(Range("", std::string(1, '\0')), kLimits); },
       absl::StatusCode::kOk},
      {"range end before start", [] { return ValidateRange(Range("b", "a"), kLimits); },
       absl::StatusCode::kInvalidArgument, "is not after the start key"},
      {"range end equals start", [] { return ValidateRange(Range("b", "b"), kLimits); },
       absl::StatusCode::kInvalidArgument, "is not after the start key"},
      {"prefix with end", [] { return ValidateRange(Range("a", "b", true), kLimits); },
       absl::StatusCode::kInvalidArgument, "exclusive"},
      {"limit over page", [] { return ValidateRange(Range("a", "b", false, 10001), kLimits); },
       absl::StatusCode::kInvalidArgument, "limit is 10001"},
  });
}

v1::TxnRequest Txn(std::vector<std::string> compare_keys, std::vector<std::string> put_keys) {
  v1::TxnRequest t;
  for (auto& k : compare_keys) {
    v1::Compare* c = t.add_compare();
    c->set_key(k);
    c->set_target(v1::Compare::VERSION);
    c->set_result(v1::Compare::EQUAL);
    c->set_version(0);
  }
  for (auto& k : put_keys) *t.add_success()->mutable_put() = Put(k, "v");
  return t;
}

TEST(ValidateTest, TxnShapesAndSinglePartitionRule) {
  Partitioner p(8);
  // Find two plain keys in different partitions.
  std::string other = "b";
  for (int i = 0; p.PartitionOf(other) == p.PartitionOf("a"); ++i) other = "b" + std::to_string(i);
  RunCases({
      {"same tag", [&] { return ValidateTxn(Txn({"{t}x"}, {"{t}y", "{t}z"}), kLimits, p).status(); },
       absl::StatusCode::kOk},
      {"spans partitions", [&] { return ValidateTxn(Txn({"a"}, {other}), kLimits, p).status(); },
       absl::StatusCode::kInvalidArgument, "a txn spans one partition"},
      {"empty", [&] { return ValidateTxn(v1::TxnRequest(), kLimits, p).status(); },
       absl::StatusCode::kInvalidArgument, "no compares"},
      {"too many ops",
       [&] { return ValidateTxn(Txn({}, std::vector<std::string>(129, "{t}k")), kLimits, p).status(); },
       absl::StatusCode::kInvalidArgument, "129 compares and operations; the limit is 128"},
      {"operand mismatch",
       [&] {
         v1::TxnRequest t = Txn({"k"}, {});
         t.mutable_compare(0)->set_value("x");
         return ValidateTxn(t, kLimits, p).status();
       },
       absl::StatusCode::kInvalidArgument, "operand does not match"},
      {"exists with greater",
       [&] {
         v1::TxnRequest t = Txn({"k"}, {});
         t.mutable_compare(0)->set_target(v1::Compare::EXISTS);
         t.mutable_compare(0)->set_exists(true);
         t.mutable_compare(0)->set_result(v1::Compare::GREATER);
         return ValidateTxn(t, kLimits, p).status();
       },
       absl::StatusCode::kInvalidArgument, "EXISTS takes EQUAL or NOT_EQUAL"},
      {"range op with prefix",
       [&] {
         v1::TxnRequest t = Txn({"k"}, {});
         t.add_success()->mutable_range()->set_key("k");
         t.mutable_success(0)->mutable_range()->set_prefix(true);
         return ValidateTxn(t, kLimits, p).status();
       },
       absl::StatusCode::kInvalidArgument, "reads one key"},
      {"empty op",
       [&] {
         v1::TxnRequest t = Txn({"k"}, {});
         t.add_failure();
         return ValidateTxn(t, kLimits, p).status();
       },
       absl::StatusCode::kInvalidArgument, "operation is empty"},
  });
}

}  // namespace
}  // namespace rkv::server
