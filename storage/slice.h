// Conversions between absl::string_view (what rkv code uses) and
// rocksdb::Slice. Only storage/ .cc files include this header. Header only;
// thread-safe.
#pragma once

#include <rocksdb/slice.h>

#include "absl/strings/string_view.h"

namespace rkv::storage {

inline rocksdb::Slice ToSlice(absl::string_view view) {
  return rocksdb::Slice(view.data(), view.size());
}

inline absl::string_view ToView(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

}  // namespace rkv::storage
