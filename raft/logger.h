// Logger: the Raft core's only way to report events. Injected through Config so
// the core stays free of I/O; server/ adapts it to spdlog, tests may capture it.
// NullLogger discards everything. Implementations must be cheap to call.
#pragma once

#include <string_view>

namespace rkv::raft {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool Enabled(LogLevel level) const = 0;
  virtual void Log(LogLevel level, std::string_view line) = 0;
};

class NullLogger final : public Logger {
 public:
  bool Enabled(LogLevel) const override { return false; }
  void Log(LogLevel, std::string_view) override {}
};

}  // namespace rkv::raft
