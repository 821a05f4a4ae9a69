// The text syntax of `rkvctl txn`: a readable compare-and-swap transaction,
// parsed into a v1::TxnRequest. Owns the syntax only; what a valid Txn is
// (limits, one partition) is the server's to check.
//
//   txn     := [ "if" compare { ["and"] compare } ] "then" { op } [ "else" { op } ]
//   compare := value(KEY) CMP STRING       the key's value
//            | version(KEY) CMP NUMBER     puts since creation (0: absent)
//            | create(KEY) CMP NUMBER      revision that created the key
//            | mod(KEY) CMP NUMBER         revision that last changed the key
//            | exists(KEY) | missing(KEY) | !exists(KEY)
//   CMP     := == | != | > | <
//   op      := put KEY VALUE [ttl=DURATION] | del KEY | get KEY
//
// KEY, VALUE and STRING are bare words or "double-quoted" strings with the
// escapes \" \\ \n \t \r \0 and \xHH. A bare word runs to the next space,
// parenthesis, quote or '#', and may not start with = ! < or >; quote anything
// else, including the words if, then, else and and. DURATION is like 10s,
// 1500ms, 24h. '#' starts a comment to the end of the line. Line breaks are
// spaces. Example (hash tags keep the keys in one partition):
//
//   if value({acct1}:balance) == "100" and exists({acct1}:owner)
//   then put {acct1}:balance 90
//        put {acct1}:log "withdrew 10" ttl=24h
//   else get {acct1}:balance
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rkv/v1/kv.pb.h"

namespace rkv::cli {

inline constexpr size_t kMaxTxnTextBytes = 1 << 20;

// INVALID_ARGUMENT "line L, column C: <what was expected>, got <what was
// found>" for text that does not follow the syntax or exceeds
// kMaxTxnTextBytes.
absl::StatusOr<v1::TxnRequest> ParseTxn(absl::string_view text);

}  // namespace rkv::cli
