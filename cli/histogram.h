// Histogram: latencies in nanoseconds in log-linear buckets (HdrHistogram's
// layout): exact below 128 ns, then 128 buckets per power of two, so a
// reported percentile is at most 1/128 (< 0.8%) above the true value. Values
// up to 2^40 ns (18 minutes) are bucketed; larger ones count in the top
// bucket. The maximum and minimum are exact. Fixed size (about 35 KB), no
// allocation after construction.
// Not thread-safe: rkvctl bench keeps one per client slot, written only by the
// slot's current callback, and merges them after the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rkv::cli {

class Histogram final {
 public:
  Histogram();

  void Record(uint64_t value_ns);
  // Adds other's values to this one.
  void Merge(const Histogram& other);

  uint64_t count() const { return count_; }
  // 0 when empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;

  // The smallest value v such that at least quantile * count() recorded
  // values are <= v, reported as the upper edge of v's bucket (never below
  // the true value), clamped to [min(), max()]; min() for quantile 0 and
  // max() for values past the bucketed range. 0 when empty.
  // REQUIRES: 0 <= quantile <= 1.
  uint64_t ValueAtQuantile(double quantile) const;

  // Bucket mapping, exposed for tests.
  static size_t BucketOf(uint64_t value_ns);
  static uint64_t BucketUpperEdge(size_t bucket);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  // Sum of values for the mean; saturates instead of wrapping.
  double sum_ = 0;
};

}  // namespace rkv::cli
