#include "cli/histogram.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace rkv::cli {
namespace {

// The bucket layout: exact below 128, then 128 buckets per power of two;
// every value lies in its bucket and the bucket is narrow.
TEST(HistogramTest, BucketsHoldTheirValuesWithinOnePercent) {
  for (uint64_t v : std::vector<uint64_t>{0, 1, 127, 128, 129, 255, 256, 1000, 123456, 1ull << 39,
                                          (1ull << 40) - 1}) {
    const size_t b = Histogram::BucketOf(v);
    const uint64_t upper = Histogram::BucketUpperEdge(b);
    EXPECT_GE(upper, v) << v;
    EXPECT_LE(static_cast<double>(upper - v), static_cast<double>(v) / 128.0 + 0.5) << v;
    if (b > 0) {
      EXPECT_LT(Histogram::BucketUpperEdge(b - 1), v) << v;
    }
  }
  EXPECT_EQ(Histogram::BucketOf(1ull << 50), Histogram::BucketOf(UINT64_MAX));
}

// Percentiles: the smallest v with at least q * count values <= v, never
// below the true value and within 1/128 above it.
TEST(HistogramTest, PercentilesOfAUniformRange) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(h.mean(), 50000500.0, 1.0);
  struct Case {
    double q;
    uint64_t exact;
  };
  for (const Case& c : std::vector<Case>{{0.5, 50000000},
                                         {0.9, 90000000},
                                         {0.99, 99000000},
                                         {0.999, 99900000},
                                         {1.0, 100000000}}) {
    const uint64_t got = h.ValueAtQuantile(c.q);
    EXPECT_GE(got, c.exact) << c.q;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(c.exact) * (1 + 1.0 / 128)) << c.q;
  }
  EXPECT_EQ(h.ValueAtQuantile(0.0), 1000u);
}

// Small values are exact; the maximum is exact even past the bucketed range.
TEST(HistogramTest, ExactSmallValuesAndMax) {
  Histogram h;
  for (uint64_t v : {5, 5, 7, 9}) h.Record(v);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 5u);
  EXPECT_EQ(h.ValueAtQuantile(0.75), 7u);
  EXPECT_EQ(h.ValueAtQuantile(1.0), 9u);
  h.Record(1ull << 45);
  EXPECT_EQ(h.max(), 1ull << 45);
  EXPECT_EQ(h.ValueAtQuantile(1.0), 1ull << 45);
}

// Merging per-slot histograms equals recording everything in one.
TEST(HistogramTest, MergeEqualsRecordingTogether) {
  Histogram a;
  Histogram b;
  Histogram all;
  for (uint64_t v = 1; v < 5000; ++v) {
    ((v % 3 == 0) ? a : b).Record(v * 37);
    all.Record(v * 37);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) {
    EXPECT_EQ(a.ValueAtQuantile(q), all.ValueAtQuantile(q)) << q;
  }
  Histogram empty;
  EXPECT_EQ(empty.ValueAtQuantile(0.5), 0u);
  EXPECT_EQ(empty.min(), 0u);
  EXPECT_EQ(empty.mean(), 0.0);
}

}  // namespace
}  // namespace rkv::cli
