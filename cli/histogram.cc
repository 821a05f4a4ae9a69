#include "cli/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace rkv::cli {
namespace {

constexpr int kSubBucketBits = 7;
constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
constexpr int kMaxExponent = 39;                                 // values < 2^40
constexpr size_t kBucketCount = kSubBuckets + (kMaxExponent - kSubBucketBits + 1) * kSubBuckets;

}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

size_t Histogram::BucketOf(uint64_t value_ns) {
  if (value_ns < kSubBuckets) return static_cast<size_t>(value_ns);
  int exponent = std::bit_width(value_ns) - 1;  // >= kSubBucketBits
  if (exponent > kMaxExponent) return kBucketCount - 1;
  const uint64_t top = value_ns >> (exponent - kSubBucketBits);  // in [128, 256)
  return static_cast<size_t>(kSubBuckets + (exponent - kSubBucketBits) * kSubBuckets +
                             (top - kSubBuckets));
}

uint64_t Histogram::BucketUpperEdge(size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  const size_t rest = bucket - kSubBuckets;
  const int exponent = static_cast<int>(rest / kSubBuckets) + kSubBucketBits;
  const uint64_t top = kSubBuckets + rest % kSubBuckets;
  const int shift = exponent - kSubBucketBits;
  return ((top + 1) << shift) - 1;
}

void Histogram::Record(uint64_t value_ns) {
  ++counts_[BucketOf(value_ns)];
  ++count_;
  min_ = std::min(min_, value_ns);
  max_ = std::max(max_, value_ns);
  sum_ += static_cast<double>(value_ns);
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double Histogram::mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

uint64_t Histogram::ValueAtQuantile(double quantile) const {
  if (count_ == 0) return 0;
  if (quantile <= 0.0) return min_;
  const double wanted = std::ceil(quantile * static_cast<double>(count_));
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(wanted));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    // The top bucket also holds every value past the bucketed range.
    if (i == counts_.size() - 1) return max_;
    return std::clamp(BucketUpperEdge(i), min_, max_);
  }
  return max_;
}

}  // namespace rkv::cli
