// spdlog set-up for rkvd, and the adapter through which the Raft core logs
// (raft::Logger) with the node and partition in every line. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"
#include "raft/logger.h"

// Debian's Abseil has its own string_view (Status::message() returns it); let
// spdlog lines print it directly.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

namespace rkv::server {

// Sets the default logger: stderr, one line per event, with the node id.
// INVALID_ARGUMENT for an unknown level name.
absl::Status SetUpLogging(uint64_t node_id, const std::string& level);
// Changes the level at run time.
absl::Status SetLogLevel(const std::string& level);

class RaftLogger final : public raft::Logger {
 public:
  explicit RaftLogger(uint64_t partition_id) : partition_id_(partition_id) {}
  bool Enabled(raft::LogLevel level) const override;
  void Log(raft::LogLevel level, std::string_view line) override;

 private:
  const uint64_t partition_id_;
};

}  // namespace rkv::server
