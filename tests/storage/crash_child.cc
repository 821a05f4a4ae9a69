// The process the crash tests kill: runs the seeded crash workload against
// real storage in <dir> and writes one byte to stdout per finished event
// ('R' once storage is open, then 'E' per event), so the parent knows what
// was acknowledged when the SIGKILL landed.
//
//   storage_crash_child <dir> <seed> <max_events>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/storage/crash_workload.h"

namespace {

void Acknowledge(char what) {
  // Unbuffered: the byte is in the pipe before the next event starts.
  if (write(STDOUT_FILENO, &what, 1) != 1) std::abort();
}

}  // namespace

int main(int argc, char** argv) {
  using rkv::storage::crash::ApplyToModel;
  using rkv::storage::crash::Event;
  using rkv::storage::crash::Storage;
  using rkv::storage::crash::Workload;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <dir> <seed> <max_events>\n", argv[0]);
    return 1;
  }
  const std::string dir = argv[1];
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  const uint64_t max_events = std::strtoull(argv[3], nullptr, 10);
  auto storage = Storage::Open(dir);
  if (!storage.ok()) {
    std::fprintf(stderr, "crash child: open: %s\n", storage.status().ToString().c_str());
    return 2;
  }
  auto model = (*storage)->Read();
  if (!model.ok()) {
    std::fprintf(stderr, "crash child: read: %s\n", model.status().ToString().c_str());
    return 3;
  }
  Acknowledge('R');
  Workload workload(seed);
  for (uint64_t i = 0; i < max_events; ++i) {
    Event event = workload.Next(*model);
    if (absl::Status s = (*storage)->Execute(event); !s.ok()) {
      std::fprintf(stderr, "crash child: event %llu: %s\n", static_cast<unsigned long long>(i),
                   s.ToString().c_str());
      return 4;
    }
    ApplyToModel(event, &*model);
    Acknowledge('E');
  }
  return 0;
}
