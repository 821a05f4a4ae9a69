#include "storage/apply_view.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "storage/keys.h"
#include "storage/mvcc.h"
#include "storage/rocks_status.h"
#include "storage/row_cache.h"
#include "storage/slice.h"

namespace rkv::storage {

ApplyView::ApplyView(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t partition_id,
                     RowCache& rows, uint64_t generation)
    : db_(db), cf_(cf), partition_id_(partition_id), rows_(rows), generation_(generation) {}

absl::StatusOr<std::optional<std::string>> ApplyView::ReadStored(absl::string_view user_key) {
  // Keys this batch has not written yet hold what earlier batches left, and
  // those invalidated their rows, so a cached row is the stored record.
  std::optional<std::string> stored;
  auto copy = [&](std::optional<absl::string_view> row) {
    if (row.has_value()) stored.emplace(row->data(), row->size());
  };
  if (absl::Status s = rows_.Read(db_, cf_, partition_id_, generation_, user_key, copy); !s.ok()) return s;
  return stored;
}

absl::StatusOr<std::optional<std::string>> ApplyView::Fold(
    const Pending& pending, std::optional<absl::string_view> stored) const {
  std::optional<std::string> current;
  if (stored.has_value()) current = std::string(*stored);
  for (const std::string& operand : pending.operands) {
    std::optional<KeyRecord> previous;
    if (current.has_value()) {
      absl::StatusOr<KeyRecord> decoded = DecodeKeyRecord(*current, partition_id_, "");
      if (!decoded.ok()) return decoded.status();
      previous = *decoded;
    }
    absl::StatusOr<std::string> next =
        FoldPutOperand(previous.has_value() ? &*previous : nullptr, operand);
    if (!next.ok()) return next.status();
    current = *std::move(next);
  }
  return current;
}

absl::StatusOr<std::optional<std::string>> ApplyView::Get(absl::string_view user_key) {
  auto found = pending_.find(user_key);
  if (found == pending_.end()) return ReadStored(user_key);
  if (found->second.known) return found->second.record;
  absl::StatusOr<std::optional<std::string>> stored = ReadStored(user_key);
  if (!stored.ok()) return stored.status();
  absl::StatusOr<std::optional<std::string>> folded =
      Fold(found->second, stored->has_value() ? std::optional<absl::string_view>(**stored)
                                              : std::nullopt);
  if (!folded.ok()) return folded.status();
  // Now known: the same write, cheaper to read again.
  found->second = Pending{.known = true, .record = *folded, .operands = {}};
  return *std::move(folded);
}

void ApplyView::Record(absl::string_view user_key) {
  if (!recording_) return;
  Undo undo{.user_key = std::string(user_key), .previous = std::nullopt};
  if (auto found = pending_.find(user_key); found != pending_.end()) undo.previous = found->second;
  undo_.push_back(std::move(undo));
}

ApplyView::Pending& ApplyView::Slot(absl::string_view user_key, bool* created) {
  auto slot = pending_.lower_bound(user_key);
  *created = slot == pending_.end() || slot->first != user_key;
  if (*created) slot = pending_.emplace_hint(slot, std::string(user_key), Pending());
  return slot->second;
}

void ApplyView::Put(absl::string_view user_key, std::string record) {
  Record(user_key);
  bool created = false;
  Slot(user_key, &created) = Pending{.known = true, .record = std::move(record), .operands = {}};
}

void ApplyView::Delete(absl::string_view user_key) {
  Record(user_key);
  bool created = false;
  Slot(user_key, &created) = Pending{.known = true, .record = std::nullopt, .operands = {}};
}

absl::Status ApplyView::Merge(absl::string_view user_key, std::string operand) {
  Record(user_key);
  bool created = false;
  Pending& pending = Slot(user_key, &created);
  if (created) {
    pending.known = false;
    pending.operands.push_back(std::move(operand));
    return absl::OkStatus();
  }
  if (!pending.known) {
    pending.operands.push_back(std::move(operand));
    return absl::OkStatus();
  }
  // The previous record is known: fold now.
  std::optional<KeyRecord> previous;
  if (pending.record.has_value()) {
    absl::StatusOr<KeyRecord> decoded = DecodeKeyRecord(*pending.record, partition_id_, user_key);
    if (!decoded.ok()) return decoded.status();
    previous = *decoded;
  }
  absl::StatusOr<std::string> next =
      FoldPutOperand(previous.has_value() ? &*previous : nullptr, operand);
  if (!next.ok()) return next.status();
  pending.record = *std::move(next);
  return absl::OkStatus();
}

void ApplyView::BeginCommand() {
  undo_.clear();
  recording_ = true;
}

void ApplyView::EndCommand() {
  undo_.clear();
  recording_ = false;
}

void ApplyView::RollbackCommand() {
  RKV_CHECK(recording_);
  for (auto undo = undo_.rbegin(); undo != undo_.rend(); ++undo) {
    if (undo->previous.has_value()) {
      pending_[undo->user_key] = *undo->previous;
    } else {
      pending_.erase(undo->user_key);
    }
  }
  undo_.clear();
}

absl::Status ApplyView::Scan(absl::string_view begin, std::optional<absl::string_view> end,
                             uint64_t max_keys,
                             absl::FunctionRef<bool(absl::string_view, absl::string_view)> visit) {
  const std::string db_begin = keys::DataKey(begin);
  const std::string db_end = end ? keys::DataKey(*end) : std::string(keys::kDataEnd);
  rocksdb::Slice upper(db_end);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, cf_));
  it->Seek(db_begin);
  auto overlay = pending_.lower_bound(begin);
  auto overlay_valid = [&] { return overlay != pending_.end() && (!end || overlay->first < *end); };

  uint64_t visited = 0;
  auto over_limit = [&] {
    return absl::ResourceExhaustedError(absl::StrCat(
        "partition ", partition_id_, ": the range holds more than ", max_keys,
        " keys, the most one command may visit"));
  };
  while (true) {
    bool from_db = it->Valid();
    bool from_overlay = overlay_valid();
    if (!from_db && !from_overlay) break;
    absl::string_view db_key = from_db ? keys::UserKey(ToView(it->key())) : "";
    if (from_overlay && (!from_db || overlay->first <= db_key)) {
      // The pending write hides (or applies over) what RocksDB holds for the key.
      const Pending& pending = overlay->second;
      std::optional<std::string> folded;
      if (!pending.known) {
        std::optional<absl::string_view> stored;
        if (from_db && overlay->first == db_key) stored = ToView(it->value());
        absl::StatusOr<std::optional<std::string>> result = Fold(pending, stored);
        if (!result.ok()) return result.status();
        folded = *std::move(result);
      }
      if (from_db && overlay->first == db_key) it->Next();
      const std::optional<std::string>& record = pending.known ? pending.record : folded;
      if (record.has_value()) {
        if (++visited > max_keys) return over_limit();
        if (!visit(overlay->first, *record)) return absl::OkStatus();
      }
      ++overlay;
    } else {
      if (++visited > max_keys) return over_limit();
      if (!visit(db_key, ToView(it->value()))) return absl::OkStatus();
      it->Next();
    }
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), absl::StrCat("scanning keys of partition ", partition_id_));
  }
  return absl::OkStatus();
}

void ApplyView::WriteTo(rocksdb::WriteBatch* batch) const {
  std::string key;
  for (const auto& [user_key, pending] : pending_) {
    key.assign(1, keys::kDataPrefix);
    key.append(user_key);
    if (!pending.known) {
      for (const std::string& operand : pending.operands) {
        RKV_CHECK_OK(FromRocks(batch->Merge(cf_, key, operand), "batching"));
      }
    } else if (pending.record.has_value()) {
      RKV_CHECK_OK(FromRocks(batch->Put(cf_, key, *pending.record), "batching"));
    } else {
      RKV_CHECK_OK(FromRocks(batch->Delete(cf_, key), "batching"));
    }
  }
}

}  // namespace rkv::storage
