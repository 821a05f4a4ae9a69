// RowCache: hits, misses, invalidation and refused stale fills on their own;
// then through StateMachine::Get, which must answer exactly as an uncached
// state machine does under random writes, and must never return a row from
// before a write that was applied before the read began, while the apply
// thread writes and readers fill the cache concurrently.
#include "storage/row_cache.h"

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "storage/state_machine.h"
#include "tests/storage/storage_test_util.h"
#include "tests/util/seed.h"
#include "tests/util/temp_dir.h"

namespace rkv::storage {
namespace {

using ::rkv::storage::testing::DeleteCommand;
using ::rkv::storage::testing::DeleteRangeCommand;
using ::rkv::storage::testing::MakeEntry;
using ::rkv::storage::testing::PutCommand;
using ::rkv::storage::testing::TestEngineOptions;
using ::rkv::storage::testing::Voters;
using ::rkv::testing::TempDir;

// What a lookup found: "miss", "absent" or the record.
std::string Look(RowCache& rows, uint64_t partition, uint64_t generation, const std::string& key,
                 RowCache::Ticket* ticket) {
  std::string found;
  auto copy = [&](std::optional<absl::string_view> row) { found = row ? std::string(*row) : "absent"; };
  if (!rows.Lookup(partition, generation, key, copy, ticket)) return "miss";
  return found;
}

TEST(RowCacheTest, AMissFillsAndAnInvalidateForgets) {
  RowCache rows(rocksdb::NewLRUCache(1 << 20));
  RowCache::Ticket ticket;
  EXPECT_EQ(Look(rows, 1, 7, "k", &ticket), "miss");
  rows.Fill(ticket, "record");
  RowCache::Ticket unused;
  EXPECT_EQ(Look(rows, 1, 7, "k", &unused), "record");
  // Another partition or generation is another row.
  EXPECT_EQ(Look(rows, 2, 7, "k", &unused), "miss");
  EXPECT_EQ(Look(rows, 1, 8, "k", &unused), "miss");
  rows.Invalidate(1, 7, "k");
  EXPECT_EQ(Look(rows, 1, 7, "k", &ticket), "miss");
  // Absence is a row too.
  rows.Fill(ticket, std::nullopt);
  EXPECT_EQ(Look(rows, 1, 7, "k", &unused), "absent");
  EXPECT_EQ(rows.hits(), 2u);
  EXPECT_EQ(rows.misses(), 4u);
}

TEST(RowCacheTest, AFillThatAnInvalidateOvertookIsRefused) {
  RowCache rows(rocksdb::NewLRUCache(1 << 20));
  RowCache::Ticket stale;
  ASSERT_EQ(Look(rows, 1, 1, "k", &stale), "miss");
  // The write lands and invalidates between the reader's miss and its fill:
  // what the reader found may predate the write.
  rows.Invalidate(1, 1, "k");
  rows.Fill(stale, "before the write");
  RowCache::Ticket ticket;
  EXPECT_EQ(Look(rows, 1, 1, "k", &ticket), "miss");
  rows.Fill(ticket, "after the write");
  EXPECT_EQ(Look(rows, 1, 1, "k", &ticket), "after the write");
}

TEST(RowCacheTest, WithoutACacheEveryLookupMisses) {
  RowCache rows(nullptr);
  RowCache::Ticket ticket;
  EXPECT_EQ(Look(rows, 1, 1, "k", &ticket), "miss");
  rows.Fill(ticket, "record");
  rows.Invalidate(1, 1, "k");
  EXPECT_EQ(Look(rows, 1, 1, "k", &ticket), "miss");
  EXPECT_EQ(rows.hits(), 0u);
}

constexpr uint64_t kPartition = 3;

struct Machine {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<StateMachine> sm;
};

Machine OpenMachine(const std::string& dir, bool cache_rows) {
  EngineOptions options = TestEngineOptions(dir);
  options.cache_rows = cache_rows;
  Machine m;
  auto engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return m;
  m.engine = *std::move(engine);
  EXPECT_TRUE(m.engine->CreatePartition(kPartition, Voters({1})).ok());
  auto sm = StateMachine::Open(m.engine.get(), kPartition, StateMachineLimits());
  EXPECT_TRUE(sm.ok()) << sm.status();
  if (sm.ok()) m.sm = *std::move(sm);
  return m;
}

// A Txn: if key's version is at least `version`, put `put_key`, else delete
// it. Its compare and its ops read the keys while applying.
std::string CompareAndPut(const std::string& key, uint64_t version, const std::string& put_key,
                          const std::string& value, uint64_t now) {
  rkv::internal::Command command;
  command.set_now_unix_ms(now);
  rkv::internal::TxnCommand* txn = command.mutable_txn();
  rkv::internal::Compare* compare = txn->add_compares();
  compare->set_key(key);
  compare->set_target(rkv::internal::Compare::TARGET_VERSION);
  compare->set_result(rkv::internal::Compare::RESULT_GREATER);
  compare->set_version(version);
  rkv::internal::PutOp* put = txn->add_success()->mutable_put();
  put->set_key(put_key);
  put->set_value(value);
  put->set_prev_kv(true);
  txn->add_failure()->mutable_delete_key()->set_key(put_key);
  return command.SerializeAsString();
}

std::string Describe(const absl::StatusOr<std::optional<rkv::internal::KeyValue>>& kv) {
  if (!kv.ok()) return kv.status().ToString();
  if (!kv->has_value()) return "absent";
  return absl::StrCat((*kv)->value(), "@", (*kv)->create_revision(), ",", (*kv)->mod_revision(), ",",
                      (*kv)->version());
}

TEST(RowCacheTest, CachedGetsAnswerAsUncachedOnesUnderRandomWrites) {
  for (uint64_t seed : rkv::testing::SimSeeds(4)) {
    SCOPED_TRACE(absl::StrCat("seed ", seed, " (replay: RKV_SIM_SEED=", seed, ")"));
    TempDir cached_dir, plain_dir;
    Machine cached = OpenMachine(cached_dir.path(), true);
    Machine plain = OpenMachine(plain_dir.path(), false);
    ASSERT_NE(cached.sm, nullptr);
    ASSERT_NE(plain.sm, nullptr);
    std::mt19937_64 rng(seed);
    auto key = [&] { return absl::StrCat("k", rng() % 12); };
    uint64_t index = 0;
    for (int step = 0; step < 600; ++step) {
      // A batch of 1-4 commands of every kind that writes, expiring some keys.
      std::vector<raft::Entry> entries;
      const int batch = 1 + static_cast<int>(rng() % 4);
      const uint64_t now = static_cast<uint64_t>(step) * 10;
      for (int i = 0; i < batch; ++i) {
        std::string command;
        switch (rng() % 6) {
          case 0:
          case 1:
            command = PutCommand(key(), absl::StrCat("v", step, ".", i), 0, false, now);
            break;
          case 2:
            command = PutCommand(key(), absl::StrCat("p", step), /*expiry_unix_ms=*/now + 25,
                                 /*prev_kv=*/true, now);
            break;
          case 3:
            command = DeleteCommand(key(), false, now);
            break;
          case 4:
            command = CompareAndPut(key(), rng() % 4, key(), absl::StrCat("t", step, ".", i), now);
            break;
          default: {
            std::string a = key(), b = key();
            if (b < a) std::swap(a, b);
            command = DeleteRangeCommand(a, b, false, now);
          }
        }
        entries.push_back(MakeEntry(++index, 1, command));
      }
      ASSERT_TRUE(cached.sm->Apply(entries, {}).ok());
      ASSERT_TRUE(plain.sm->Apply(entries, {}).ok());
      // Reads fill the cache between writes; some find expired keys.
      for (int r = 0; r < 4; ++r) {
        const std::string k = key();
        const uint64_t at = now + rng() % 40;
        ASSERT_EQ(Describe(cached.sm->Get(k, at)), Describe(plain.sm->Get(k, at)))
            << "key " << k << " at step " << step;
      }
      if (step % 150 == 149) {  // operands meet their records in flushes too
        auto cf = cached.engine->ActiveCf(kPartition);
        ASSERT_TRUE(cached.engine->db()->Flush(rocksdb::FlushOptions(), (*cf)->handle).ok());
      }
    }
    EXPECT_GT(cached.engine->row_cache().hits(), 0u);
    EXPECT_EQ(plain.engine->row_cache().hits(), 0u);
  }
}

TEST(RowCacheTest, AReadNeverSeesARowOlderThanTheAppliedIndexItStartedAt) {
  TempDir dir;
  Machine m = OpenMachine(dir.path(), true);
  ASSERT_NE(m.sm, nullptr);
  const uint64_t writes = static_cast<uint64_t>(3000 * rkv::testing::TestScale());
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        // Every entry puts "k", so a read that starts once index a is
        // applied must find the put of a or a later one.
        const uint64_t applied = m.sm->applied_index();
        auto kv = m.sm->Get("k", 0);
        ASSERT_TRUE(kv.ok()) << kv.status();
        if (applied == 0) continue;
        ASSERT_TRUE(kv->has_value()) << "applied " << applied;
        ASSERT_GE((*kv)->mod_revision(), applied);
        reads.fetch_add(1);
      }
    });
  }
  for (uint64_t index = 1; index <= writes; ++index) {
    // Blind puts and puts that read first (prev_kv) write the key alike.
    raft::Entry entry = MakeEntry(index, 1, PutCommand("k", absl::StrCat(index), 0, index % 3 == 0));
    ASSERT_TRUE(m.sm->Apply({entry}, {}).ok());
  }
  done.store(true);
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace rkv::storage
