// StateMachine::Apply: revisions and versions, deletes, expiry, no-ops and
// membership changes, batching, exactly-once bookkeeping of the applied
// index, and bad input that must yield a status rather than a crash or a
// partial write.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/state_machine.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/seed.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wait_for.h"

namespace rkv::storage {
namespace {

using ::rkv::internal::CommandResult;
using ::rkv::internal::RangeOp;
using ::rkv::storage::testing::DeleteCommand;
using ::rkv::storage::testing::DeleteRangeCommand;
using ::rkv::storage::testing::MakeEntry;
using ::rkv::storage::testing::OpenEngine;
using ::rkv::storage::testing::PutCommand;
using ::rkv::storage::testing::Voters;
using ::rkv::testing::TempDir;

constexpr uint64_t kPartition = 5;

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = OpenEngine(dir_.path());
    ASSERT_NE(engine_, nullptr);
    ASSERT_TRUE(engine_->CreatePartition(kPartition, Voters({1, 2, 3})).ok());
    Reopen();
  }

  void Reopen(const StateMachineLimits& limits = StateMachineLimits()) {
    machine_.reset();
    auto machine = StateMachine::Open(engine_.get(), kPartition, limits);
    ASSERT_TRUE(machine.ok()) << machine.status();
    machine_ = *std::move(machine);
  }

  void RestartEngine() {
    machine_.reset();
    engine_.reset();
    engine_ = OpenEngine(dir_.path());
    ASSERT_NE(engine_, nullptr);
    Reopen();
  }

  // Applies one entry of term 1 carrying data at the next index.
  EntryResult ApplyOne(const std::string& data) {
    raft::Entry entry = MakeEntry(machine_->applied_index() + 1, 1, data);
    auto results = machine_->Apply({entry}, {});
    EXPECT_TRUE(results.ok()) << results.status();
    if (!results.ok() || results->size() != 1) return EntryResult{};
    return (*results)[0];
  }

  std::optional<rkv::internal::KeyValue> Get(const std::string& key, uint64_t now = 0) {
    auto kv = machine_->Get(key, now);
    EXPECT_TRUE(kv.ok()) << kv.status();
    return kv.ok() ? *kv : std::nullopt;
  }

  std::vector<std::string> Keys(const std::string& key, const std::string& end, uint64_t now = 0) {
    RangeOp range;
    range.set_key(key);
    range.set_range_end(end);
    auto result = machine_->Range(range, now);
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<std::string> keys;
    if (result.ok()) {
      for (const auto& kv : result->kvs()) keys.push_back(kv.key());
    }
    return keys;
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<StateMachine> machine_;
};

TEST_F(ApplyTest, PutTracksRevisionsAndVersions) {
  // A revision is the raft index of the entry that made the change.
  EntryResult first = ApplyOne(PutCommand("k", "v1"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.result.revision(), 1u);
  EXPECT_FALSE(first.result.put().has_prev_kv());
  ApplyOne(PutCommand("other", "x"));
  EntryResult third = ApplyOne(PutCommand("k", "v2", 0, /*prev_kv=*/true));
  EXPECT_EQ(third.result.revision(), 3u);
  ASSERT_TRUE(third.result.put().has_prev_kv());
  EXPECT_EQ(third.result.put().prev_kv().value(), "v1");
  EXPECT_EQ(third.result.put().prev_kv().mod_revision(), 1u);

  auto kv = Get("k");
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value(), "v2");
  EXPECT_EQ(kv->create_revision(), 1u);
  EXPECT_EQ(kv->mod_revision(), 3u);
  EXPECT_EQ(kv->version(), 2u);
  EXPECT_EQ(machine_->applied_index(), 3u);
  EXPECT_EQ(machine_->applied_term(), 1u);

  // Deleting and re-creating starts a new life: version 1, new create revision.
  EntryResult deleted = ApplyOne(DeleteCommand("k", /*prev_kv=*/true));
  EXPECT_EQ(deleted.result.delete_key().deleted(), 1u);
  EXPECT_EQ(deleted.result.delete_key().prev_kvs(0).value(), "v2");
  EXPECT_FALSE(Get("k").has_value());
  EXPECT_EQ(ApplyOne(DeleteCommand("k")).result.delete_key().deleted(), 0u);
  ApplyOne(PutCommand("k", "v3"));
  kv = Get("k");
  EXPECT_EQ(kv->create_revision(), 6u);
  EXPECT_EQ(kv->version(), 1u);
}

TEST_F(ApplyTest, DeleteRangeCoversHalfOpenRangesAndToTheEnd) {
  for (const char* key : {"a", "b", "ba", "bz", "c", "d"}) ApplyOne(PutCommand(key, "v"));
  EntryResult r = ApplyOne(DeleteRangeCommand("b", "c", /*prev_kv=*/true));
  EXPECT_EQ(r.result.delete_range().deleted(), 3u);
  ASSERT_EQ(r.result.delete_range().prev_kvs_size(), 3);
  EXPECT_EQ(r.result.delete_range().prev_kvs(2).key(), "bz");
  EXPECT_EQ(Keys("a", std::string("\0", 1)), (std::vector<std::string>{"a", "c", "d"}));
  // "\0" as range end: every key >= key.
  r = ApplyOne(DeleteRangeCommand("c", std::string("\0", 1)));
  EXPECT_EQ(r.result.delete_range().deleted(), 2u);
  EXPECT_EQ(Keys("a", std::string("\0", 1)), std::vector<std::string>{"a"});
  // Empty range end: one key.
  r = ApplyOne(DeleteRangeCommand("a", ""));
  EXPECT_EQ(r.result.delete_range().deleted(), 1u);
  EXPECT_TRUE(Keys("a", std::string("\0", 1)).empty());
}

TEST_F(ApplyTest, ExpiredKeysReadAsAbsentAndAreRemovedByDelete) {
  // The proposer stamps now_unix_ms; replicas decide expiry against it.
  ApplyOne(PutCommand("ttl", "v", /*expiry_unix_ms=*/1000));
  ApplyOne(PutCommand("keep", "v"));
  EXPECT_TRUE(Get("ttl", 999).has_value());
  EXPECT_FALSE(Get("ttl", 1000).has_value());
  EXPECT_EQ(Keys("a", "z", 999), (std::vector<std::string>{"keep", "ttl"}));
  EXPECT_EQ(Keys("a", "z", 1000), std::vector<std::string>{"keep"});
  // A Put after expiry creates the key anew.
  EntryResult put = ApplyOne(PutCommand("ttl", "w", 0, /*prev_kv=*/true, /*now_unix_ms=*/2000));
  EXPECT_FALSE(put.result.put().has_prev_kv());
  auto kv = Get("ttl", 5000);
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->version(), 1u);
  EXPECT_EQ(kv->create_revision(), 3u);
  // A Delete of an expired key removes it physically but reports nothing deleted.
  ApplyOne(PutCommand("gone", "v", 1000));
  EntryResult del = ApplyOne(DeleteCommand("gone", false, /*now_unix_ms=*/1500));
  EXPECT_EQ(del.result.delete_key().deleted(), 0u);
  EXPECT_FALSE(Get("gone", 0).has_value());  // no longer stored, even for an old clock
}

TEST_F(ApplyTest, NoOpsAndMembershipChangesAdvanceTheAppliedIndex) {
  raft::Entry noop = MakeEntry(1, 2);
  raft::Entry conf = MakeEntry(2, 2, "serialized ConfChange");
  conf.set_type(rkv::internal::ENTRY_CONF_CHANGE);
  raft::Entry put = MakeEntry(3, 2, PutCommand("k", "v"));
  auto results = machine_->Apply({noop, conf, put}, {ConfStateAt{2, Voters({1, 2, 3, 4})}});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  for (const EntryResult& r : *results) EXPECT_TRUE(r.status.ok());
  EXPECT_EQ((*results)[0].result.revision(), 1u);
  EXPECT_EQ(machine_->applied_index(), 3u);
  EXPECT_EQ(machine_->conf_state().voters_size(), 4);
  RestartEngine();
  EXPECT_EQ(machine_->applied_index(), 3u);
  EXPECT_EQ(machine_->applied_term(), 2u);
  EXPECT_EQ(machine_->conf_state().voters_size(), 4);
  // The raft log reports the state machine's membership at restart.
  auto log = RaftLogStore::Open(engine_.get(), kPartition, LogLimits());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->LoadInitialState()->conf_state.voters_size(), 4);
}

TEST_F(ApplyTest, AppliedStateIsDurableOnceFlushed) {
  // Apply writes no WAL record: the durable applied index (what a crash
  // would come back to, and where log compaction stops) moves with flushes.
  ApplyOne(PutCommand("a", "1"));
  ApplyOne(PutCommand("b", "2"));
  auto durable = machine_->DurableAppliedIndex();
  ASSERT_TRUE(durable.ok()) << durable.status();
  EXPECT_EQ(*durable, 0u);
  const uint64_t flushes = engine_->flush_count();
  ASSERT_TRUE(machine_->Flush(/*wait=*/true).ok());
  EXPECT_GT(engine_->flush_count(), flushes);
  durable = machine_->DurableAppliedIndex();
  ASSERT_TRUE(durable.ok()) << durable.status();
  EXPECT_EQ(*durable, 2u);
  // Remembered until the next flush, which a background request starts.
  ApplyOne(PutCommand("c", "3"));
  EXPECT_EQ(*machine_->DurableAppliedIndex(), 2u);
  ASSERT_TRUE(machine_->Flush(/*wait=*/false).ok());
  EXPECT_TRUE(rkv::testing::WaitFor(
      [&] { return *machine_->DurableAppliedIndex() == 3u; }, absl::Seconds(30)));
  // A clean shutdown flushes what is left.
  ApplyOne(PutCommand("d", "4"));
  RestartEngine();
  EXPECT_EQ(machine_->applied_index(), 4u);
  EXPECT_EQ(*machine_->DurableAppliedIndex(), 4u);
  EXPECT_EQ(Get("d")->value(), "4");
}

TEST_F(ApplyTest, ABatchSeesItsOwnWritesAndIsWrittenAtOnce) {
  std::vector<raft::Entry> entries;
  entries.push_back(MakeEntry(1, 1, PutCommand("k", "1")));
  entries.push_back(MakeEntry(2, 1, PutCommand("k", "2", 0, true)));
  entries.push_back(MakeEntry(3, 1, DeleteCommand("k", true)));
  entries.push_back(MakeEntry(4, 1, PutCommand("k", "4", 0, true)));
  entries.push_back(MakeEntry(5, 1, PutCommand("j", "5")));
  auto results = machine_->Apply(entries, {});
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[1].result.put().prev_kv().value(), "1");
  EXPECT_EQ((*results)[2].result.delete_key().prev_kvs(0).value(), "2");
  EXPECT_EQ((*results)[2].result.delete_key().prev_kvs(0).version(), 2u);
  EXPECT_FALSE((*results)[3].result.put().has_prev_kv());
  auto kv = Get("k");
  EXPECT_EQ(kv->value(), "4");
  EXPECT_EQ(kv->create_revision(), 4u);
  EXPECT_EQ(kv->version(), 1u);
  EXPECT_EQ(machine_->applied_index(), 5u);
}

TEST_F(ApplyTest, AppliedEntriesAreSkippedAndGapsRefused) {
  ApplyOne(PutCommand("a", "1"));
  ApplyOne(PutCommand("b", "1"));
  // Re-delivered entries (already in the state) are skipped: no result.
  auto again = machine_->Apply({MakeEntry(1, 1, PutCommand("a", "again")),
                                MakeEntry(2, 1, PutCommand("b", "again")),
                                MakeEntry(3, 1, PutCommand("c", "1"))},
                               {});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].index, 3u);
  EXPECT_EQ(Get("a")->value(), "1");
  // A gap is refused with nothing written.
  auto gap = machine_->Apply({MakeEntry(5, 1, PutCommand("e", "1"))}, {});
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(gap.status().message().find("entry 5 cannot be applied after applied index 3"),
            absl::string_view::npos);
  EXPECT_EQ(machine_->applied_index(), 3u);
  EXPECT_FALSE(Get("e").has_value());
}

TEST_F(ApplyTest, MalformedCallsChangeNothing) {
  raft::Entry conf = MakeEntry(1, 1);
  conf.set_type(rkv::internal::ENTRY_CONF_CHANGE);
  struct Case {
    const char* name;
    std::vector<raft::Entry> entries;
    std::vector<ConfStateAt> conf_states;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"not consecutive",
       {MakeEntry(1, 1, PutCommand("a", "1")), MakeEntry(3, 1, PutCommand("b", "1"))},
       {},
       absl::StatusCode::kInvalidArgument},
      {"falling terms",
       {MakeEntry(1, 2, PutCommand("a", "1")), MakeEntry(2, 1, PutCommand("b", "1"))},
       {},
       absl::StatusCode::kInvalidArgument},
      {"conf change without conf state", {conf}, {}, absl::StatusCode::kInvalidArgument},
      {"conf state without conf change",
       {MakeEntry(1, 1, PutCommand("a", "1"))},
       {ConfStateAt{1, Voters({1})}},
       absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    auto results = machine_->Apply(c.entries, c.conf_states);
    EXPECT_EQ(results.status().code(), c.code) << c.name << ": " << results.status();
    EXPECT_EQ(machine_->applied_index(), 0u) << c.name;
    EXPECT_FALSE(Get("a").has_value()) << c.name;
  }
  StateMachineLimits limits;
  limits.max_apply_entries = 2;
  Reopen(limits);
  auto results = machine_->Apply({MakeEntry(1, 1), MakeEntry(2, 1), MakeEntry(3, 1)}, {});
  EXPECT_EQ(results.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(ApplyTest, BadCommandsAreRejectedButStillCountAsApplied) {
  // A bad entry never crashes the node and never half-applies; the applied
  // index moves past it so every replica stays identical.
  rkv::internal::Command unknown;
  unknown.set_now_unix_ms(1);  // no command set
  rkv::internal::Command txn_with_bad_op;
  txn_with_bad_op.mutable_txn()->add_success()->mutable_put()->set_key("ok");
  txn_with_bad_op.mutable_txn()->add_success();  // op of no type
  StateMachineLimits limits;
  limits.max_key_bytes = 8;
  limits.max_value_bytes = 16;
  Reopen(limits);
  struct Case {
    const char* name;
    std::string data;
    absl::StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"garbage", std::string("\xff\xff\xff\xff", 4), absl::StatusCode::kInvalidArgument,
       "does not parse"},
      {"unknown type", unknown.SerializeAsString(), absl::StatusCode::kInvalidArgument,
       "unknown command type"},
      {"empty key", PutCommand("", "v"), absl::StatusCode::kInvalidArgument, "key is empty"},
      {"long key", PutCommand("123456789", "v"), absl::StatusCode::kInvalidArgument,
       "key is 9 bytes; the limit is 8"},
      {"long value", PutCommand("k", std::string(17, 'v')), absl::StatusCode::kInvalidArgument,
       "value is 17 bytes; the limit is 16"},
      {"backward range", DeleteRangeCommand("b", "a"), absl::StatusCode::kInvalidArgument,
       "range end does not sort after the key"},
      {"txn op of no type", txn_with_bad_op.SerializeAsString(),
       absl::StatusCode::kInvalidArgument, "txn success op 1: unknown op type"},
  };
  uint64_t index = 0;
  for (const Case& c : cases) {
    EntryResult r = ApplyOne(c.data);
    ++index;
    EXPECT_EQ(r.status.code(), c.code) << c.name << ": " << r.status;
    EXPECT_NE(r.status.message().find(c.message), absl::string_view::npos)
        << c.name << ": " << r.status;
    EXPECT_NE(r.status.message().find("partition 5 entry " + std::to_string(index)),
              absl::string_view::npos)
        << c.name << ": " << r.status;
    EXPECT_EQ(machine_->applied_index(), index) << c.name;
  }
  EXPECT_FALSE(Get("ok").has_value());
  // An entry type raft never produces.
  raft::Entry odd = MakeEntry(index + 1, 1, PutCommand("k", "v"));
  odd.set_type(static_cast<rkv::internal::EntryType>(9));
  auto results = machine_->Apply({odd}, {});
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Get("k").has_value());
}

TEST_F(ApplyTest, RandomBytesNeverCrashOrHalfApply) {
  for (uint64_t seed : rkv::testing::SimSeeds(20)) {
    SCOPED_TRACE(absl::StrCat("replay: RKV_SIM_SEED=", seed));
    std::mt19937_64 random(seed);
    std::vector<raft::Entry> entries;
    for (int i = 0; i < 50; ++i) {
      std::string data = PutCommand("key" + std::to_string(i % 7), "value");
      // Corrupt some bytes, or replace the whole thing.
      if (random() % 2 == 0) {
        for (int flips = 1 + random() % 3; flips > 0; --flips) data[random() % data.size()] = random();
      } else if (random() % 2 == 0) {
        data.resize(random() % data.size());
      }
      entries.push_back(MakeEntry(machine_->applied_index() + 1 + i, 1, data));
    }
    auto results = machine_->Apply(entries, {});
    ASSERT_TRUE(results.ok()) << results.status();
    EXPECT_EQ(results->size(), entries.size());
    EXPECT_EQ(machine_->applied_index(), entries.back().index());
  }
}

TEST_F(ApplyTest, OverlargeDeleteRangeInATxnRollsBackTheWholeTxn) {
  StateMachineLimits limits;
  limits.max_scan_keys = 2;
  limits.max_range_keys = 2;
  Reopen(limits);
  for (const char* key : {"a1", "a2", "a3", "a4"}) ApplyOne(PutCommand(key, "v"));
  rkv::internal::Command command;
  auto* txn = command.mutable_txn();
  txn->add_success()->mutable_put()->set_key("b");
  txn->add_success()->mutable_delete_key()->set_key("a1");
  auto* range = txn->add_success()->mutable_delete_range();
  range->set_key("a");
  range->set_range_end("b");
  EntryResult r = ApplyOne(command.SerializeAsString());
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted) << r.status;
  EXPECT_NE(r.status.message().find("more than 2 keys"), absl::string_view::npos) << r.status;
  EXPECT_FALSE(r.result.has_txn());
  EXPECT_EQ(machine_->applied_index(), 5u);
  EXPECT_FALSE(Get("b").has_value());
  EXPECT_TRUE(Get("a1").has_value());
  // Within the bound it runs.
  ApplyOne(DeleteCommand("a4"));
  r = ApplyOne(command.SerializeAsString());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.result.txn().succeeded());
  // a1 was deleted by the earlier op of the same txn; the range sees that.
  EXPECT_EQ(r.result.txn().results(2).delete_range().deleted(), 2u);
  EXPECT_TRUE(Get("b").has_value());
}

TEST_F(ApplyTest, BlindPutsFoldLikeReadBeforeWritePuts) {
  // A Put without prev_kv is a merge operand folded later (in the batch, on a
  // read, in a flush or compaction); the result must equal reading first.
  std::vector<std::string> commands;
  for (int round = 0; round < 6; ++round) {
    commands.push_back(PutCommand("k", absl::StrCat("v", round), 0, false, round * 100));
    commands.push_back(PutCommand("ttl", absl::StrCat("t", round),
                                  /*expiry_unix_ms=*/round * 100 + 50, false, round * 100));
    if (round == 2) commands.push_back(DeleteCommand("k"));
    if (round == 4) commands.push_back(PutCommand("ttl", "peek", 0, /*prev_kv=*/true, 420));
  }
  auto dump = [&](StateMachine* machine) {
    std::string out;
    for (const char* key : {"k", "ttl"}) {
      auto kv = machine->Get(key, 0);
      EXPECT_TRUE(kv.ok());
      if (kv.ok() && kv->has_value()) {
        absl::StrAppend(&out, key, "=", (*kv)->value(), "@", (*kv)->create_revision(), ",",
                        (*kv)->mod_revision(), ",", (*kv)->version(), ";");
      }
    }
    return out;
  };
  // One entry per Apply, flushing and compacting on the way: operands meet
  // their records in RocksDB's merge operator.
  for (size_t i = 0; i < commands.size(); ++i) {
    ApplyOne(commands[i]);
    if (i % 3 == 2) {
      auto cf = engine_->ActiveCf(kPartition);
      ASSERT_TRUE(engine_->db()->Flush(rocksdb::FlushOptions(), (*cf)->handle).ok());
    }
    if (i % 5 == 4) {
      auto cf = engine_->ActiveCf(kPartition);
      ASSERT_TRUE(engine_->db()
                      ->CompactRange(rocksdb::CompactRangeOptions(), (*cf)->handle, nullptr, nullptr)
                      .ok());
    }
  }
  std::string one_by_one = dump(machine_.get());
  // All in one Apply: operands fold in the ApplyView.
  ASSERT_TRUE(engine_->CreatePartition(kPartition + 1, {}).ok());
  auto batched = StateMachine::Open(engine_.get(), kPartition + 1, StateMachineLimits());
  ASSERT_TRUE(batched.ok());
  std::vector<raft::Entry> entries;
  for (size_t i = 0; i < commands.size(); ++i) entries.push_back(MakeEntry(i + 1, 1, commands[i]));
  ASSERT_TRUE((*batched)->Apply(entries, {}).ok());
  EXPECT_EQ(dump(batched->get()), one_by_one);
  // k: deleted at round 2, re-created by round 3's put (index 10); ttl: its
  // round-4 value had expired when round 5 put it again.
  // k: deleted at index 7, re-created at 8, put at 10 and 13. ttl: each put
  // came after the previous expiry (created anew) until the put at 12, which
  // came before it and cleared the expiry.
  EXPECT_EQ(one_by_one, "k=v5@8,13,3;ttl=t5@11,14,3;");
}

TEST_F(ApplyTest, RangeReadsHonourLimitsAndFlags) {
  for (int i = 0; i < 5; ++i) ApplyOne(PutCommand("k" + std::to_string(i), "value"));
  RangeOp range;
  range.set_key("k");
  range.set_range_end("l");
  range.set_limit(2);
  auto result = machine_->Range(range, 0);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->kvs_size(), 2);
  EXPECT_EQ(result->count(), 5u);
  EXPECT_TRUE(result->more());
  range.set_limit(0);
  range.set_keys_only(true);
  result = machine_->Range(range, 0);
  EXPECT_EQ(result->kvs_size(), 5);
  EXPECT_FALSE(result->more());
  EXPECT_TRUE(result->kvs(0).value().empty());
  EXPECT_EQ(result->kvs(0).mod_revision(), 1u);
  range.set_count_only(true);
  result = machine_->Range(range, 0);
  EXPECT_EQ(result->kvs_size(), 0);
  EXPECT_EQ(result->count(), 5u);
  range.set_key("");
  EXPECT_EQ(machine_->Range(range, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rkv::storage
