#include "server/logging.h"

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace rkv::server {
namespace {

spdlog::level::level_enum ToSpdlog(raft::LogLevel level) {
  switch (level) {
    case raft::LogLevel::kDebug:
      return spdlog::level::debug;
    case raft::LogLevel::kInfo:
      return spdlog::level::info;
    case raft::LogLevel::kWarning:
      return spdlog::level::warn;
    case raft::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

absl::Status SetLogLevel(const std::string& level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  // from_str answers "off" for anything unknown; only "off" itself means it.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrCat("unknown log level \"", level, "\""));
  }
  spdlog::set_level(parsed);
  return absl::OkStatus();
}

absl::Status SetUpLogging(uint64_t node_id, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt(absl::StrCat("rkvd-", node_id));
  spdlog::set_default_logger(logger);
  spdlog::set_pattern(absl::StrCat("%Y-%m-%dT%H:%M:%S.%e %^%l%$ node=", node_id, " %v"));
  spdlog::flush_on(spdlog::level::warn);
  return SetLogLevel(level);
}

bool RaftLogger::Enabled(raft::LogLevel level) const {
  return spdlog::default_logger_raw()->should_log(ToSpdlog(level));
}

void RaftLogger::Log(raft::LogLevel level, std::string_view line) {
  spdlog::log(ToSpdlog(level), "partition={} {}", partition_id_, line);
}

}  // namespace rkv::server
