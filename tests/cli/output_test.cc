#include "cli/output.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::cli {
namespace {

// Tables: columns as wide as their widest cell, two spaces apart, no
// trailing spaces; UTF-8 measured in code points.
TEST(TableTest, AlignsColumns) {
  Table table({"key", "value"});
  table.AddRow({"a", "1"});
  table.AddRow({"longer", "é"});
  table.AddRow({"b", ""});
  EXPECT_EQ(table.Render(),
            "KEY     VALUE\n"
            "a       1\n"
            "longer  é\n"
            "b\n");
}

// Terminal text: every byte visible and unambiguous.
TEST(OutputTest, EscapeForTerminal) {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"plain text", "plain text"},
      {"tab\there", "tab\\x09here"},
      {"back\\slash", "back\\\\slash"},
      {std::string("nul\0", 4), "nul\\x00"},
      {"caf\xc3\xa9", "caf\xc3\xa9"},
      {"bad\xff", "bad\\xff"},
      {"\xc3", "\\xc3"},
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},  // a surrogate is not valid UTF-8
  };
  for (const Case& c : cases) EXPECT_EQ(EscapeForTerminal(c.in), c.want) << c.in;
}

TEST(OutputTest, Utf8Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

// JSON: commas, escaping, numbers, and bytes that are not UTF-8 as base64.
TEST(JsonWriterTest, WritesCompactJson) {
  JsonWriter json;
  json.BeginObject();
  json.Key("s").String("a\"b\\c\n\x01");
  json.Key("n").Uint(18446744073709551615ull);
  json.Key("i").Int(-3);
  json.Key("d").Double(1.5);
  json.Key("whole").Double(2.0);
  json.Key("t").Bool(true);
  json.Key("z").Null();
  json.Bytes("key", "text");
  json.Bytes("value", "\xff\x00");
  json.Key("list").BeginArray().Uint(1).BeginObject().EndObject().BeginArray().EndArray();
  json.EndArray();
  json.EndObject();
  EXPECT_EQ(json.Take(),
            "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":18446744073709551615,\"i\":-3,\"d\":1.5,"
            "\"whole\":2,\"t\":true,\"z\":null,\"key\":\"text\",\"value_base64\":\"/w==\","
            "\"list\":[1,{},[]]}\n");
}

TEST(OutputTest, ParseOutputFormat) {
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(ParseOutputFormat("yaml").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rkv::cli
