// XXH3 checksums (Debian's libxxhash) for everything storage/ writes that it
// must verify on read: raft log records and snapshot chunks. Owns nothing.
// Thread-safe (pure functions); a StreamChecksum belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include "absl/strings/string_view.h"

#include <xxhash.h>

#include "raft/check.h"

namespace rkv::storage {

// The 64-bit XXH3 of data, seeded so that the same bytes stored under another
// key (or in another stream position) do not verify.
inline uint64_t Checksum(absl::string_view data, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

// XXH3 over data fed in pieces; equal to Checksum() of their concatenation.
class StreamChecksum final {
 public:
  StreamChecksum() : state_(XXH3_createState()) {
    RKV_CHECK(state_ != nullptr);
    RKV_CHECK(XXH3_64bits_reset(state_.get()) == XXH_OK);
  }
  void Update(absl::string_view data) {
    RKV_CHECK(XXH3_64bits_update(state_.get(), data.data(), data.size()) == XXH_OK);
  }
  uint64_t Digest() const { return XXH3_64bits_digest(state_.get()); }

 private:
  struct Free {
    void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
  };
  std::unique_ptr<XXH3_state_t, Free> state_;
};

}  // namespace rkv::storage
