#include "storage/engine_options.h"

#include "absl/strings/str_cat.h"

namespace rkv::storage {

absl::Status EngineOptions::Validate() const {
  if (dir.empty()) return absl::InvalidArgumentError("engine dir is empty");
  if (block_cache_bytes < (8ull << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block_cache_bytes is ", block_cache_bytes, "; the minimum is ", 8ull << 20));
  }
  if (memtable_budget_bytes == 0 || memtable_budget_bytes >= block_cache_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("memtable_budget_bytes is ", memtable_budget_bytes,
                     "; it must be above 0 and below block_cache_bytes (", block_cache_bytes,
                     ")"));
  }
  if (raft_write_buffer_bytes < (1ull << 20) || partition_write_buffer_bytes < (1ull << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raft_write_buffer_bytes (", raft_write_buffer_bytes, ") and partition_write_buffer_bytes (",
        partition_write_buffer_bytes, ") must each be at least ", 1ull << 20));
  }
  if (background_jobs < 1 || background_jobs > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("background_jobs is ", background_jobs, "; it must be in [1, 64]"));
  }
  if (max_partitions == 0 || max_partitions > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_partitions is ", max_partitions, "; it must be in [1, 100000]"));
  }
  return absl::OkStatus();
}

}  // namespace rkv::storage
