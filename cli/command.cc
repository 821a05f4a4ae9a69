#include "cli/command.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/errors.h"

namespace rkv::cli {

ExitCode ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (client::IsIndeterminate(status)) return kExitOutcomeUnknown;
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return kExitUnavailable;
  }
  return kExitError;
}

absl::StatusOr<std::vector<std::string>> ParseEndpoints(absl::string_view text) {
  std::vector<std::string> endpoints;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--endpoints \"", text, "\" holds an empty entry; use host:port,host:port"));
    }
    endpoints.emplace_back(part);
  }
  return endpoints;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view flag,
                                                     absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(std::string(text), &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", text, "\" is not a positive duration such as 500ms, 5s or 2m"));
  }
  return d;
}

absl::StatusOr<Globals> ResolveGlobals(const GlobalFlags& flags) {
  Globals globals;
  absl::StatusOr<std::vector<std::string>> endpoints = ParseEndpoints(flags.endpoints);
  if (!endpoints.ok()) return endpoints.status();
  globals.options.endpoints = *std::move(endpoints);
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(flags.output);
  if (!format.ok()) return format.status();
  globals.format = *format;
  absl::StatusOr<absl::Duration> timeout = ParsePositiveDuration("--timeout", flags.timeout);
  if (!timeout.ok()) return timeout.status();
  globals.timeout = *timeout;
  globals.options.request_timeout = *timeout;
  absl::StatusOr<absl::Duration> dial = ParsePositiveDuration("--dial-timeout", flags.dial_timeout);
  if (!dial.ok()) return dial.status();
  globals.options.dial_timeout = *dial;
  if (!flags.routing.empty() && flags.routing != "on" && flags.routing != "off") {
    return absl::InvalidArgumentError(
        absl::StrCat("--routing \"", flags.routing, "\" is neither on nor off"));
  }
  globals.routing = flags.routing;
  if (absl::Status s = globals.options.Validate(); !s.ok()) return s;
  return globals;
}

absl::StatusOr<std::unique_ptr<client::Client>> Globals::Connect(bool default_routing) const {
  client::Options connect_options = options;
  connect_options.route_to_leader = routing.empty() ? default_routing : routing == "on";
  absl::StatusOr<std::unique_ptr<client::Client>> client = client::Client::Connect(connect_options);
  if (!client.ok() && connect_options.route_to_leader) {
    return absl::Status(
        client.status().code(),
        absl::StrCat(client.status().message(), " (--routing off skips learning the cluster)"));
  }
  return client;
}

absl::StatusOr<std::string> ReadInput(const std::string& path, size_t max_bytes) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return absl::NotFoundError(absl::StrCat("cannot open \"", path, "\""));
    in = &file;
  }
  std::string out;
  char buffer[64 << 10];
  while (in->read(buffer, sizeof(buffer)) || in->gcount() > 0) {
    out.append(buffer, static_cast<size_t>(in->gcount()));
    if (out.size() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrFormat("%s holds more than %d bytes, the limit",
                                                        path == "-" ? "stdin" : path, max_bytes));
    }
  }
  return out;
}

int ReportError(absl::string_view command, const absl::Status& status) {
  std::fprintf(stderr, "rkvctl %s: %s: %s\n", std::string(command).c_str(),
               absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return ExitCodeFor(status);
}

int ReportUsage(absl::string_view command, absl::string_view message) {
  std::fprintf(stderr, "rkvctl %s: %s\n", std::string(command).c_str(),
               std::string(message).c_str());
  return kExitUsage;
}

void CommandSet::Add(CLI::App* app, Run run) { commands_.emplace_back(app, std::move(run)); }

int CommandSet::RunParsed(const Globals& globals) const {
  for (const auto& [app, run] : commands_) {
    if (app->parsed()) return run(globals);
  }
  return kExitUsage;
}

}  // namespace rkv::cli
