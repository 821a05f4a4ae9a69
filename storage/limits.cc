#include "storage/limits.h"

#include "absl/strings/str_cat.h"

namespace rkv::storage {

absl::Status LogLimits::Validate() const {
  if (max_entry_bytes == 0 || max_entry_bytes > max_batch_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("max_entry_bytes is ", max_entry_bytes,
                                                   "; it must be in [1, max_batch_bytes (",
                                                   max_batch_bytes, ")]"));
  }
  if (term_cache_runs == 0 || term_cache_runs > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("term_cache_runs is ", term_cache_runs, "; it must be in [1, 4096]"));
  }
  return absl::OkStatus();
}

absl::Status StateMachineLimits::Validate() const {
  if (max_key_bytes == 0 || max_value_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_key_bytes (", max_key_bytes,
                                                   ") and max_value_bytes (", max_value_bytes,
                                                   ") must be positive"));
  }
  if (max_range_keys == 0 || max_range_keys > max_scan_keys) {
    return absl::InvalidArgumentError(absl::StrCat("max_range_keys is ", max_range_keys,
                                                   "; it must be in [1, max_scan_keys (",
                                                   max_scan_keys, ")]"));
  }
  if (max_apply_entries == 0 || max_apply_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_apply_entries (", max_apply_entries,
                                                   ") and max_apply_bytes (", max_apply_bytes,
                                                   ") must be positive"));
  }
  return absl::OkStatus();
}

absl::Status SnapshotLimits::Validate() const {
  if (target_chunk_bytes == 0 || target_chunk_bytes >= max_chunk_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("target_chunk_bytes is ", target_chunk_bytes,
                                                   "; it must be above 0 and below "
                                                   "max_chunk_bytes (",
                                                   max_chunk_bytes, ")"));
  }
  if (max_chunk_bytes > (1ull << 31)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_chunk_bytes is ", max_chunk_bytes, "; the limit is ", 1ull << 31));
  }
  if (max_sst_file_bytes == 0 || max_snapshot_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_sst_file_bytes (", max_sst_file_bytes,
                                                   ") and max_snapshot_bytes (",
                                                   max_snapshot_bytes, ") must be positive"));
  }
  return absl::OkStatus();
}

}  // namespace rkv::storage
