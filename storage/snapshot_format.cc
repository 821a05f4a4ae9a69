#include "storage/snapshot_format.h"

#include "absl/strings/str_cat.h"
#include "storage/checksum.h"
#include "storage/coding.h"

namespace rkv::storage {
namespace {

constexpr absl::string_view kMagic = "RKVS";
constexpr char kFormat = 1;

uint32_t GetLittleEndian32(const char* in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

}  // namespace

std::string EncodeChunk(ChunkKind kind, uint64_t partition_id, uint64_t sequence,
                        absl::string_view payload) {
  std::string chunk;
  chunk.reserve(kChunkOverheadBytes + payload.size());
  chunk.append(kMagic.data(), kMagic.size());
  chunk.push_back(kFormat);
  chunk.push_back(static_cast<char>(kind));
  chunk.append(2, '\0');
  AppendLittleEndian64(partition_id, &chunk);
  AppendLittleEndian64(sequence, &chunk);
  uint32_t size = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) chunk.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  chunk.append(payload.data(), payload.size());
  AppendLittleEndian64(Checksum(chunk), &chunk);
  return chunk;
}

absl::StatusOr<Chunk> DecodeChunk(absl::string_view bytes, uint64_t max_chunk_bytes,
                                  absl::string_view what) {
  if (bytes.size() > max_chunk_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(what, " is ", bytes.size(),
                                                     " bytes; the limit is ", max_chunk_bytes));
  }
  if (bytes.size() < kChunkOverheadBytes) {
    return absl::DataLossError(absl::StrCat(what, " is corrupt: ", bytes.size(),
                                            " bytes, shorter than a chunk's ",
                                            kChunkOverheadBytes, "-byte framing"));
  }
  if (bytes.substr(0, 4) != kMagic || bytes[4] != kFormat || bytes[6] != 0 || bytes[7] != 0) {
    return absl::DataLossError(
        absl::StrCat(what, " is corrupt: bad magic, format or reserved bytes"));
  }
  uint32_t payload_bytes = GetLittleEndian32(bytes.data() + 24);
  if (kChunkOverheadBytes + uint64_t{payload_bytes} != bytes.size()) {
    return absl::DataLossError(absl::StrCat(what, " is corrupt: it declares a ", payload_bytes,
                                            "-byte payload but holds ",
                                            bytes.size() - kChunkOverheadBytes));
  }
  size_t body = bytes.size() - 8;
  uint64_t stored = GetLittleEndian64(bytes.data() + body);
  uint64_t computed = Checksum(bytes.substr(0, body));
  if (stored != computed) {
    return absl::DataLossError(absl::StrCat(what, " is corrupt: checksum mismatch (stored ",
                                            absl::Hex(stored, absl::kZeroPad16), ", computed ",
                                            absl::Hex(computed, absl::kZeroPad16), ")"));
  }
  uint8_t kind = static_cast<uint8_t>(bytes[5]);
  if (kind < static_cast<uint8_t>(ChunkKind::kHeader) ||
      kind > static_cast<uint8_t>(ChunkKind::kTrailer)) {
    return absl::DataLossError(absl::StrCat(what, " has unknown kind ", kind));
  }
  return Chunk{.kind = static_cast<ChunkKind>(kind),
               .partition_id = GetLittleEndian64(bytes.data() + 8),
               .sequence = GetLittleEndian64(bytes.data() + 16),
               .payload = bytes.substr(kChunkHeaderBytes, payload_bytes)};
}

void AppendPair(absl::string_view user_key, absl::string_view record, std::string* payload) {
  AppendVarint64(user_key.size(), payload);
  payload->append(user_key.data(), user_key.size());
  AppendVarint64(record.size(), payload);
  payload->append(record.data(), record.size());
}

absl::Status ForEachPair(
    absl::string_view payload, absl::string_view what,
    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> visit) {
  while (!payload.empty()) {
    std::optional<uint64_t> key_bytes = ConsumeVarint64(&payload);
    if (!key_bytes || *key_bytes > payload.size()) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is malformed: a key overruns it"));
    }
    absl::string_view key = payload.substr(0, *key_bytes);
    payload.remove_prefix(*key_bytes);
    std::optional<uint64_t> record_bytes = ConsumeVarint64(&payload);
    if (!record_bytes || *record_bytes > payload.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is malformed: a key record overruns it"));
    }
    absl::string_view record = payload.substr(0, *record_bytes);
    payload.remove_prefix(*record_bytes);
    if (absl::Status s = visit(key, record); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string EncodeTrailer(const Trailer& trailer) {
  std::string payload;
  AppendLittleEndian64(trailer.chunk_count, &payload);
  AppendLittleEndian64(trailer.pair_count, &payload);
  AppendLittleEndian64(trailer.stream_checksum, &payload);
  return payload;
}

absl::StatusOr<Trailer> DecodeTrailer(absl::string_view payload, absl::string_view what) {
  if (payload.size() != 24) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is malformed: a trailer of ", payload.size(), " bytes instead of 24"));
  }
  return Trailer{.chunk_count = GetLittleEndian64(payload.data()),
                 .pair_count = GetLittleEndian64(payload.data() + 8),
                 .stream_checksum = GetLittleEndian64(payload.data() + 16)};
}

}  // namespace rkv::storage
