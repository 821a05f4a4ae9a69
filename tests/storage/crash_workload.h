// The crash test's workload and its model. A seeded generator picks events
// (group-committed log appends with conflicting tails, applies, compactions,
// snapshot installs) from the model state alone, so the child process that
// executes them against real storage and the parent test that checks the
// storage after a SIGKILL derive the very same sequence. The parent expects
// the recovered storage to equal the model after exactly the acknowledged
// events, or after one more (done but not yet acknowledged). Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/engine.h"
#include "storage/raft_log_store.h"
#include "storage/state_machine.h"

namespace rkv::storage::crash {

inline constexpr uint64_t kPartitionCount = 4;
inline constexpr uint64_t kKeysPerPartition = 48;

// What the storage of one partition must hold.
struct PartitionModel {
  uint64_t snapshot_index = 0;
  uint64_t snapshot_term = 0;
  // Terms of the entries [snapshot_index + 1, last].
  std::vector<uint64_t> terms;
  uint64_t hard_term = 0;
  uint64_t hard_vote = 0;
  uint64_t commit = 0;
  uint64_t applied_index = 0;
  uint64_t applied_term = 0;
  // key -> "value|create|mod|version"
  std::map<std::string, std::string> kv;

  uint64_t first_index() const { return snapshot_index + 1; }
  uint64_t last_index() const { return snapshot_index + terms.size(); }
  uint64_t TermAt(uint64_t index) const;
  bool operator==(const PartitionModel&) const = default;
};

struct Model {
  std::vector<PartitionModel> partitions;
  bool operator==(const Model&) const = default;
};

// A readable difference, for failure messages.
std::string Describe(const Model& model);

enum class EventKind { kLogCommit, kApply, kCompact, kInstall, kActivate };

struct Append {
  uint64_t partition_id;
  uint64_t first_index;
  uint64_t count;
  uint64_t term;
  uint64_t commit;
};

struct Event {
  EventKind kind = EventKind::kLogCommit;
  std::vector<Append> appends;  // kLogCommit
  uint64_t partition_id = 0;    // the others
  uint64_t index = 0;           // kApply: up to; kCompact: below
};

// The data of the entry (partition, index, term): a Put or a Delete command.
std::string EntryData(uint64_t partition_id, uint64_t index, uint64_t term);

class Workload {
 public:
  explicit Workload(uint64_t seed) : random_(seed) {}
  // The next event for `model`; REQUIRES: followed by ApplyToModel. An
  // install is always followed by the activation of the same partition.
  Event Next(const Model& model);

 private:
  std::mt19937_64 random_;
  uint64_t activate_partition_ = 0;  // 0: none
};

// Updates the model as the event does the storage.
void ApplyToModel(const Event& event, Model* model);

// The models after 0, 1, ... count events generated from `start` with
// `seed`; the events' kinds go to *kinds when not null.
std::vector<Model> ModelsAfter(const Model& start, uint64_t seed, uint64_t count,
                               std::vector<EventKind>* kinds = nullptr);

// Real storage of the workload's partitions.
class Storage {
 public:
  static absl::StatusOr<std::unique_ptr<Storage>> Open(const std::string& dir);
  ~Storage();
  // Reads everything back, checking each entry's data against EntryData.
  absl::StatusOr<Model> Read() const;
  absl::Status Execute(const Event& event);

 private:
  std::unique_ptr<Engine> engine_;
  std::vector<std::unique_ptr<RaftLogStore>> logs_;
  std::vector<std::unique_ptr<StateMachine>> machines_;
};

// Creates the partitions of the workload in a fresh directory.
absl::Status Bootstrap(const std::string& dir);

}  // namespace rkv::storage::crash
