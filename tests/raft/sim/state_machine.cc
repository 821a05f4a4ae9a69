#include "tests/raft/sim/state_machine.h"

#include <cstring>

#include "raft/check.h"
#include "raft/raw_node.h"

namespace rkv::raft::sim {
namespace {

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr size_t kEncodedBytes = 3 * sizeof(uint64_t);

}  // namespace

// FNV-1a rather than absl::Hash, which is seeded per process and would make
// runs differ.
uint64_t HashBytes(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

uint64_t ChainDigest(uint64_t digest, const Entry& entry) {
  uint64_t d = Mix(digest, entry.index());
  d = Mix(d, entry.term());
  d = Mix(d, static_cast<uint64_t>(entry.type()));
  return Mix(d, HashBytes(entry.data()));
}

SimStateMachine BootstrapStateMachine(const ConfState& conf) {
  SimStateMachine sm;
  sm.applied_index = kBootstrapIndex;
  sm.applied_term = kBootstrapTerm;
  sm.conf_state = conf;
  return sm;
}

void SimStateMachine::Apply(const Entry& entry) {
  RKV_CHECK_EQ(entry.index(), applied_index + 1);
  digest = ChainDigest(digest, entry);
  applied_index = entry.index();
  applied_term = entry.term();
}

std::string SimStateMachine::Encode() const {
  std::string out(kEncodedBytes, '\0');
  uint64_t fields[3] = {applied_index, applied_term, digest};
  std::memcpy(out.data(), fields, kEncodedBytes);
  return out;
}

std::optional<SimStateMachine> SimStateMachine::Decode(std::string_view data) {
  if (data.size() != kEncodedBytes) return std::nullopt;
  uint64_t fields[3];
  std::memcpy(fields, data.data(), kEncodedBytes);
  SimStateMachine sm;
  sm.applied_index = fields[0];
  sm.applied_term = fields[1];
  sm.digest = fields[2];
  return sm;
}

}  // namespace rkv::raft::sim
