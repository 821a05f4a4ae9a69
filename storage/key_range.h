// The public API's key-range conventions (etcd's), in one place for the
// server's request validation and the state machine's command validation:
// a range end of "\0" reads to the end of the keyspace, and the empty key
// with that end reads every key. Header-only, so the server's pure logic can
// use it without linking storage/.
#pragma once

#include "absl/strings/string_view.h"

namespace rkv::storage {

inline bool ReadsToTheEnd(absl::string_view range_end) {
  return range_end == absl::string_view("\0", 1);
}

inline bool IsWholeKeyspace(absl::string_view key, absl::string_view range_end) {
  return key.empty() && ReadsToTheEnd(range_end);
}

}  // namespace rkv::storage
