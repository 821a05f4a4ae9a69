#include "cli/txn_parser.h"

#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace rkv::cli {
namespace {

v1::TxnRequest FromText(const std::string& text) {
  v1::TxnRequest txn;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &txn)) << text;
  return txn;
}

// The documented syntax (txn_parser.h): each form maps to one TxnRequest.
TEST(TxnParserTest, ParsesTheDocumentedForms) {
  struct Case {
    const char* text;
    const char* want;  // TxnRequest in protobuf text format
  };
  const std::vector<Case> cases = {
      {"then put k v", "success { put { key: 'k' value: 'v' } }"},
      {"then", ""},
      {"if exists(k) then del k",
       "compare { key: 'k' target: EXISTS result: EQUAL exists: true } "
       "success { delete { key: 'k' } }"},
      {"if missing(k) then put k 1",
       "compare { key: 'k' target: EXISTS result: EQUAL exists: false } "
       "success { put { key: 'k' value: '1' } }"},
      {"if !exists(k) then", "compare { key: 'k' target: EXISTS result: EQUAL exists: false }"},
      {"if value(k) == \"a b\" then get k else get k",
       "compare { key: 'k' target: VALUE result: EQUAL value: 'a b' } "
       "success { range { key: 'k' } } failure { range { key: 'k' } }"},
      {"if version(k) != 3 and create(k) > 0 mod(k) < 17 then",
       "compare { key: 'k' target: VERSION result: NOT_EQUAL version: 3 } "
       "compare { key: 'k' target: CREATE_REVISION result: GREATER create_revision: 0 } "
       "compare { key: 'k' target: MOD_REVISION result: LESS mod_revision: 17 }"},
      {"then put k v ttl=1500ms put k2 v2 ttl=24h",
       "success { put { key: 'k' value: 'v' ttl_ms: 1500 } } "
       "success { put { key: 'k2' value: 'v2' ttl_ms: 86400000 } }"},
      {"if value({acct1}:balance) == 100 and exists({acct1}:owner)\n"
       "then put {acct1}:balance 90  # withdraw\n"
       "     put {acct1}:log \"withdrew 10\"\n"
       "else get {acct1}:balance\n",
       "compare { key: '{acct1}:balance' target: VALUE result: EQUAL value: '100' } "
       "compare { key: '{acct1}:owner' target: EXISTS result: EQUAL exists: true } "
       "success { put { key: '{acct1}:balance' value: '90' } } "
       "success { put { key: '{acct1}:log' value: 'withdrew 10' } } "
       "failure { range { key: '{acct1}:balance' } }"},
      {"then put \"then\" \"a\\\"b\\\\c\\n\\x00\\xff\"",
       "success { put { key: 'then' value: 'a\"b\\\\c\\n\\000\\377' } }"},
      {"if value(k)==v then", "compare { key: 'k' target: VALUE result: EQUAL value: 'v' }"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::TxnRequest> got = ParseTxn(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    const v1::TxnRequest want = FromText(c.want);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*got, want))
        << c.text << "\n got: " << got->ShortDebugString() << "\nwant: " << want.ShortDebugString();
  }
}

// Syntax errors name the line, the column, what was expected and what was
// found (STYLE §3: actionable messages).
TEST(TxnParserTest, ErrorsSayWhereAndWhat) {
  struct Case {
    const char* text;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"", "line 1, column 1: expected \"if\" or \"then\", got the end of the text"},
      {"put k v", "line 1, column 1: expected \"if\" or \"then\", got \"put\""},
      {"if then", "line 1, column 4: expected a comparison after \"if\", got \"then\""},
      {"if value(k) == v", "line 1, column 17: expected \"then\", got the end of the text"},
      {"if valu(k) == v then", "line 1, column 4: expected a comparison (value, version"},
      {"if value k then", "line 1, column 10: expected \"(\" after value, got \"k\""},
      {"if value(k then", "line 1, column 12: expected \")\" after the key of value(...)"},
      {"if value() == 1 then", "line 1, column 10: expected a key in value(...), got \")\""},
      {"if value(k) = 1 then", "line 1, column 13: \"=\" is not an operator"},
      {"if value(k) 1 then", "line 1, column 13: expected ==, !=, > or < after value(...)"},
      {"if version(k) > -1 then", "line 1, column 17: expected a non-negative number"},
      {"if version(k) > x then", "expected a non-negative number after version(...) >, got \"x\""},
      {"if !value(k) == 1 then", "line 1, column 5: \"!\" applies only to exists(...)"},
      {"then\n  put k", "line 2, column 8: expected a value after put k, got the end"},
      {"then\n  set k v", "line 2, column 3: expected put, del or get, got \"set\""},
      {"then del", "line 1, column 9: expected a key after del, got the end of the text"},
      {"then put k v ttl=soon", "line 1, column 14: ttl \"soon\" is not a positive duration"},
      {"then put k v ttl=0s", "ttl \"0s\" is not a positive duration"},
      {"then put k \"open", "line 1, column 12: string is not closed"},
      {"then put k \"\\q\"", "line 1, column 13: unknown escape \\q"},
      {"then put k \"\\xZZ\"", "\\x needs two hex digits"},
      {"then put if v", "line 1, column 10: expected a key after put, got \"if\""},
      {"then get k else else", "line 1, column 17: expected put, del or get, got \"else\""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::TxnRequest> got = ParseTxn(c.text);
    ASSERT_FALSE(got.ok()) << c.text << " parsed as " << got->ShortDebugString();
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(std::string(got.status().message()).find(c.message), std::string::npos)
        << c.text << "\n got: " << got.status().message() << "\nwant: " << c.message;
  }
}

// Input is bounded (STYLE §1.6).
TEST(TxnParserTest, RejectsTextOverTheLimit) {
  const std::string big(kMaxTxnTextBytes + 1, ' ');
  absl::StatusOr<v1::TxnRequest> got = ParseTxn(big);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(std::string(got.status().message()).find("the limit is 1048576"), std::string::npos);
}

}  // namespace
}  // namespace rkv::cli
