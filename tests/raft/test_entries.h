// Entries for the Raft core's unit tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "raft/types.h"

namespace rkv::raft::testing {

inline Entry WithData(uint64_t term, uint64_t index, std::string data) {
  Entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_data(std::move(data));
  return e;
}

}  // namespace rkv::raft::testing
