// Fixed-width and varint integer encodings shared by storage/'s formats.
// Big-endian where byte order must equal numeric order (keys), little-endian
// elsewhere. Header only; thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace rkv::storage {

inline void PutBigEndian64(uint64_t value, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

inline uint64_t GetBigEndian64(const char* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

inline void PutLittleEndian64(uint64_t value, char* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

inline uint64_t GetLittleEndian64(const char* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

inline void AppendLittleEndian64(uint64_t value, std::string* out) {
  char bytes[8];
  PutLittleEndian64(value, bytes);
  out->append(bytes, 8);
}

inline void AppendVarint64(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Reads a varint from the front of *in and advances it; nullopt when *in ends
// early or the varint is longer than 10 bytes.
inline std::optional<uint64_t> ConsumeVarint64(absl::string_view* in) {
  uint64_t value = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint64_t byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return std::nullopt;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;
}

}  // namespace rkv::storage
