#include "storage/row_cache.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "storage/coding.h"
#include "storage/keys.h"
#include "storage/rocks_status.h"
#include "storage/slice.h"

namespace rkv::storage {
namespace {

// The stored record, or nullopt for an absent key.
using Row = std::optional<std::string>;

void DeleteRow(const rocksdb::Slice&, void* value) { delete static_cast<Row*>(value); }

// Partition and generation, then a tag byte, then the user key (never
// empty): at least 18 bytes, so never equal to RocksDB's own 16-byte block
// keys in the shared cache.
constexpr size_t kHeaderBytes = 17;
constexpr char kRowTag = 'r';
// The cache's bookkeeping per entry, roughly, charged with the row.
constexpr size_t kEntryOverhead = 64;

}  // namespace

RowCache::RowCache(std::shared_ptr<rocksdb::Cache> cache)
    : cache_(std::move(cache)), stripes_(std::make_unique<std::array<Stripe, kStripes>>()) {}

RowCache::~RowCache() = default;

std::string RowCache::CacheKey(uint64_t partition_id, uint64_t generation, absl::string_view user_key) {
  std::string key(kHeaderBytes, '\0');
  PutBigEndian64(partition_id, key.data());
  PutBigEndian64(generation, key.data() + 8);
  key[16] = kRowTag;
  key.append(user_key.data(), user_key.size());
  return key;
}

size_t RowCache::StripeOf(absl::string_view cache_key) {
  return absl::HashOf(cache_key) % kStripes;
}

bool RowCache::Lookup(uint64_t partition_id, uint64_t generation, absl::string_view user_key,
                      absl::FunctionRef<void(std::optional<absl::string_view>)> found, Ticket* ticket) {
  ticket->cache_key = CacheKey(partition_id, generation, user_key);
  if (cache_ != nullptr) {
    if (rocksdb::Cache::Handle* handle = cache_->Lookup(ToSlice(ticket->cache_key))) {
      // The handle pins the row: an Invalidate meanwhile only unlists it.
      const Row& row = *static_cast<const Row*>(cache_->Value(handle));
      found(row.has_value() ? std::optional<absl::string_view>(*row) : std::nullopt);
      cache_->Release(handle);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  ticket->stripe = StripeOf(ticket->cache_key);
  Stripe& stripe = (*stripes_)[ticket->stripe];
  absl::MutexLock lock(&stripe.mu);
  ticket->epoch = stripe.epoch;
  return false;
}

absl::Status RowCache::Read(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t partition_id,
                            uint64_t generation, absl::string_view user_key,
                            absl::FunctionRef<void(std::optional<absl::string_view>)> visit) {
  Ticket ticket;
  if (Lookup(partition_id, generation, user_key, visit, &ticket)) return absl::OkStatus();
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, keys::DataKey(user_key), &value);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s, absl::StrCat("reading a key of partition ", partition_id));
  }
  const std::optional<absl::string_view> stored =
      s.ok() ? std::optional<absl::string_view>(ToView(value)) : std::nullopt;
  Fill(ticket, stored);
  visit(stored);
  return absl::OkStatus();
}

void RowCache::Fill(const Ticket& ticket, std::optional<absl::string_view> record) {
  if (cache_ == nullptr) return;
  auto row = std::make_unique<Row>();
  if (record.has_value()) row->emplace(record->data(), record->size());
  const size_t charge = ticket.cache_key.size() + (record ? record->size() : 0) + kEntryOverhead;
  Stripe& stripe = (*stripes_)[ticket.stripe];
  absl::MutexLock lock(&stripe.mu);
  // An Invalidate since the miss: what the read found may be older than the
  // write that invalidated it.
  if (stripe.epoch != ticket.epoch) return;
  // Insert owns the row even when it refuses it (a cache with a strict
  // limit that is full); the read was answered either way.
  rocksdb::Status inserted = cache_->Insert(ToSlice(ticket.cache_key), row.release(), charge, &DeleteRow);
  (void)inserted;
}

void RowCache::Invalidate(uint64_t partition_id, uint64_t generation, absl::string_view user_key) {
  if (cache_ == nullptr) return;
  const std::string cache_key = CacheKey(partition_id, generation, user_key);
  Stripe& stripe = (*stripes_)[StripeOf(cache_key)];
  absl::MutexLock lock(&stripe.mu);
  cache_->Erase(ToSlice(cache_key));
  ++stripe.epoch;
}

}  // namespace rkv::storage
