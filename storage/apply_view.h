// ApplyView: a partition's keys as a batch of entries being applied sees
// them: the column family's committed state overlaid with the batch's pending
// writes (later entries see earlier ones), plus an undo log so a command
// rejected half-way (a DeleteRange over its scan limit inside a Txn) leaves no
// trace. A pending write is either a known record (or deletion) or blind put
// operands (storage/mvcc.h) over the stored record, folded only if the batch
// reads the key again. At the end, WriteTo() puts every pending write into the
// WriteBatch that also carries the applied index. Not thread-safe; lives for
// one Apply call on the apply thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace rkv::storage {

class RowCache;

class ApplyView final {
 public:
  // Reads of keys without a pending write go through rows (the engine's
  // row cache), under the column family's generation.
  ApplyView(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t partition_id, RowCache& rows,
            uint64_t generation);
  ApplyView(const ApplyView&) = delete;
  ApplyView& operator=(const ApplyView&) = delete;

  // The record of user_key (live or expired), or nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view user_key);
  void Put(absl::string_view user_key, std::string record);
  void Delete(absl::string_view user_key);
  // A blind put (storage/mvcc.h, EncodePutOperand). Returns DATA_LOSS if the
  // key's known record is malformed.
  absl::Status Merge(absl::string_view user_key, std::string operand);

  // Calls visit(user_key, record) for every stored key in [begin, end) in key
  // order (end nullopt: every key >= begin) until visit returns false.
  // Returns RESOURCE_EXHAUSTED, naming max_keys, when more than max_keys keys
  // would be visited.
  absl::Status Scan(absl::string_view begin, std::optional<absl::string_view> end,
                    uint64_t max_keys,
                    absl::FunctionRef<bool(absl::string_view, absl::string_view)> visit);

  // Starts recording an undo log for one command that may be rejected after
  // it wrote (a Txn, a DeleteRange).
  void BeginCommand();
  // Reverts every write since BeginCommand().
  void RollbackCommand();
  // Stops recording.
  void EndCommand();

  // Adds every pending write to batch (for the column family given above).
  void WriteTo(rocksdb::WriteBatch* batch) const;
  size_t pending_count() const { return pending_.size(); }
  // Calls visit for the user key of every pending write.
  void ForEachWrittenKey(absl::FunctionRef<void(absl::string_view)> visit) const {
    for (const auto& [user_key, pending] : pending_) visit(user_key);
  }

 private:
  struct Pending {
    // True: record holds the key's record (nullopt: deleted). False: operands
    // apply, in order, over whatever RocksDB holds.
    bool known = true;
    std::optional<std::string> record;
    std::vector<std::string> operands;
  };
  struct Undo {
    std::string user_key;
    // nullopt: the key had no pending write before.
    std::optional<Pending> previous;
  };
  void Record(absl::string_view user_key);
  // The pending write of user_key, created (as an empty known record) if absent.
  Pending& Slot(absl::string_view user_key, bool* created);
  absl::StatusOr<std::optional<std::string>> ReadStored(absl::string_view user_key);
  // The record of pending's operands over stored (nullopt: absent).
  absl::StatusOr<std::optional<std::string>> Fold(const Pending& pending,
                                                  std::optional<absl::string_view> stored) const;

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  const uint64_t partition_id_;
  RowCache& rows_;
  const uint64_t generation_;
  absl::btree_map<std::string, Pending> pending_;
  std::vector<Undo> undo_;
  bool recording_ = false;
};

}  // namespace rkv::storage
