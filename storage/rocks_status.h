// Conversion of rocksdb::Status to absl::Status: the only place storage/ does
// it (STYLE §3, Errors). Thread-safe (pure functions).
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace rocksdb {
class Status;
}  // namespace rocksdb

namespace rkv::storage {

// OK stays OK. Otherwise the code follows what the caller should do next:
// corruption -> DATA_LOSS; no space -> RESOURCE_EXHAUSTED; busy, try-again,
// shutdown in progress -> UNAVAILABLE; timed out -> DEADLINE_EXCEEDED; invalid
// argument -> INVALID_ARGUMENT; not found -> NOT_FOUND; column family dropped ->
// FAILED_PRECONDITION; I/O errors and the rest -> INTERNAL. The message is
// "<context>: rocksdb: <rocksdb's text>"; context is lower case and names the
// partition, index or file involved.
absl::Status FromRocks(const rocksdb::Status& status, absl::string_view context);

}  // namespace rkv::storage
