#include "tests/storage/crash_workload.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "raft/check.h"
#include "rkv/internal/command.pb.h"
#include "storage/log_batch.h"
#include "storage/snapshot.h"
#include "tests/storage/storage_test_util.h"

namespace rkv::storage::crash {
namespace {

uint64_t Mix(uint64_t x) {
  // splitmix64's finalizer.
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string KvValue(const std::string& value, uint64_t create, uint64_t mod, uint64_t version) {
  return absl::StrCat(value, "|", create, "|", mod, "|", version);
}

// The model's version of StateMachine::Apply for the workload's commands.
void ApplyCommand(uint64_t index, const std::string& data, std::map<std::string, std::string>* kv) {
  rkv::internal::Command command;
  RKV_CHECK(command.ParseFromString(data));
  if (command.has_delete_key()) {
    kv->erase(command.delete_key().key());
    return;
  }
  RKV_CHECK(command.has_put());
  const std::string& key = command.put().key();
  uint64_t create = index;
  uint64_t version = 1;
  if (auto found = kv->find(key); found != kv->end()) {
    std::vector<std::string> parts = absl::StrSplit(found->second, '|');
    RKV_CHECK_EQ(parts.size(), 4u);
    create = std::stoull(parts[1]);
    version = std::stoull(parts[3]) + 1;
  }
  (*kv)[key] = KvValue(command.put().value(), create, index, version);
}

constexpr uint64_t kNoLimit = ~0ull;

}  // namespace

uint64_t PartitionModel::TermAt(uint64_t index) const {
  if (index == snapshot_index) return snapshot_term;
  RKV_CHECK_GT(index, snapshot_index);
  RKV_CHECK_LE(index, last_index());
  return terms[index - first_index()];
}

std::string Describe(const Model& model) {
  std::string out;
  for (size_t p = 0; p < model.partitions.size(); ++p) {
    const PartitionModel& m = model.partitions[p];
    absl::StrAppend(&out, "partition ", p + 1, ": snapshot ", m.snapshot_index, "@",
                    m.snapshot_term, ", log [", m.first_index(), ", ", m.last_index(), "]");
    if (!m.terms.empty()) absl::StrAppend(&out, " last term ", m.terms.back());
    absl::StrAppend(&out, ", hard state ", m.hard_term, "/", m.hard_vote, "/", m.commit,
                    ", applied ", m.applied_index, "@", m.applied_term, ", ", m.kv.size(),
                    " keys\n");
  }
  return out;
}

std::string EntryData(uint64_t partition_id, uint64_t index, uint64_t term) {
  uint64_t h = Mix(partition_id * 0x100000001b3ull ^ Mix(index) ^ (term << 48));
  std::string key = absl::StrCat("key-", h % kKeysPerPartition);
  rkv::internal::Command command;
  if (h % 8 == 0) {
    command.mutable_delete_key()->set_key(key);
  } else {
    std::string value(32 + (h >> 8) % 96, static_cast<char>('a' + (h >> 16) % 26));
    command.mutable_put()->set_key(key);
    command.mutable_put()->set_value(value);
  }
  return command.SerializeAsString();
}

Event Workload::Next(const Model& model) {
  if (activate_partition_ != 0) {
    Event event{.kind = EventKind::kActivate, .appends = {}, .partition_id = activate_partition_,
                .index = 0};
    activate_partition_ = 0;
    return event;
  }
  const uint64_t partitions = model.partitions.size();
  const uint64_t choice = random_() % 100;
  const uint64_t p = random_() % partitions;
  const PartitionModel& pm = model.partitions[p];
  Event event;
  if (choice >= 45 && choice < 80 && pm.applied_index < pm.commit) {
    event.kind = EventKind::kApply;
    event.partition_id = p + 1;
    event.index = std::min(pm.commit, pm.applied_index + 1 + random_() % 40);
    return event;
  }
  if (choice >= 80 && choice < 90 && pm.applied_index >= pm.first_index()) {
    event.kind = EventKind::kCompact;
    event.partition_id = p + 1;
    event.index = pm.first_index() + 1 + random_() % (pm.applied_index + 1 - pm.first_index());
    return event;
  }
  if (choice >= 90 && pm.applied_index == pm.commit && pm.applied_index > pm.snapshot_index) {
    // As a follower restoring a leader's snapshot: the log (and any
    // uncommitted tail) is replaced by the snapshot at the applied index.
    event.kind = EventKind::kInstall;
    event.partition_id = p + 1;
    activate_partition_ = p + 1;
    return event;
  }
  if (choice >= 90 && pm.applied_index < pm.commit) {
    // Catch up, so that an install can follow.
    event.kind = EventKind::kApply;
    event.partition_id = p + 1;
    event.index = pm.commit;
    return event;
  }
  event.kind = EventKind::kLogCommit;
  for (uint64_t q = 0; q < partitions; ++q) {
    if (q != p && random_() % 2 == 0) continue;
    const PartitionModel& qm = model.partitions[q];
    Append append{.partition_id = q + 1,
                  .first_index = qm.last_index() + 1,
                  .count = 0,
                  .term = 0,
                  .commit = 0};
    append.term = std::max<uint64_t>(qm.hard_term, 1);
    if (qm.last_index() > qm.commit && random_() % 8 == 0) {
      // A new leader overwrites the uncommitted tail.
      append.term += 1;
      append.first_index = qm.commit + 1 + random_() % (qm.last_index() - qm.commit);
    } else if (random_() % 16 == 0) {
      append.term += 1;
    }
    append.count = 1 + random_() % 6;
    uint64_t last = append.first_index + append.count - 1;
    append.commit = std::min(last, qm.commit + random_() % (append.count + 3));
    event.appends.push_back(append);
  }
  return event;
}

void ApplyToModel(const Event& event, Model* model) {
  switch (event.kind) {
    case EventKind::kLogCommit:
      for (const Append& append : event.appends) {
        PartitionModel& m = model->partitions[append.partition_id - 1];
        m.terms.resize(append.first_index - m.first_index());
        m.terms.insert(m.terms.end(), append.count, append.term);
        m.hard_term = append.term;
        m.hard_vote = 1;
        m.commit = append.commit;
      }
      return;
    case EventKind::kApply: {
      PartitionModel& m = model->partitions[event.partition_id - 1];
      for (uint64_t i = m.applied_index + 1; i <= event.index; ++i) {
        ApplyCommand(i, EntryData(event.partition_id, i, m.TermAt(i)), &m.kv);
      }
      m.applied_term = m.TermAt(event.index);
      m.applied_index = event.index;
      return;
    }
    case EventKind::kCompact: {
      PartitionModel& m = model->partitions[event.partition_id - 1];
      uint64_t term = m.TermAt(event.index - 1);
      m.terms.erase(m.terms.begin(), m.terms.begin() + (event.index - m.first_index()));
      m.snapshot_index = event.index - 1;
      m.snapshot_term = term;
      return;
    }
    case EventKind::kInstall: {
      PartitionModel& m = model->partitions[event.partition_id - 1];
      m.snapshot_index = m.applied_index;
      m.snapshot_term = m.applied_term;
      m.terms.clear();
      return;
    }
    case EventKind::kActivate:
      return;  // the state is the same; only its column family changes
  }
}

std::vector<Model> ModelsAfter(const Model& start, uint64_t seed, uint64_t count,
                               std::vector<EventKind>* kinds) {
  std::vector<Model> models = {start};
  Workload workload(seed);
  for (uint64_t i = 0; i < count; ++i) {
    Event event = workload.Next(models.back());
    if (kinds != nullptr) kinds->push_back(event.kind);
    Model next = models.back();
    ApplyToModel(event, &next);
    models.push_back(std::move(next));
  }
  return models;
}

absl::Status Bootstrap(const std::string& dir) {
  auto engine = Engine::Open(testing::TestEngineOptions(dir));
  if (!engine.ok()) return engine.status();
  for (uint64_t p = 1; p <= kPartitionCount; ++p) {
    if (absl::Status s = (*engine)->CreatePartition(p, testing::Voters({1})); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Storage>> Storage::Open(const std::string& dir) {
  auto storage = std::make_unique<Storage>();
  auto engine = Engine::Open(testing::TestEngineOptions(dir));
  if (!engine.ok()) return engine.status();
  storage->engine_ = *std::move(engine);
  for (uint64_t p = 1; p <= kPartitionCount; ++p) {
    auto log = RaftLogStore::Open(storage->engine_.get(), p, LogLimits());
    if (!log.ok()) return log.status();
    storage->logs_.push_back(*std::move(log));
    auto machine = StateMachine::Open(storage->engine_.get(), p, StateMachineLimits());
    if (!machine.ok()) return machine.status();
    storage->machines_.push_back(*std::move(machine));
  }
  return storage;
}

Storage::~Storage() {
  logs_.clear();
  machines_.clear();
  engine_.reset();
}

absl::StatusOr<Model> Storage::Read() const {
  Model model;
  for (uint64_t p = 1; p <= kPartitionCount; ++p) {
    const RaftLogStore& log = *logs_[p - 1];
    const StateMachine& machine = *machines_[p - 1];
    PartitionModel m;
    m.snapshot_index = log.snapshot_metadata().index();
    m.snapshot_term = log.snapshot_metadata().term();
    m.hard_term = log.hard_state().term();
    m.hard_vote = log.hard_state().vote();
    m.commit = log.hard_state().commit();
    auto entries = log.Entries(log.FirstIndex(), log.LastIndex() + 1, kNoLimit);
    if (!entries.ok()) return entries.status();
    for (const raft::Entry& entry : *entries) {
      if (entry.data() != EntryData(p, entry.index(), entry.term())) {
        return absl::DataLossError(absl::StrCat("partition ", p, " entry ", entry.index(),
                                                " holds data that was never written"));
      }
      m.terms.push_back(entry.term());
    }
    // The hard state is consistent with the log (raft's invariants).
    if (m.commit > m.last_index() || (!m.terms.empty() && m.terms.back() > m.hard_term)) {
      return absl::DataLossError(absl::StrCat("partition ", p, ": hard state ", m.hard_term, "/",
                                              m.commit, " inconsistent with the log's last index ",
                                              m.last_index()));
    }
    m.applied_index = machine.applied_index();
    m.applied_term = machine.applied_term();
    if (m.applied_index > m.commit) {
      return absl::DataLossError(absl::StrCat("partition ", p, ": applied index ",
                                              m.applied_index, " is past the commit index ",
                                              m.commit));
    }
    if (m.applied_index < m.snapshot_index) {
      return absl::DataLossError(absl::StrCat("partition ", p, ": applied index ",
                                              m.applied_index, " is below the log's start ",
                                              m.first_index(), ": entries in between are lost"));
    }
    rkv::internal::RangeOp all;
    all.set_key("\x01");
    all.set_range_end(std::string("\0", 1));
    auto result = machine.Range(all, 0);
    if (!result.ok()) return result.status();
    for (const auto& kv : result->kvs()) {
      m.kv[kv.key()] =
          KvValue(kv.value(), kv.create_revision(), kv.mod_revision(), kv.version());
    }
    model.partitions.push_back(std::move(m));
  }
  return model;
}

absl::Status Storage::Execute(const Event& event) {
  const uint64_t p = event.partition_id;
  switch (event.kind) {
    case EventKind::kLogCommit: {
      LogBatch batch(engine_.get(), LogLimits());
      for (const Append& append : event.appends) {
        RaftLogStore* log = logs_[append.partition_id - 1].get();
        std::vector<raft::Entry> entries;
        for (uint64_t i = 0; i < append.count; ++i) {
          uint64_t index = append.first_index + i;
          entries.push_back(testing::MakeEntry(index, append.term,
                                               EntryData(append.partition_id, index, append.term)));
        }
        if (absl::Status s = batch.Append(log, entries); !s.ok()) return s;
        if (absl::Status s = batch.SetHardState(
                log, testing::MakeHardState(append.term, 1, append.commit));
            !s.ok()) {
          return s;
        }
      }
      return batch.Commit();
    }
    case EventKind::kApply: {
      StateMachine* machine = machines_[p - 1].get();
      auto entries = logs_[p - 1]->Entries(machine->applied_index() + 1, event.index + 1, kNoLimit);
      if (!entries.ok()) return entries.status();
      auto results = machine->Apply(*entries, {});
      if (!results.ok()) return results.status();
      for (const EntryResult& result : *results) {
        if (!result.status.ok()) return result.status;
      }
      return absl::OkStatus();
    }
    case EventKind::kCompact: {
      // As the driver does: the log keeps every entry after the state
      // machine's durable applied index, where a crash would take it back.
      // Where the model compacts past that, the state is flushed first.
      StateMachine* machine = machines_[p - 1].get();
      absl::StatusOr<uint64_t> durable = machine->DurableAppliedIndex();
      if (!durable.ok()) return durable.status();
      if (*durable + 1 < event.index) {
        if (absl::Status s = machine->Flush(/*wait=*/true); !s.ok()) return s;
      }
      return logs_[p - 1]->Compact(event.index, machine->conf_state());
    }
    case EventKind::kInstall: {
      SnapshotLimits limits;
      limits.target_chunk_bytes = 2048;
      auto reader = machines_[p - 1]->OpenSnapshot(limits);
      if (!reader.ok()) return reader.status();
      auto receiver = SnapshotReceiver::Start(engine_.get(), p, limits);
      if (!receiver.ok()) return receiver.status();
      while (true) {
        auto chunk = (*reader)->Next();
        if (!chunk.ok()) return chunk.status();
        if (!chunk->has_value()) break;
        if (absl::Status s = (*receiver)->Add(**chunk); !s.ok()) return s;
      }
      auto staged = (*receiver)->Finish();
      if (!staged.ok()) return staged.status();
      raft::SnapshotMetadata metadata = (*staged)->metadata();
      LogBatch batch(engine_.get(), LogLimits());
      if (absl::Status s =
              batch.InstallSnapshot(logs_[p - 1].get(), metadata, *std::move(staged));
          !s.ok()) {
        return s;
      }
      return batch.Commit();
    }
    case EventKind::kActivate: {
      auto activated = machines_[p - 1]->MaybeActivateSnapshot();
      if (!activated.ok()) return activated.status();
      if (!*activated) return absl::InternalError("nothing to activate");
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown event");
}

}  // namespace rkv::storage::crash
