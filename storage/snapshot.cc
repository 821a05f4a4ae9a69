#include "storage/snapshot.h"

#include <filesystem>
#include <system_error>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/sst_file_writer.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "storage/keys.h"
#include "storage/mvcc.h"
#include "storage/rocks_status.h"
#include "storage/sm_meta.h"
#include "storage/snapshot_format.h"
#include "storage/slice.h"

namespace rkv::storage {

// --- SnapshotReader ---

SnapshotReader::SnapshotReader(Engine* engine, std::shared_ptr<const PartitionCf> cf,
                               const SnapshotLimits& limits)
    : engine_(engine), cf_(std::move(cf)), limits_(limits) {}

absl::StatusOr<std::unique_ptr<SnapshotReader>> SnapshotReader::Open(
    Engine* engine, std::shared_ptr<const PartitionCf> cf, const SnapshotLimits& limits) {
  if (absl::Status valid = limits.Validate(); !valid.ok()) return valid;
  std::unique_ptr<SnapshotReader> reader(new SnapshotReader(engine, std::move(cf), limits));
  rocksdb::DB* db = engine->db();
  reader->snapshot_ = db->GetSnapshot();
  absl::StatusOr<StateMachineMeta> meta = LoadStateMachineMeta(
      db, reader->cf_->handle, reader->snapshot_, reader->cf_->partition_id);
  if (!meta.ok()) return meta.status();
  reader->metadata_.set_index(meta->applied_index);
  reader->metadata_.set_term(meta->applied_term);
  *reader->metadata_.mutable_conf_state() = std::move(meta->conf_state);

  reader->upper_bound_ = std::make_unique<rocksdb::Slice>(ToSlice(keys::kDataEnd));
  rocksdb::ReadOptions read;
  read.snapshot = reader->snapshot_;
  read.iterate_upper_bound = reader->upper_bound_.get();
  // A bulk scan: do not evict the hot working set from the block cache.
  read.fill_cache = false;
  read.readahead_size = 2 << 20;
  reader->it_.reset(db->NewIterator(read, reader->cf_->handle));
  reader->it_->Seek(ToSlice(keys::kDataBegin));
  return reader;
}

SnapshotReader::~SnapshotReader() {
  it_.reset();
  if (snapshot_ != nullptr) engine_->db()->ReleaseSnapshot(snapshot_);
}

std::string SnapshotReader::Emit(uint8_t kind, absl::string_view payload) {
  std::string chunk =
      EncodeChunk(static_cast<ChunkKind>(kind), cf_->partition_id, sequence_++, payload);
  stream_.Update(chunk);
  return chunk;
}

absl::StatusOr<std::optional<std::string>> SnapshotReader::Next() {
  switch (stage_) {
    case Stage::kHeader:
      stage_ = Stage::kData;
      return Emit(static_cast<uint8_t>(ChunkKind::kHeader), metadata_.SerializeAsString());
    case Stage::kData: {
      std::string payload;
      uint64_t pairs = 0;
      while (it_->Valid() && payload.size() < limits_.target_chunk_bytes) {
        absl::string_view user_key = keys::UserKey(ToView(it_->key()));
        absl::string_view record = ToView(it_->value());
        size_t before = payload.size();
        AppendPair(user_key, record, &payload);
        if (payload.size() + kChunkOverheadBytes > limits_.max_chunk_bytes) {
          if (pairs == 0) {
            return absl::FailedPreconditionError(absl::StrCat(
                "partition ", cf_->partition_id, " key \"",
                absl::CHexEscape(user_key.substr(0, 64)), "\" needs ", payload.size() - before,
                " bytes, more than a snapshot chunk may hold (", limits_.max_chunk_bytes, ")"));
          }
          payload.resize(before);
          break;
        }
        ++pairs;
        it_->Next();
      }
      if (!it_->status().ok()) {
        return FromRocks(it_->status(),
                         absl::StrCat("reading the snapshot of partition ", cf_->partition_id));
      }
      if (pairs > 0) {
        pair_count_ += pairs;
        return Emit(static_cast<uint8_t>(ChunkKind::kData), payload);
      }
      stage_ = Stage::kTrailer;
      [[fallthrough]];
    }
    case Stage::kTrailer: {
      stage_ = Stage::kDone;
      Trailer trailer{.chunk_count = sequence_,
                      .pair_count = pair_count_,
                      .stream_checksum = stream_.Digest()};
      return Emit(static_cast<uint8_t>(ChunkKind::kTrailer), EncodeTrailer(trailer));
    }
    case Stage::kDone:
      return std::nullopt;
  }
  RKV_CHECK_MSG(false, "unknown snapshot reader stage");
  return std::nullopt;
}

// --- StagedSnapshot ---

StagedSnapshot::StagedSnapshot(Engine* engine, std::shared_ptr<const PartitionCf> cf,
                               raft::SnapshotMetadata metadata)
    : engine_(engine), cf_(std::move(cf)), metadata_(std::move(metadata)) {}

StagedSnapshot::~StagedSnapshot() {
  if (!committed_) engine_->DiscardStagingCf(cf_);
}

PendingSwitch StagedSnapshot::ToPendingSwitch() const {
  return PendingSwitch{.cf = cf_, .snapshot_index = metadata_.index()};
}

// --- SnapshotReceiver ---

SnapshotReceiver::SnapshotReceiver(Engine* engine, uint64_t partition_id,
                                   const SnapshotLimits& limits, uint64_t receiver_id)
    : engine_(engine), partition_id_(partition_id), limits_(limits), receiver_id_(receiver_id) {}

absl::StatusOr<std::unique_ptr<SnapshotReceiver>> SnapshotReceiver::Start(
    Engine* engine, uint64_t partition_id, const SnapshotLimits& limits) {
  if (absl::Status valid = limits.Validate(); !valid.ok()) return valid;
  if (!engine->HasPartition(partition_id)) {
    return absl::NotFoundError(absl::StrCat("partition ", partition_id, " does not exist"));
  }
  return std::unique_ptr<SnapshotReceiver>(
      new SnapshotReceiver(engine, partition_id, limits, engine->NewStagingId()));
}

SnapshotReceiver::~SnapshotReceiver() { RemoveFiles(); }

void SnapshotReceiver::RemoveFiles() {
  writer_.reset();
  for (const std::string& file : files_) {
    std::error_code ignored;
    // Missing after a successful ingestion, which moved it.
    std::filesystem::remove(file, ignored);
  }
  files_.clear();
}

absl::Status SnapshotReceiver::Fail(absl::Status status) {
  failure_ = status;
  RemoveFiles();
  return status;
}

absl::Status SnapshotReceiver::Add(absl::string_view chunk) {
  if (!failure_.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the snapshot receiver of partition ", partition_id_, " failed earlier: ",
        failure_.message()));
  }
  if (finished_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the snapshot of partition ", partition_id_, " is already finished"));
  }
  if (absl::Status s = AddChunk(chunk); !s.ok()) return Fail(s);
  return absl::OkStatus();
}

absl::Status SnapshotReceiver::AddChunk(absl::string_view bytes) {
  const std::string what =
      absl::StrCat("snapshot chunk ", next_sequence_, " of partition ", partition_id_);
  if (trailer_seen_) {
    return absl::InvalidArgumentError(absl::StrCat(what, " arrived after the trailer"));
  }
  received_bytes_ += bytes.size();
  if (received_bytes_ > limits_.max_snapshot_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("the snapshot of partition ", partition_id_,
                                                     " passes ", limits_.max_snapshot_bytes,
                                                     " bytes, the limit"));
  }
  absl::StatusOr<Chunk> chunk = DecodeChunk(bytes, limits_.max_chunk_bytes, what);
  if (!chunk.ok()) return chunk.status();
  if (chunk->partition_id != partition_id_) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " belongs to partition ", chunk->partition_id));
  }
  if (chunk->sequence != next_sequence_) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " carries sequence number ", chunk->sequence,
        "; chunks are missing, repeated or out of order"));
  }
  if (chunk->kind != ChunkKind::kHeader && !header_seen_) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": the stream does not start with a header"));
  }
  absl::Status s;
  switch (chunk->kind) {
    case ChunkKind::kHeader:
      s = AddHeader(chunk->payload, what);
      break;
    case ChunkKind::kData:
      s = AddData(chunk->payload, what);
      break;
    case ChunkKind::kTrailer:
      s = AddTrailer(chunk->payload, what);
      break;
  }
  if (!s.ok()) return s;
  if (chunk->kind != ChunkKind::kTrailer) stream_.Update(bytes);
  ++next_sequence_;
  return absl::OkStatus();
}

absl::Status SnapshotReceiver::AddHeader(absl::string_view payload, absl::string_view what) {
  if (header_seen_) return absl::InvalidArgumentError(absl::StrCat(what, " is a second header"));
  if (!metadata_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is malformed: its snapshot metadata does not parse"));
  }
  if (metadata_.index() == 0 || metadata_.term() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": the snapshot is at index ",
                                                   metadata_.index(), " term ", metadata_.term(),
                                                   "; both must be positive"));
  }
  header_seen_ = true;
  // The state machine's metadata sorts before every data key.
  if (absl::Status s = WriteKey(keys::kAppliedKey,
                                EncodeAppliedRecord(metadata_.index(), metadata_.term()), what);
      !s.ok()) {
    return s;
  }
  return WriteKey(keys::kConfStateKey, EncodeConfStateRecord(metadata_.conf_state()), what);
}

absl::Status SnapshotReceiver::AddData(absl::string_view payload, absl::string_view what) {
  uint64_t pairs = 0;
  absl::Status s = ForEachPair(
      payload, what, [&](absl::string_view user_key, absl::string_view record) -> absl::Status {
        if (user_key.empty() || (pair_count_ + pairs > 0 && user_key <= last_key_)) {
          return absl::InvalidArgumentError(
              absl::StrCat(what, ": key \"", absl::CHexEscape(user_key.substr(0, 64)),
                           "\" is empty or not after the key before it"));
        }
        if (absl::StatusOr<KeyRecord> decoded = DecodeKeyRecord(record, partition_id_, user_key);
            !decoded.ok()) {
          return absl::Status(decoded.status().code(),
                              absl::StrCat(what, ": ", decoded.status().message()));
        }
        last_key_.assign(user_key.data(), user_key.size());
        ++pairs;
        return WriteKey(keys::DataKey(user_key), record, what);
      });
  if (!s.ok()) return s;
  if (pairs == 0) return absl::InvalidArgumentError(absl::StrCat(what, " holds no keys"));
  pair_count_ += pairs;
  return absl::OkStatus();
}

absl::Status SnapshotReceiver::AddTrailer(absl::string_view payload, absl::string_view what) {
  absl::StatusOr<Trailer> trailer = DecodeTrailer(payload, what);
  if (!trailer.ok()) return trailer.status();
  if (trailer->chunk_count != next_sequence_ || trailer->pair_count != pair_count_ ||
      trailer->stream_checksum != stream_.Digest()) {
    return absl::DataLossError(absl::StrCat(
        what, " (the trailer) does not match the stream: it counts ", trailer->chunk_count,
        " chunks and ", trailer->pair_count, " keys, ", next_sequence_, " chunks and ",
        pair_count_, " keys arrived", trailer->stream_checksum != stream_.Digest()
                                          ? ", and the stream checksum differs"
                                          : ""));
  }
  if (absl::Status s = CloseFile(what); !s.ok()) return s;
  trailer_seen_ = true;
  return absl::OkStatus();
}

absl::Status SnapshotReceiver::WriteKey(absl::string_view key, absl::string_view value,
                                        absl::string_view what) {
  if (writer_ == nullptr) {
    std::string file = absl::StrCat(engine_->staging_dir(), "/", partition_id_, "-",
                                    receiver_id_, "-", files_.size(), ".sst");
    writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(),
                                                       engine_->partition_options());
    files_.push_back(file);
    if (rocksdb::Status s = writer_->Open(file); !s.ok()) {
      return FromRocks(s, absl::StrCat(what, ": creating staging file ", file));
    }
  }
  if (rocksdb::Status s = writer_->Put(ToSlice(key), ToSlice(value)); !s.ok()) {
    return FromRocks(s, absl::StrCat(what, ": writing staging file ", files_.back()));
  }
  if (writer_->FileSize() >= limits_.max_sst_file_bytes) return CloseFile(what);
  return absl::OkStatus();
}

absl::Status SnapshotReceiver::CloseFile(absl::string_view what) {
  if (writer_ == nullptr) return absl::OkStatus();
  rocksdb::Status s = writer_->Finish();
  writer_.reset();
  return FromRocks(s, absl::StrCat(what, ": finishing staging file ", files_.back()));
}

absl::StatusOr<std::unique_ptr<StagedSnapshot>> SnapshotReceiver::Finish() {
  if (!failure_.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the snapshot receiver of partition ", partition_id_, " failed earlier: ",
        failure_.message()));
  }
  if (finished_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the snapshot of partition ", partition_id_, " is already finished"));
  }
  if (!trailer_seen_) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "the snapshot stream of partition ", partition_id_, " is incomplete: ", next_sequence_,
        " chunks (", pair_count_, " keys) arrived and no trailer")));
  }
  absl::StatusOr<std::shared_ptr<const PartitionCf>> cf = engine_->CreateStagingCf(partition_id_);
  if (!cf.ok()) return Fail(cf.status());
  rocksdb::IngestExternalFileOptions ingest;
  // Same filesystem: link the files in instead of copying them.
  ingest.move_files = true;
  rocksdb::Status s = engine_->db()->IngestExternalFile((*cf)->handle, files_, ingest);
  if (!s.ok()) {
    engine_->DiscardStagingCf(*cf);
    return Fail(FromRocks(s, absl::StrCat("ingesting the snapshot of partition ", partition_id_)));
  }
  RemoveFiles();
  finished_ = true;
  return std::unique_ptr<StagedSnapshot>(new StagedSnapshot(engine_, *std::move(cf), metadata_));
}

}  // namespace rkv::storage
