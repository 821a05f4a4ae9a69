#include "client/errors.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rkv::client {

absl::Status OutcomeUnknownError(absl::string_view what) {
  return absl::UnknownError(absl::StrCat(kOutcomeUnknownPrefix, what));
}

bool IsIndeterminate(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnknown &&
         absl::StartsWith(status.message(), kOutcomeUnknownPrefix);
}

}  // namespace rkv::client
