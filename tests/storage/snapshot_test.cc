// Snapshots: a stream of checksummed chunks from a RocksDB snapshot, installed
// by SST ingestion into a fresh column family and switched to atomically
// (storage/engine.h, two durable steps). Round trips, consistency while
// applies go on, crash between the steps, and every way a stream can be
// partial or corrupt: rejected with a clear status, old state kept.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/coding.h"
#include "storage/log_batch.h"
#include "storage/snapshot.h"
#include "storage/snapshot_format.h"
#include "storage/state_machine.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/seed.h"
#include "tests/util/temp_dir.h"

namespace rkv::storage {
namespace {

using ::rkv::storage::testing::MakeEntries;
using ::rkv::storage::testing::MakeEntry;
using ::rkv::storage::testing::MakeHardState;
using ::rkv::storage::testing::OpenEngine;
using ::rkv::storage::testing::OpenReplica;
using ::rkv::storage::testing::PutCommand;
using ::rkv::storage::testing::Replica;
using ::rkv::storage::testing::Voters;
using ::rkv::testing::TempDir;

// The same partition on two nodes: the source (leader) sends its snapshot to
// the target (a follower that fell behind).
constexpr uint64_t kPartition = 1;
// Another partition on the target node.
constexpr uint64_t kOther = 2;

SnapshotLimits SmallChunks() {
  SnapshotLimits limits;
  limits.target_chunk_bytes = 512;
  limits.max_chunk_bytes = 64 << 10;
  limits.max_sst_file_bytes = 8 << 10;  // several SST files per snapshot
  return limits;
}

std::vector<std::string> ReadAll(SnapshotReader* reader) {
  std::vector<std::string> chunks;
  while (true) {
    auto chunk = reader->Next();
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk.ok() || !chunk->has_value()) break;
    chunks.push_back(**chunk);
  }
  return chunks;
}

// Every key of a state machine with its metadata, as one comparable string.
std::string Dump(StateMachine* machine) {
  rkv::internal::RangeOp all;
  all.set_key("\x01");
  all.set_range_end(std::string("\0", 1));
  auto result = machine->Range(all, 0);
  EXPECT_TRUE(result.ok()) << result.status();
  std::string dump;
  if (!result.ok()) return dump;
  for (const auto& kv : result->kvs()) {
    absl::StrAppend(&dump, kv.key(), "=", kv.value(), "@", kv.create_revision(), ",",
                    kv.mod_revision(), ",", kv.version(), ",", kv.expiry_unix_ms(), ";");
  }
  return dump;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_engine_ = OpenEngine(source_dir_.path());
    engine_ = OpenEngine(target_dir_.path());
    ASSERT_NE(source_engine_, nullptr);
    ASSERT_NE(engine_, nullptr);
    ASSERT_TRUE(source_engine_->CreatePartition(kPartition, Voters({1, 2, 3})).ok());
    ASSERT_TRUE(engine_->CreatePartition(kPartition, Voters({1, 2, 3})).ok());
    ASSERT_TRUE(engine_->CreatePartition(kOther, Voters({1, 2, 3})).ok());
    OpenReplicas();
  }

  void OpenReplicas() {
    source_ = OpenReplica(source_engine_.get(), kPartition);
    target_ = OpenReplica(engine_.get(), kPartition);
    other_ = OpenReplica(engine_.get(), kOther);
  }

  void CloseAll() {
    source_ = Replica();
    target_ = Replica();
    other_ = Replica();
  }

  void RestartEngine() {
    CloseAll();
    engine_.reset();
    source_engine_.reset();
    source_engine_ = OpenEngine(source_dir_.path());
    engine_ = OpenEngine(target_dir_.path());
    ASSERT_NE(engine_, nullptr);
    ASSERT_NE(source_engine_, nullptr);
    OpenReplicas();
  }

  // Applies n puts (keys key-<i>) to a machine, one entry each, in batches.
  void Fill(StateMachine* machine, int n, uint64_t term = 1, const std::string& tag = "v") {
    std::vector<raft::Entry> entries;
    for (int i = 0; i < n; ++i) {
      uint64_t index = machine->applied_index() + 1 + entries.size();
      uint64_t expiry = i % 10 == 0 ? 5000 : 0;
      entries.push_back(MakeEntry(
          index, term, PutCommand(absl::StrCat("key-", i % 200), absl::StrCat(tag, i), expiry)));
      if (entries.size() == 64 || i == n - 1) {
        auto results = machine->Apply(entries, {});
        ASSERT_TRUE(results.ok()) << results.status();
        entries.clear();
      }
    }
  }

  std::vector<std::string> SourceChunks(const SnapshotLimits& limits = SmallChunks()) {
    auto reader = source_.machine->OpenSnapshot(limits);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? ReadAll(reader->get()) : std::vector<std::string>{};
  }

  // Feeds chunks to a receiver for the target; returns the staged snapshot or
  // the first error.
  absl::StatusOr<std::unique_ptr<StagedSnapshot>> Receive(const std::vector<std::string>& chunks,
                                                          uint64_t partition_id = kPartition) {
    auto receiver = SnapshotReceiver::Start(engine_.get(), partition_id, SmallChunks());
    if (!receiver.ok()) return receiver.status();
    for (const std::string& chunk : chunks) {
      if (absl::Status s = (*receiver)->Add(chunk); !s.ok()) return s;
    }
    return (*receiver)->Finish();
  }

  // Step 1 of the switch: the Ready's snapshot, persisted by a LogBatch.
  void CommitInstall(std::unique_ptr<StagedSnapshot> staged) {
    raft::SnapshotMetadata metadata = staged->metadata();
    LogBatch batch(engine_.get(), LogLimits());
    ASSERT_TRUE(batch.InstallSnapshot(target_.log.get(), metadata, std::move(staged)).ok());
    ASSERT_TRUE(batch.SetHardState(target_.log.get(),
                                   MakeHardState(metadata.term(), 0, metadata.index()))
                    .ok());
    absl::Status s = batch.Commit();
    ASSERT_TRUE(s.ok()) << s;
  }

  TempDir source_dir_;
  TempDir target_dir_;
  std::unique_ptr<Engine> source_engine_;
  // The target node.
  std::unique_ptr<Engine> engine_;
  Replica source_;
  Replica target_;
  Replica other_;
};

TEST_F(SnapshotTest, RoundTripReplacesTheTargetState) {
  Fill(source_.machine.get(), 700, /*term=*/3);
  Fill(target_.machine.get(), 20, 1, "old");  // to be replaced
  // Read once so the row cache holds the old row.
  EXPECT_EQ((*target_.machine->Get("key-1", 0))->value(), "old1");
  {
    LogBatch batch(engine_.get(), LogLimits());
    ASSERT_TRUE(batch.Append(target_.log.get(), MakeEntries(1, 21, 1)).ok());
    ASSERT_TRUE(batch.SetHardState(target_.log.get(), MakeHardState(1, 0, 20)).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  auto chunks = SourceChunks();
  ASSERT_GT(chunks.size(), 10u);  // header, many data chunks, trailer
  for (const std::string& chunk : chunks) {
    EXPECT_LE(chunk.size(), SmallChunks().target_chunk_bytes + 200);
  }
  auto staged = Receive(chunks);
  ASSERT_TRUE(staged.ok()) << staged.status();
  EXPECT_EQ((*staged)->metadata().index(), 700u);
  EXPECT_EQ((*staged)->metadata().term(), 3u);
  // Staged only: the target still serves its old state.
  EXPECT_EQ(target_.machine->applied_index(), 20u);
  CommitInstall(*std::move(staged));

  // Step 1 done: the log restarts after the snapshot; the old state still serves.
  EXPECT_EQ(target_.log->FirstIndex(), 701u);
  EXPECT_EQ(target_.log->LastIndex(), 700u);
  EXPECT_EQ(*target_.log->Term(700), 3u);
  EXPECT_EQ(engine_->PendingSnapshotIndex(kPartition), 700u);
  EXPECT_EQ(target_.machine->applied_index(), 20u);

  // Step 2, in apply order.
  uint64_t old_generation = target_.machine->generation();
  auto activated = target_.machine->MaybeActivateSnapshot();
  ASSERT_TRUE(activated.ok());
  EXPECT_TRUE(*activated);
  EXPECT_NE(target_.machine->generation(), old_generation);
  EXPECT_FALSE(*target_.machine->MaybeActivateSnapshot());  // nothing pending
  EXPECT_EQ(target_.machine->applied_index(), 700u);
  EXPECT_EQ(target_.machine->applied_term(), 3u);
  EXPECT_EQ(target_.machine->conf_state().voters_size(), 3);
  EXPECT_EQ(Dump(target_.machine.get()), Dump(source_.machine.get()));
  EXPECT_FALSE(Dump(target_.machine.get()).empty());
  // Point reads see the snapshot's rows, not the ones cached before it.
  EXPECT_EQ((*target_.machine->Get("key-1", 0))->value(), "v601");

  RestartEngine();
  EXPECT_EQ(target_.machine->applied_index(), 700u);
  EXPECT_EQ(Dump(target_.machine.get()), Dump(source_.machine.get()));
  EXPECT_EQ(target_.log->FirstIndex(), 701u);
  // Applying continues right after the snapshot.
  auto results =
      target_.machine->Apply({MakeEntry(701, 3, PutCommand("after", "snapshot"))}, {});
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ((*target_.machine->Get("after", 0))->create_revision(), 701u);
}

TEST_F(SnapshotTest, InstallAndTheEntriesAfterItGoInOneBatch) {
  // A Ready may carry a snapshot and the entries that follow it (ready.h):
  // one synced write holds both.
  Fill(source_.machine.get(), 80, 2);
  auto staged = Receive(SourceChunks());
  ASSERT_TRUE(staged.ok()) << staged.status();
  raft::SnapshotMetadata metadata = (*staged)->metadata();
  LogBatch batch(engine_.get(), LogLimits());
  ASSERT_TRUE(batch.InstallSnapshot(target_.log.get(), metadata, *std::move(staged)).ok());
  ASSERT_TRUE(batch.Append(target_.log.get(), MakeEntries(81, 84, 3)).ok());
  ASSERT_TRUE(batch.SetHardState(target_.log.get(), MakeHardState(3, 1, 82)).ok());
  uint64_t syncs = engine_->synced_write_count();
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(engine_->synced_write_count(), syncs + 1);
  EXPECT_EQ(target_.log->FirstIndex(), 81u);
  EXPECT_EQ(target_.log->LastIndex(), 83u);
  EXPECT_EQ(*target_.log->Term(80), 2u);
  EXPECT_EQ(*target_.log->Term(83), 3u);
  ASSERT_TRUE(*target_.machine->MaybeActivateSnapshot());
  auto entries = target_.log->Entries(81, 83, ~0ull);
  ASSERT_TRUE(entries.ok());
  auto results = target_.machine->Apply(*entries, {});
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(target_.machine->applied_index(), 82u);
}

TEST_F(SnapshotTest, ReaderSeesOneConsistentIndexWhileApplyGoesOn) {
  Fill(source_.machine.get(), 300);
  auto reader = source_.machine->OpenSnapshot(SmallChunks());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->metadata().index(), 300u);
  std::string before = Dump(source_.machine.get());
  // Applies go on while the snapshot streams.
  Fill(source_.machine.get(), 300, 1, "later");
  auto chunks = ReadAll(reader->get());
  auto staged = Receive(chunks);
  ASSERT_TRUE(staged.ok()) << staged.status();
  EXPECT_EQ((*staged)->metadata().index(), 300u);
  CommitInstall(*std::move(staged));
  ASSERT_TRUE(target_.machine->MaybeActivateSnapshot().ok());
  EXPECT_EQ(target_.machine->applied_index(), 300u);
  EXPECT_EQ(Dump(target_.machine.get()), before);
  EXPECT_NE(Dump(source_.machine.get()), before);
}

TEST_F(SnapshotTest, ReaderOutlivesTheDropOfItsColumnFamily) {
  // A snapshot being streamed keeps its column family readable after the
  // partition switched away from it or was dropped.
  Fill(source_.machine.get(), 100);
  std::string before = Dump(source_.machine.get());
  auto reader = source_.machine->OpenSnapshot(SmallChunks());
  ASSERT_TRUE(reader.ok());
  auto header = (*reader)->Next();
  ASSERT_TRUE(header.ok() && header->has_value());
  source_ = Replica();
  ASSERT_TRUE(source_engine_->DropPartition(kPartition).ok());
  std::vector<std::string> chunks = {**header};
  for (std::string& chunk : ReadAll(reader->get())) chunks.push_back(std::move(chunk));
  reader->reset();
  // Received into the re-created partition, it is the state from before.
  ASSERT_TRUE(source_engine_->CreatePartition(kPartition, {}).ok());
  source_ = OpenReplica(source_engine_.get(), kPartition);
  auto receiver = SnapshotReceiver::Start(source_engine_.get(), kPartition, SmallChunks());
  ASSERT_TRUE(receiver.ok());
  for (const std::string& chunk : chunks) ASSERT_TRUE((*receiver)->Add(chunk).ok());
  auto staged = (*receiver)->Finish();
  ASSERT_TRUE(staged.ok()) << staged.status();
  raft::SnapshotMetadata metadata = (*staged)->metadata();
  LogBatch batch(source_engine_.get(), LogLimits());
  ASSERT_TRUE(batch.InstallSnapshot(source_.log.get(), metadata, *std::move(staged)).ok());
  ASSERT_TRUE(batch.Commit().ok());
  ASSERT_TRUE(*source_.machine->MaybeActivateSnapshot());
  EXPECT_EQ(Dump(source_.machine.get()), before);
}

TEST_F(SnapshotTest, CrashBetweenTheTwoStepsIsFinishedAtOpen) {
  Fill(source_.machine.get(), 250, 2);
  auto staged = Receive(SourceChunks());
  ASSERT_TRUE(staged.ok()) << staged.status();
  CommitInstall(*std::move(staged));
  // Crash before MaybeActivateSnapshot: the engine finishes the switch.
  RestartEngine();
  EXPECT_FALSE(engine_->PendingSnapshotIndex(kPartition).has_value());
  EXPECT_EQ(target_.machine->applied_index(), 250u);
  EXPECT_EQ(Dump(target_.machine.get()), Dump(source_.machine.get()));
  EXPECT_FALSE(*target_.machine->MaybeActivateSnapshot());
  auto initial = target_.log->LoadInitialState();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(initial->hard_state.commit(), 250u);
  EXPECT_EQ(initial->conf_state.voters_size(), 3);
}

TEST_F(SnapshotTest, StagedButUncommittedLeavesNothingBehind) {
  Fill(source_.machine.get(), 50);
  uint64_t generation = target_.machine->generation();
  {
    auto staged = Receive(SourceChunks());
    ASSERT_TRUE(staged.ok()) << staged.status();
  }  // dropped: its column family goes
  EXPECT_FALSE(engine_->PendingSnapshotIndex(kPartition).has_value());
  RestartEngine();
  EXPECT_EQ(target_.machine->generation(), generation);
  EXPECT_EQ(target_.machine->applied_index(), 0u);
}

TEST_F(SnapshotTest, StaleSnapshotIsDiscardedAtActivation) {
  // A pending snapshot at or below the applied index would take the state
  // machine back: it is dropped instead.
  Fill(source_.machine.get(), 40);
  auto staged = Receive(SourceChunks());
  ASSERT_TRUE(staged.ok()) << staged.status();
  CommitInstall(*std::move(staged));
  Fill(target_.machine.get(), 60);  // the apply worker got ahead (a caller bug)
  auto activated = target_.machine->MaybeActivateSnapshot();
  ASSERT_TRUE(activated.ok());
  EXPECT_FALSE(*activated);
  EXPECT_EQ(target_.machine->applied_index(), 60u);
  EXPECT_FALSE(engine_->PendingSnapshotIndex(kPartition).has_value());
  // The log now starts after the snapshot, so the state kept was made
  // durable first: a crash cannot take it back below the log's start.
  EXPECT_EQ(*target_.machine->DurableAppliedIndex(), 60u);
}

TEST_F(SnapshotTest, InstallValidatesItsInputs) {
  Fill(source_.machine.get(), 30, 2);
  auto staged = Receive(SourceChunks());
  ASSERT_TRUE(staged.ok()) << staged.status();
  LogBatch batch(engine_.get(), LogLimits());
  raft::SnapshotMetadata wrong = (*staged)->metadata();
  wrong.set_term(9);
  EXPECT_EQ(batch.InstallSnapshot(target_.log.get(), wrong, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  raft::SnapshotMetadata metadata = (*staged)->metadata();
  EXPECT_EQ(batch.InstallSnapshot(other_.log.get(), metadata, *std::move(staged)).code(),
            absl::StatusCode::kInvalidArgument);  // staged for partition 1, not 2
  // A snapshot not newer than the log's own.
  staged = Receive(SourceChunks());
  ASSERT_TRUE(staged.ok()) << staged.status();
  {
    LogBatch setup(engine_.get(), LogLimits());
    ASSERT_TRUE(setup.Append(target_.log.get(), MakeEntries(1, 41, 2)).ok());
    ASSERT_TRUE(setup.SetHardState(target_.log.get(), MakeHardState(2, 0, 40)).ok());
    ASSERT_TRUE(setup.Commit().ok());
  }
  ASSERT_TRUE(target_.log->Compact(35, {}).ok());
  absl::Status s = batch.InstallSnapshot(target_.log.get(), metadata, *std::move(staged));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("not newer"), absl::string_view::npos) << s;
}

class SnapshotStreamErrorsTest : public SnapshotTest {
 protected:
  void SetUp() override {
    SnapshotTest::SetUp();
    Fill(source_.machine.get(), 120);
    Fill(target_.machine.get(), 5, 1, "old");
    chunks_ = SourceChunks();
    ASSERT_GE(chunks_.size(), 5u);
    old_dump_ = Dump(target_.machine.get());
  }

  void ExpectOldStateKept() {
    EXPECT_EQ(target_.machine->applied_index(), 5u);
    EXPECT_EQ(Dump(target_.machine.get()), old_dump_);
    EXPECT_FALSE(engine_->PendingSnapshotIndex(kPartition).has_value());
  }

  std::vector<std::string> chunks_;
  std::string old_dump_;
};

TEST_F(SnapshotStreamErrorsTest, FlippedBytesAreDataLossNamingTheChunk) {
  // Every byte of a header, a data chunk and the trailer.
  // Every byte of the header and the trailer; the framing, every 13th byte
  // and the checksum of a data chunk.
  for (size_t which : {size_t{0}, size_t{2}, chunks_.size() - 1}) {
    const size_t size = chunks_[which].size();
    for (size_t byte = 0; byte < size; ++byte) {
      bool data = which != 0 && which != chunks_.size() - 1;
      if (data && byte >= kChunkHeaderBytes && byte < size - 8 && byte % 13 != 0) continue;
      std::vector<std::string> corrupt = chunks_;
      corrupt[which][byte] ^= 0x04;
      auto staged = Receive(corrupt);
      ASSERT_FALSE(staged.ok()) << "chunk " << which << " byte " << byte;
      EXPECT_EQ(staged.status().code(), absl::StatusCode::kDataLoss)
          << "chunk " << which << " byte " << byte << ": " << staged.status();
      EXPECT_NE(staged.status().message().find(
                    absl::StrCat("snapshot chunk ", which, " of partition 1")),
                absl::string_view::npos)
          << staged.status();
    }
  }
  ExpectOldStateKept();
}

TEST_F(SnapshotStreamErrorsTest, PartialOrMisorderedStreamsAreRejected) {
  auto without = [&](size_t i) {
    std::vector<std::string> c = chunks_;
    c.erase(c.begin() + i);
    return c;
  };
  auto swapped = [&](size_t i, size_t j) {
    std::vector<std::string> c = chunks_;
    std::swap(c[i], c[j]);
    return c;
  };
  auto repeated = [&](size_t i) {
    std::vector<std::string> c = chunks_;
    c.insert(c.begin() + i, c[i]);
    return c;
  };
  auto truncated = [&](size_t n) {
    return std::vector<std::string>(chunks_.begin(), chunks_.begin() + n);
  };
  std::vector<std::string> extra = chunks_;
  extra.push_back(chunks_[1]);
  std::vector<std::string> cut_chunk = chunks_;
  cut_chunk[1].resize(cut_chunk[1].size() / 2);
  struct Case {
    const char* name;
    std::vector<std::string> chunks;
    absl::StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no trailer", truncated(chunks_.size() - 1), absl::StatusCode::kInvalidArgument,
       "is incomplete"},
      {"header only", truncated(1), absl::StatusCode::kInvalidArgument, "is incomplete"},
      {"empty", {}, absl::StatusCode::kInvalidArgument, "is incomplete: 0 chunks"},
      {"missing data chunk", without(2), absl::StatusCode::kInvalidArgument,
       "missing, repeated or out of order"},
      {"missing header", without(0), absl::StatusCode::kInvalidArgument,
       "missing, repeated or out of order"},
      {"swapped", swapped(1, 2), absl::StatusCode::kInvalidArgument, "out of order"},
      {"repeated", repeated(1), absl::StatusCode::kInvalidArgument, "repeated"},
      {"after the trailer", extra, absl::StatusCode::kInvalidArgument, "after the trailer"},
      {"cut chunk", cut_chunk, absl::StatusCode::kDataLoss, "snapshot chunk 1 of partition 1"},
  };
  for (const Case& c : cases) {
    auto staged = Receive(c.chunks);
    ASSERT_FALSE(staged.ok()) << c.name;
    EXPECT_EQ(staged.status().code(), c.code) << c.name << ": " << staged.status();
    EXPECT_NE(staged.status().message().find(c.message), absl::string_view::npos)
        << c.name << ": " << staged.status();
  }
  // Chunks of another partition.
  auto staged = Receive(chunks_, kOther);
  EXPECT_EQ(staged.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(staged.status().message().find("belongs to partition 1"), absl::string_view::npos);
  ExpectOldStateKept();
}

TEST_F(SnapshotStreamErrorsTest, WellFramedButMalformedPayloadsAreRejected) {
  auto data = [&](const std::string& payload) {
    std::vector<std::string> c = {chunks_[0],
                                  EncodeChunk(ChunkKind::kData, kPartition, 1, payload)};
    return c;
  };
  std::string unordered;
  AppendPair("b", std::string(40, '\x01'), &unordered);
  AppendPair("a", std::string(40, '\x01'), &unordered);
  std::string bad_record;
  AppendPair("a", "short", &bad_record);
  std::string overrun;
  AppendVarint64(1000, &overrun);
  overrun += "abc";
  struct Case {
    const char* name;
    std::vector<std::string> chunks;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"keys out of order", data(unordered), "not after the key before it"},
      {"malformed key record", data(bad_record), "stored record is malformed"},
      {"payload overrun", data(overrun), "a key overruns it"},
      {"empty data chunk", data(""), "holds no keys"},
      {"bad header", {EncodeChunk(ChunkKind::kHeader, kPartition, 0, "\xff\xff")},
       "metadata does not parse"},
      {"data before header", {EncodeChunk(ChunkKind::kData, kPartition, 0, unordered)},
       "does not start with a header"},
  };
  for (const Case& c : cases) {
    auto receiver = SnapshotReceiver::Start(engine_.get(), kPartition, SmallChunks());
    ASSERT_TRUE(receiver.ok());
    absl::Status first;
    for (const std::string& chunk : c.chunks) {
      first = (*receiver)->Add(chunk);
      if (!first.ok()) break;
    }
    ASSERT_FALSE(first.ok()) << c.name;
    EXPECT_NE(first.message().find(c.message), absl::string_view::npos)
        << c.name << ": " << first;
    // A failed receiver stays failed.
    EXPECT_EQ((*receiver)->Add(chunks_[0]).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*receiver)->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST_F(SnapshotStreamErrorsTest, RandomCorruptionNeverCrashes) {
  for (uint64_t seed : rkv::testing::SimSeeds(30)) {
    SCOPED_TRACE(absl::StrCat("replay: RKV_SIM_SEED=", seed));
    std::mt19937_64 random(seed);
    std::vector<std::string> corrupt = chunks_;
    size_t which = random() % corrupt.size();
    switch (random() % 3) {
      case 0:
        corrupt[which][random() % corrupt[which].size()] ^= static_cast<char>(1 + random() % 255);
        break;
      case 1:
        corrupt[which].resize(random() % corrupt[which].size());
        break;
      default:
        corrupt[which] = std::string(random() % 100, static_cast<char>(random()));
    }
    auto staged = Receive(corrupt);
    EXPECT_FALSE(staged.ok());
  }
  ExpectOldStateKept();
}

TEST_F(SnapshotStreamErrorsTest, OversizedChunksAndStreamsAreRefused) {
  SnapshotLimits limits = SmallChunks();
  limits.max_snapshot_bytes = chunks_[0].size() + 10;
  auto receiver = SnapshotReceiver::Start(engine_.get(), kPartition, limits);
  ASSERT_TRUE(receiver.ok());
  ASSERT_TRUE((*receiver)->Add(chunks_[0]).ok());
  absl::Status s = (*receiver)->Add(chunks_[1]);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  auto receiver2 = SnapshotReceiver::Start(engine_.get(), kPartition, SmallChunks());
  s = (*receiver2)->Add(std::string(SmallChunks().max_chunk_bytes + 1, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(SnapshotReceiver::Start(engine_.get(), 99, SmallChunks()).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace rkv::storage
