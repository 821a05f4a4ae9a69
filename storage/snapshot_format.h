// The byte format of a partition snapshot stream, shared by SnapshotReader,
// SnapshotReceiver and (later) backups: a header chunk, data chunks, and a
// trailer chunk, each self-delimiting and checksummed, so a stream can be sent
// chunk by chunk or stored as the concatenation of its chunks.
//
//   chunk   := magic "RKVS" (4) | format (1, = 1) | kind (1) | reserved (2, = 0)
//              | partition_id (8) | sequence (8) | payload_bytes (4) | payload
//              | xxh3 of everything before it (8)          (integers little-endian)
//   header  := kind 1, sequence 0, payload = SnapshotMetadata (protobuf):
//              applied index, its term and the ConfState at it
//   data    := kind 2, sequence 1.., payload = (varint key_bytes | user key |
//              varint record_bytes | key record (storage/mvcc.h))*, keys strictly
//              increasing across the whole stream
//   trailer := kind 3, last sequence, payload = chunk_count (8) | pair_count (8)
//              | stream_checksum (8): chunk_count counts every chunk before the
//              trailer; stream_checksum is the XXH3 of all their bytes in order
//
// A receiver knows the stream is complete only from a valid trailer. Thread-
// safe (pure functions).
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rkv::storage {

enum class ChunkKind : uint8_t { kHeader = 1, kData = 2, kTrailer = 3 };

inline constexpr size_t kChunkHeaderBytes = 28;
inline constexpr size_t kChunkOverheadBytes = kChunkHeaderBytes + 8;

struct Chunk {
  ChunkKind kind = ChunkKind::kData;
  uint64_t partition_id = 0;
  uint64_t sequence = 0;
  // Points into the decoded bytes.
  absl::string_view payload;
};

std::string EncodeChunk(ChunkKind kind, uint64_t partition_id, uint64_t sequence,
                        absl::string_view payload);

// Parses and verifies one chunk. `what` names it in errors (e.g. "snapshot
// chunk 4 of partition 3"). Returns RESOURCE_EXHAUSTED over max_chunk_bytes
// and DATA_LOSS for a chunk whose framing or checksum is wrong.
absl::StatusOr<Chunk> DecodeChunk(absl::string_view bytes, uint64_t max_chunk_bytes,
                                  absl::string_view what);

// Appends one (user key, key record) pair to a data payload.
void AppendPair(absl::string_view user_key, absl::string_view record, std::string* payload);
// Calls visit for each pair of a data payload; INVALID_ARGUMENT (prefixed
// with what) when the payload is malformed. Stops at visit's first error.
absl::Status ForEachPair(absl::string_view payload, absl::string_view what,
                         absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> visit);

struct Trailer {
  uint64_t chunk_count = 0;
  uint64_t pair_count = 0;
  uint64_t stream_checksum = 0;
};
std::string EncodeTrailer(const Trailer& trailer);
absl::StatusOr<Trailer> DecodeTrailer(absl::string_view payload, absl::string_view what);

}  // namespace rkv::storage
