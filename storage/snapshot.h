// Partition snapshots, in the stream format of storage/snapshot_format.h:
//  - SnapshotReader produces a partition's state at its applied index as
//    checksummed chunks, from a RocksDB snapshot (applies go on meanwhile).
//  - SnapshotReceiver checks incoming chunks, writes them to SST files in the
//    engine's staging directory and, once the trailer proves the stream whole,
//    ingests them into a fresh column family: a StagedSnapshot. A partial,
//    reordered or corrupt stream is rejected and touches no live state.
//  - StagedSnapshot is installed by LogBatch::InstallSnapshot (step 1 of the
//    switch, see storage/engine.h) and activated by
//    StateMachine::MaybeActivateSnapshot (step 2). Dropped unused, it drops
//    its column family.
// Each object is not thread-safe and belongs to one thread at a time; all
// must be destroyed before the Engine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/types.h"
#include "storage/checksum.h"
#include "storage/engine.h"
#include "storage/limits.h"

namespace rocksdb {
class Iterator;
class Snapshot;
class SstFileWriter;
class Slice;
}  // namespace rocksdb

namespace rkv::storage {

class SnapshotReader final {
 public:
  // Pins a RocksDB snapshot of cf (StateMachine::OpenSnapshot calls this).
  // Returns INVALID_ARGUMENT for bad limits, DATA_LOSS for corrupt metadata.
  static absl::StatusOr<std::unique_ptr<SnapshotReader>> Open(
      Engine* engine, std::shared_ptr<const PartitionCf> cf, const SnapshotLimits& limits);
  ~SnapshotReader();
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  // Applied index, its term and the ConfState of the state being streamed.
  const raft::SnapshotMetadata& metadata() const { return metadata_; }

  // The next chunk: the header, then data chunks of about
  // SnapshotLimits::target_chunk_bytes, then the trailer; nullopt after the
  // trailer. Returns RocksDB's error, or FAILED_PRECONDITION for a key record
  // too large for SnapshotLimits::max_chunk_bytes.
  absl::StatusOr<std::optional<std::string>> Next();

 private:
  enum class Stage { kHeader, kData, kTrailer, kDone };
  SnapshotReader(Engine* engine, std::shared_ptr<const PartitionCf> cf,
                 const SnapshotLimits& limits);
  std::string Emit(uint8_t kind, absl::string_view payload);

  Engine* const engine_;
  const std::shared_ptr<const PartitionCf> cf_;
  const SnapshotLimits limits_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  std::unique_ptr<rocksdb::Slice> upper_bound_;
  std::unique_ptr<rocksdb::Iterator> it_;
  raft::SnapshotMetadata metadata_;
  Stage stage_ = Stage::kHeader;
  uint64_t sequence_ = 0;
  uint64_t pair_count_ = 0;
  StreamChecksum stream_;
};

class StagedSnapshot final {
 public:
  ~StagedSnapshot();
  StagedSnapshot(const StagedSnapshot&) = delete;
  StagedSnapshot& operator=(const StagedSnapshot&) = delete;

  uint64_t partition_id() const { return cf_->partition_id; }
  uint64_t generation() const { return cf_->generation; }
  const raft::SnapshotMetadata& metadata() const { return metadata_; }

 private:
  friend class SnapshotReceiver;
  friend class LogBatch;
  StagedSnapshot(Engine* engine, std::shared_ptr<const PartitionCf> cf,
                 raft::SnapshotMetadata metadata);
  PendingSwitch ToPendingSwitch() const;
  // The engine now owns the column family (as the pending generation).
  void MarkCommitted() { committed_ = true; }

  Engine* const engine_;
  const std::shared_ptr<const PartitionCf> cf_;
  const raft::SnapshotMetadata metadata_;
  bool committed_ = false;
};

class SnapshotReceiver final {
 public:
  // Prepares to receive a snapshot of partition_id. Returns NOT_FOUND for a
  // partition this engine does not host, INVALID_ARGUMENT for bad limits.
  static absl::StatusOr<std::unique_ptr<SnapshotReceiver>> Start(Engine* engine,
                                                                 uint64_t partition_id,
                                                                 const SnapshotLimits& limits);
  // Removes the staging files (nothing else exists before Finish).
  ~SnapshotReceiver();
  SnapshotReceiver(const SnapshotReceiver&) = delete;
  SnapshotReceiver& operator=(const SnapshotReceiver&) = delete;

  // Checks and stages the next chunk. Returns DATA_LOSS for a corrupt chunk
  // (naming its sequence number and the partition), INVALID_ARGUMENT for a
  // chunk of another partition, out of sequence (missing, repeated,
  // reordered), after the trailer, keys out of order, or a malformed payload,
  // RESOURCE_EXHAUSTED over the size limits. After any error the receiver is
  // failed: every later call returns FAILED_PRECONDITION with the first error.
  absl::Status Add(absl::string_view chunk);

  // After the trailer: ingests the staged files into a fresh column family.
  // Returns INVALID_ARGUMENT naming what was received when the stream is
  // incomplete, FAILED_PRECONDITION after an earlier error, or RocksDB's error.
  absl::StatusOr<std::unique_ptr<StagedSnapshot>> Finish();

  bool complete() const { return trailer_seen_; }

 private:
  SnapshotReceiver(Engine* engine, uint64_t partition_id, const SnapshotLimits& limits,
                   uint64_t receiver_id);
  absl::Status AddChunk(absl::string_view bytes);
  absl::Status AddHeader(absl::string_view payload, absl::string_view what);
  absl::Status AddData(absl::string_view payload, absl::string_view what);
  absl::Status AddTrailer(absl::string_view payload, absl::string_view what);
  absl::Status WriteKey(absl::string_view key, absl::string_view value, absl::string_view what);
  absl::Status CloseFile(absl::string_view what);
  absl::Status Fail(absl::Status status);
  void RemoveFiles();

  Engine* const engine_;
  const uint64_t partition_id_;
  const SnapshotLimits limits_;
  const uint64_t receiver_id_;
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
  std::vector<std::string> files_;
  raft::SnapshotMetadata metadata_;
  uint64_t next_sequence_ = 0;
  uint64_t pair_count_ = 0;
  uint64_t received_bytes_ = 0;
  std::string last_key_;
  bool header_seen_ = false;
  bool trailer_seen_ = false;
  bool finished_ = false;
  absl::Status failure_;
  StreamChecksum stream_;
};

}  // namespace rkv::storage
