#include "cli/txn_parser.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace rkv::cli {
namespace {

enum class TokenKind { kWord, kString, kOpenParen, kCloseParen, kCompare, kNot, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  // The word, the unescaped string, or the operator.
  std::string text;
  int line = 1;
  int column = 1;
};

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "the end of the text";
    case TokenKind::kString:
      return absl::StrCat("string \"", absl::CHexEscape(token.text), "\"");
    default:
      return absl::StrCat("\"", absl::CHexEscape(token.text), "\"");
  }
}

absl::Status ErrorAt(int line, int column, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrFormat("line %d, column %d: %s", line, column, what));
}

absl::Status Expected(const Token& token, absl::string_view what) {
  return ErrorAt(token.line, token.column,
                 absl::StrCat("expected ", what, ", got ", Describe(token)));
}

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpaceAndComments();
      Token token;
      token.line = line_;
      token.column = column_;
      if (pos_ == text_.size()) {
        tokens.push_back(token);
        return tokens;
      }
      const char c = text_[pos_];
      if (c == '(' || c == ')') {
        token.kind = c == '(' ? TokenKind::kOpenParen : TokenKind::kCloseParen;
        token.text = std::string(1, c);
        Advance(1);
      } else if (c == '"') {
        token.kind = TokenKind::kString;
        absl::StatusOr<std::string> s = QuotedString();
        if (!s.ok()) return s.status();
        token.text = *std::move(s);
      } else if (c == '=' || c == '!' || c == '<' || c == '>') {
        absl::Status s = Operator(&token);
        if (!s.ok()) return s;
      } else {
        token.kind = TokenKind::kWord;
        const size_t start = pos_;
        while (pos_ < text_.size() && !IsWordEnd(text_[pos_])) Advance(1);
        token.text = std::string(text_.substr(start, pos_ - start));
      }
      tokens.push_back(std::move(token));
    }
  }

 private:
  static bool IsWordEnd(char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')' || c == '"' ||
           c == '#';
  }

  void Advance(size_t n) {
    for (size_t i = 0; i < n && pos_ < text_.size(); ++i, ++pos_) {
      if (text_[pos_] == '\n') {
        ++line_;
        column_ = 1;
      } else {
        ++column_;
      }
    }
  }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
        Advance(1);
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') Advance(1);
      } else {
        return;
      }
    }
  }

  absl::Status Operator(Token* token) {
    const absl::string_view rest = text_.substr(pos_);
    for (absl::string_view op : {"==", "!=", "<", ">"}) {
      if (absl::StartsWith(rest, op)) {
        token->kind = TokenKind::kCompare;
        token->text = std::string(op);
        Advance(op.size());
        return absl::OkStatus();
      }
    }
    if (rest[0] == '!') {
      token->kind = TokenKind::kNot;
      token->text.assign(1, '!');
      Advance(1);
      return absl::OkStatus();
    }
    return ErrorAt(line_, column_, "\"=\" is not an operator; compare with == (or quote the word)");
  }

  absl::StatusOr<std::string> QuotedString() {
    const int line = line_;
    const int column = column_;
    Advance(1);  // the opening quote
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        Advance(1);
        return out;
      }
      if (c != '\\') {
        out.push_back(c);
        Advance(1);
        continue;
      }
      if (pos_ + 1 >= text_.size()) break;
      const char e = text_[pos_ + 1];
      const int escape_column = column_;
      Advance(2);
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case '0':
          out.push_back('\0');
          break;
        case 'x': {
          int value = 0;
          if (pos_ + 2 > text_.size() || !absl::SimpleHexAtoi(text_.substr(pos_, 2), &value) ||
              !absl::ascii_isxdigit(static_cast<unsigned char>(text_[pos_])) ||
              !absl::ascii_isxdigit(static_cast<unsigned char>(text_[pos_ + 1]))) {
            return ErrorAt(line_, escape_column, "\\x needs two hex digits");
          }
          out.push_back(static_cast<char>(value));
          Advance(2);
          break;
        }
        default:
          return ErrorAt(line_, escape_column,
                         absl::StrCat("unknown escape \\", std::string(1, e),
                                      "; use \\\" \\\\ \\n \\t \\r \\0 or \\xHH"));
      }
    }
    return ErrorAt(line, column, "string is not closed with \"");
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

constexpr absl::string_view kCompareNames =
    "a comparison (value, version, create, mod, exists, missing) or \"then\"";

bool IsKeyword(const Token& token) {
  return token.kind == TokenKind::kWord && (token.text == "if" || token.text == "then" ||
                                            token.text == "else" || token.text == "and");
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  absl::StatusOr<v1::TxnRequest> Run() {
    v1::TxnRequest txn;
    if (IsWord("if")) {
      Next();
      while (!IsWord("then") && Peek().kind != TokenKind::kEnd) {
        if (txn.compare_size() > 0 && IsWord("and")) Next();
        absl::Status s = ParseCompare(txn.add_compare());
        if (!s.ok()) return s;
      }
      if (txn.compare_size() == 0) return Expected(Peek(), "a comparison after \"if\"");
    }
    if (!IsWord("then")) {
      return Expected(Peek(), txn.compare_size() == 0 ? "\"if\" or \"then\"" : "\"then\"");
    }
    Next();
    while (!IsWord("else") && Peek().kind != TokenKind::kEnd) {
      absl::Status s = ParseOp(txn.add_success());
      if (!s.ok()) return s;
    }
    if (IsWord("else")) {
      Next();
      while (Peek().kind != TokenKind::kEnd) {
        absl::Status s = ParseOp(txn.add_failure());
        if (!s.ok()) return s;
      }
    }
    return txn;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() {
    const Token& token = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return token;
  }
  bool IsWord(absl::string_view word) const {
    return Peek().kind == TokenKind::kWord && Peek().text == word;
  }

  // A key, value or string operand: a bare word that is not a keyword, or a
  // quoted string.
  absl::StatusOr<std::string> Text(absl::string_view what) {
    const Token& token = Peek();
    if (token.kind == TokenKind::kString || (token.kind == TokenKind::kWord && !IsKeyword(token))) {
      return Next().text;
    }
    return Expected(token, what);
  }

  absl::StatusOr<std::string> ParenthesizedKey(const std::string& function) {
    if (Peek().kind != TokenKind::kOpenParen) {
      return Expected(Peek(), absl::StrCat("\"(\" after ", function));
    }
    Next();
    absl::StatusOr<std::string> key = Text(absl::StrCat("a key in ", function, "(...)"));
    if (!key.ok()) return key.status();
    if (Peek().kind != TokenKind::kCloseParen) {
      return Expected(Peek(), absl::StrCat("\")\" after the key of ", function, "(...)"));
    }
    Next();
    return key;
  }

  absl::Status ParseCompare(v1::Compare* compare) {
    bool negated = false;
    if (Peek().kind == TokenKind::kNot) {
      negated = true;
      Next();
    }
    const Token& name = Peek();
    if (name.kind != TokenKind::kWord) {
      return Expected(name, kCompareNames);
    }
    const std::string function = Next().text;
    if (negated && function != "exists") {
      return ErrorAt(name.line, name.column, "\"!\" applies only to exists(...)");
    }
    v1::Compare::Target target;
    if (function == "value") {
      target = v1::Compare::VALUE;
    } else if (function == "version") {
      target = v1::Compare::VERSION;
    } else if (function == "create") {
      target = v1::Compare::CREATE_REVISION;
    } else if (function == "mod") {
      target = v1::Compare::MOD_REVISION;
    } else if (function == "exists" || function == "missing") {
      target = v1::Compare::EXISTS;
    } else {
      return Expected(name, kCompareNames);
    }
    absl::StatusOr<std::string> key = ParenthesizedKey(function);
    if (!key.ok()) return key.status();
    compare->set_key(*std::move(key));
    compare->set_target(target);
    if (target == v1::Compare::EXISTS) {
      compare->set_result(v1::Compare::EQUAL);
      compare->set_exists(function == "exists" && !negated);
      return absl::OkStatus();
    }
    const Token& op = Peek();
    if (op.kind != TokenKind::kCompare) {
      return Expected(op, absl::StrCat("==, !=, > or < after ", function, "(...)"));
    }
    compare->set_result(op.text == "=="   ? v1::Compare::EQUAL
                        : op.text == "!=" ? v1::Compare::NOT_EQUAL
                        : op.text == ">"  ? v1::Compare::GREATER
                                          : v1::Compare::LESS);
    Next();
    if (target == v1::Compare::VALUE) {
      absl::StatusOr<std::string> value = Text("a value to compare with");
      if (!value.ok()) return value.status();
      compare->set_value(*std::move(value));
      return absl::OkStatus();
    }
    const Token& number = Peek();
    uint64_t n = 0;
    if (number.kind != TokenKind::kWord || !absl::SimpleAtoi(number.text, &n) ||
        !absl::ascii_isdigit(static_cast<unsigned char>(number.text[0]))) {
      return Expected(number,
                      absl::StrCat("a non-negative number after ", function, "(...) ", op.text));
    }
    Next();
    if (target == v1::Compare::VERSION) compare->set_version(n);
    if (target == v1::Compare::CREATE_REVISION) compare->set_create_revision(n);
    if (target == v1::Compare::MOD_REVISION) compare->set_mod_revision(n);
    return absl::OkStatus();
  }

  absl::Status ParseOp(v1::RequestOp* op) {
    const Token& verb = Peek();
    if (verb.kind != TokenKind::kWord ||
        (verb.text != "put" && verb.text != "del" && verb.text != "get")) {
      return Expected(verb, "put, del or get");
    }
    const std::string name = Next().text;
    absl::StatusOr<std::string> key = Text(absl::StrCat("a key after ", name));
    if (!key.ok()) return key.status();
    if (name == "del") {
      op->mutable_delete_()->set_key(*std::move(key));
      return absl::OkStatus();
    }
    if (name == "get") {
      op->mutable_range()->set_key(*std::move(key));
      return absl::OkStatus();
    }
    v1::PutRequest* put = op->mutable_put();
    put->set_key(*std::move(key));
    absl::StatusOr<std::string> value = Text(absl::StrCat("a value after put ", put->key()));
    if (!value.ok()) return value.status();
    put->set_value(*std::move(value));
    if (Peek().kind == TokenKind::kWord && absl::StartsWith(Peek().text, "ttl=")) {
      const Token& ttl = Next();
      absl::Duration d;
      if (!absl::ParseDuration(ttl.text.substr(4), &d) || d < absl::Milliseconds(1)) {
        return ErrorAt(ttl.line, ttl.column,
                       absl::StrCat("ttl \"", ttl.text.substr(4),
                                    "\" is not a positive duration such as 10s, 1500ms or 24h"));
      }
      put->set_ttl_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(d)));
    }
    return absl::OkStatus();
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<v1::TxnRequest> ParseTxn(absl::string_view text) {
  if (text.size() > kMaxTxnTextBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("txn text is %d bytes; the limit is %d", text.size(), kMaxTxnTextBytes));
  }
  absl::StatusOr<std::vector<Token>> tokens = Lexer(text).Run();
  if (!tokens.ok()) return tokens.status();
  return Parser(*std::move(tokens)).Run();
}

}  // namespace rkv::cli
