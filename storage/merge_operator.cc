#include "storage/merge_operator.h"

#include <optional>
#include <string>

#include "storage/mvcc.h"
#include "storage/slice.h"

namespace rkv::storage {
namespace {

class PutMerge final : public rocksdb::MergeOperator {
 public:
  // Persisted in the OPTIONS file: renaming it is a format change.
  const char* Name() const override { return "rkv.put.v1"; }

  bool FullMergeV2(const MergeOperationInput& input,
                   MergeOperationOutput* output) const override {
    std::optional<std::string> current;
    if (input.existing_value != nullptr) current = input.existing_value->ToString();
    for (const rocksdb::Slice& operand : input.operand_list) {
      std::optional<KeyRecord> previous;
      if (current.has_value()) {
        absl::StatusOr<KeyRecord> decoded = DecodeKeyRecord(*current, 0, "");
        // A malformed record or operand fails the read or compaction as
        // corruption (DATA_LOSS to rkv callers); it is never guessed at.
        if (!decoded.ok()) return false;
        previous = *decoded;
      }
      absl::StatusOr<std::string> next =
          FoldPutOperand(previous.has_value() ? &*previous : nullptr, ToView(operand));
      if (!next.ok()) return false;
      current = *std::move(next);
    }
    if (!current.has_value()) return false;
    output->new_value = *std::move(current);
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> PutMergeOperator() { return std::make_shared<PutMerge>(); }

}  // namespace rkv::storage
