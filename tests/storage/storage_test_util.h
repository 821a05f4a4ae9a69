// Helpers shared by the storage tests: small engine options, entry and command
// builders, and a fixture-free way to open a partition's log and state
// machine. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "raft/types.h"
#include "rkv/internal/command.pb.h"
#include "storage/engine.h"
#include "storage/limits.h"
#include "storage/raft_log_store.h"
#include "storage/state_machine.h"

namespace rkv::storage::testing {

// Small caches and memtables: tests open many engines.
inline EngineOptions TestEngineOptions(const std::string& dir) {
  EngineOptions options;
  options.dir = dir;
  options.block_cache_bytes = 16ull << 20;
  options.memtable_budget_bytes = 8ull << 20;
  options.raft_write_buffer_bytes = 1ull << 20;
  options.partition_write_buffer_bytes = 1ull << 20;
  options.background_jobs = 2;
  return options;
}

inline std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(TestEngineOptions(dir));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

inline raft::ConfState Voters(std::vector<uint64_t> ids) {
  raft::ConfState conf_state;
  for (uint64_t id : ids) conf_state.add_voters(id);
  return conf_state;
}

inline raft::Entry MakeEntry(uint64_t index, uint64_t term, std::string data = "") {
  raft::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(std::move(data));
  return entry;
}

// Entries [lo, hi) of one term, with data naming index and term.
inline std::vector<raft::Entry> MakeEntries(uint64_t lo, uint64_t hi, uint64_t term) {
  std::vector<raft::Entry> entries;
  for (uint64_t i = lo; i < hi; ++i) {
    entries.push_back(MakeEntry(i, term, "i" + std::to_string(i) + "t" + std::to_string(term)));
  }
  return entries;
}

inline raft::HardState MakeHardState(uint64_t term, uint64_t vote, uint64_t commit) {
  raft::HardState hard_state;
  hard_state.set_term(term);
  hard_state.set_vote(vote);
  hard_state.set_commit(commit);
  return hard_state;
}

// --- commands ---
inline std::string PutCommand(const std::string& key, const std::string& value,
                              uint64_t expiry_unix_ms = 0, bool prev_kv = false,
                              uint64_t now_unix_ms = 0) {
  rkv::internal::Command command;
  command.set_now_unix_ms(now_unix_ms);
  command.mutable_put()->set_key(key);
  command.mutable_put()->set_value(value);
  command.mutable_put()->set_expiry_unix_ms(expiry_unix_ms);
  command.mutable_put()->set_prev_kv(prev_kv);
  return command.SerializeAsString();
}

inline std::string DeleteCommand(const std::string& key, bool prev_kv = false,
                                 uint64_t now_unix_ms = 0) {
  rkv::internal::Command command;
  command.set_now_unix_ms(now_unix_ms);
  command.mutable_delete_key()->set_key(key);
  command.mutable_delete_key()->set_prev_kv(prev_kv);
  return command.SerializeAsString();
}

inline std::string DeleteRangeCommand(const std::string& key, const std::string& range_end,
                                      bool prev_kv = false, uint64_t now_unix_ms = 0) {
  rkv::internal::Command command;
  command.set_now_unix_ms(now_unix_ms);
  command.mutable_delete_range()->set_key(key);
  command.mutable_delete_range()->set_range_end(range_end);
  command.mutable_delete_range()->set_prev_kv(prev_kv);
  return command.SerializeAsString();
}

// A partition with its log store and state machine, on an engine.
struct Replica {
  std::unique_ptr<RaftLogStore> log;
  std::unique_ptr<StateMachine> machine;
};

inline Replica OpenReplica(Engine* engine, uint64_t partition_id,
                           const StateMachineLimits& sm_limits = StateMachineLimits()) {
  Replica replica;
  auto log = RaftLogStore::Open(engine, partition_id, LogLimits());
  EXPECT_TRUE(log.ok()) << log.status();
  if (log.ok()) replica.log = *std::move(log);
  auto machine = StateMachine::Open(engine, partition_id, sm_limits);
  EXPECT_TRUE(machine.ok()) << machine.status();
  if (machine.ok()) replica.machine = *std::move(machine);
  return replica;
}

}  // namespace rkv::storage::testing
