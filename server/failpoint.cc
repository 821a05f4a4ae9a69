#include "server/failpoint.h"

#ifdef RKV_TEST_KNOBS

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace rkv::server {
namespace {

enum class Action { kOff, kError, kPanic, kDelay, kPause };

struct Point {
  Action action = Action::kOff;
  int64_t arg_ms = 0;
  double probability = 1.0;
  int64_t remaining = -1;  // hits left; -1 is unbounded
};

class Registry {
 public:
  static Registry& Get() {
    static Registry* registry = new Registry();
    return *registry;
  }

  // The action to take for one hit, after probability and count.
  Point Take(absl::string_view name) {
    absl::MutexLock lock(&mu_);
    MaybeReload();
    auto it = points_.find(std::string(name));
    if (it == points_.end() || it->second.action == Action::kOff) return Point();
    Point& p = it->second;
    if (p.remaining == 0) return Point();
    if (p.probability < 1.0 && std::uniform_real_distribution<double>(0, 1)(rng_) >= p.probability) {
      return Point();
    }
    if (p.remaining > 0) --p.remaining;
    return p;
  }

  bool Paused(absl::string_view name) {
    absl::MutexLock lock(&mu_);
    MaybeReload();
    auto it = points_.find(std::string(name));
    return it != points_.end() && it->second.action == Action::kPause;
  }

  bool Bug(absl::string_view name) {
    for (absl::string_view b : absl::StrSplit(bugs_, ',')) {
      if (absl::StripAsciiWhitespace(b) == name) return true;
    }
    return false;
  }

 private:
  Registry() : rng_(std::random_device{}()) {
    if (const char* bugs = std::getenv("RKV_BUG")) bugs_ = bugs;
    if (const char* file = std::getenv("RKV_FAILPOINTS_FILE")) file_ = file;
    if (const char* spec = std::getenv("RKV_FAILPOINTS")) Parse(spec);
  }

  void MaybeReload() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (file_.empty()) return;
    const absl::Time now = absl::Now();
    if (now - last_check_ < absl::Milliseconds(100)) return;
    last_check_ = now;
    struct stat st;
    if (stat(file_.c_str(), &st) != 0) return;
    const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime_ns == file_mtime_ns_) return;
    file_mtime_ns_ = mtime_ns;
    std::ifstream in(file_);
    std::stringstream text;
    text << in.rdbuf();
    points_.clear();
    Parse(text.str());
  }

  void Parse(absl::string_view spec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (absl::string_view item : absl::StrSplit(spec, absl::ByAnyChar(",\n"), absl::SkipWhitespace())) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
      absl::string_view rest = absl::StripAsciiWhitespace(kv.second);
      Point p;
      if (size_t star = rest.rfind('*'); star != absl::string_view::npos) {
        if (!absl::SimpleAtoi(rest.substr(star + 1), &p.remaining)) p.remaining = -1;
        rest = rest.substr(0, star);
      }
      if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
        if (!absl::SimpleAtod(rest.substr(at + 1), &p.probability)) p.probability = 1.0;
        rest = rest.substr(0, at);
      }
      absl::string_view arg;
      if (size_t open = rest.find('('); open != absl::string_view::npos) {
        arg = rest.substr(open + 1);
        absl::ConsumeSuffix(&arg, ")");
        rest = rest.substr(0, open);
      }
      if (rest == "error") p.action = Action::kError;
      else if (rest == "panic") p.action = Action::kPanic;
      else if (rest == "pause") p.action = Action::kPause;
      else if (rest == "delay") p.action = Action::kDelay;
      else p.action = Action::kOff;
      if (!arg.empty() && !absl::SimpleAtoi(arg, &p.arg_ms)) p.arg_ms = 0;
      points_[std::string(absl::StripAsciiWhitespace(kv.first))] = p;
    }
  }

  absl::Mutex mu_;
  std::map<std::string, Point> points_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::string file_;
  std::string bugs_;
  absl::Time last_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t file_mtime_ns_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace

absl::Status FailpointHit(absl::string_view name) {
  Registry& registry = Registry::Get();
  const Point p = registry.Take(name);
  switch (p.action) {
    case Action::kOff:
      return absl::OkStatus();
    case Action::kError:
      return absl::InternalError(absl::StrCat("failpoint ", name, ": injected error"));
    case Action::kPanic:
      std::fprintf(stderr, "failpoint %.*s: injected panic\n", static_cast<int>(name.size()), name.data());
      std::fflush(stderr);
      std::abort();
    case Action::kDelay:
      std::this_thread::sleep_for(std::chrono::milliseconds(p.arg_ms));
      return absl::OkStatus();
    case Action::kPause:
      // Bounded by the harness, which turns the point off or kills the node.
      while (registry.Paused(name)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

bool BugEnabled(absl::string_view name) { return Registry::Get().Bug(name); }

}  // namespace rkv::server

#endif  // RKV_TEST_KNOBS
