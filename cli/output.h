// rkvctl's two output forms: aligned text tables for people and JSON for
// scripts (--output table|json). Owns the mechanics (column widths, JSON
// escaping, byte strings that are not UTF-8); what each command prints lives
// in render.h. Values are built in memory and printed once. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rkv::cli {

enum class OutputFormat { kTable, kJson };

// "table" or "json"; INVALID_ARGUMENT otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text);

// Printable ASCII and valid UTF-8 as they are; other bytes as \xHH, and a
// backslash as \\, so a terminal shows every byte unambiguously.
std::string EscapeForTerminal(absl::string_view bytes);

bool IsValidUtf8(absl::string_view bytes);

// Columns separated by two spaces, each as wide as its widest cell; the header
// row in upper case. Cells are printed as given (escape them first).
class Table final {
 public:
  explicit Table(std::vector<std::string> headers);

  // REQUIRES: cells.size() == the number of headers.
  void AddRow(std::vector<std::string> cells);
  size_t row_count() const { return rows_.size(); }
  // Every line ends with '\n'; trailing spaces are trimmed.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Compact JSON, written in order. The caller balances Begin/End; Take()
// returns the text. Keys and values are escaped as JSON strings; byte strings
// use Bytes(), which writes "<key>": "<text>" when the bytes are valid UTF-8
// and "<key>_base64": "<base64>" otherwise.
class JsonWriter final {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The key of the next value inside an object.
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view utf8);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  // Finite values with up to 6 significant digits after the point.
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A key and its byte-string value, as described above.
  JsonWriter& Bytes(absl::string_view key, absl::string_view bytes);

  // The text, with a final newline.
  std::string Take();

 private:
  void BeforeValue();
  void Quote(absl::string_view utf8);

  std::string out_;
  // Whether the current container already holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace rkv::cli
