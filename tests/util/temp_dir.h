// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything
// in it on destruction unless RKV_KEEP_TEMP is set. Not thread-safe.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "raft/check.h"

namespace rkv::testing {

class TempDir final {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/rkv-test-XXXXXX";
    RKV_CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    if (std::getenv("RKV_KEEP_TEMP") == nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace rkv::testing
