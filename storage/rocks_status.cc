#include "storage/rocks_status.h"

#include <string>

#include <rocksdb/status.h>

#include "absl/strings/str_cat.h"

namespace rkv::storage {

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": rocksdb: ", status.ToString());
  using Code = rocksdb::Status::Code;
  switch (status.code()) {
    case Code::kCorruption:
      return absl::DataLossError(message);
    case Code::kNotFound:
      return absl::NotFoundError(message);
    case Code::kInvalidArgument:
      return absl::InvalidArgumentError(message);
    case Code::kBusy:
    case Code::kTryAgain:
    case Code::kShutdownInProgress:
    case Code::kIncomplete:
      return absl::UnavailableError(message);
    case Code::kTimedOut:
      return absl::DeadlineExceededError(message);
    case Code::kAborted:
      return absl::AbortedError(message);
    case Code::kColumnFamilyDropped:
      return absl::FailedPreconditionError(message);
    case Code::kNotSupported:
      return absl::UnimplementedError(message);
    case Code::kIOError:
      if (status.IsNoSpace()) return absl::ResourceExhaustedError(message);
      return absl::InternalError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace rkv::storage
