// Streaming percentiles against exact percentiles of the sorted data (std::nth_element).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "xbarsim/streaming_histogram.hpp"

namespace xbarsim {
namespace {

double exact_percentile(std::vector<float> v, double p) {
    for (auto& x : v) x = std::fabs(x);
    std::sort(v.begin(), v.end());
    const double pos = p / 100.0 * static_cast<double>(v.size());
    const auto i = std::min(static_cast<size_t>(std::ceil(pos)), v.size()) - 1;
    return v[i];
}

TEST(StreamingHistogram, PercentilesWithinTheResolution) {
    std::mt19937 rng(5);
    std::normal_distribution<float> d(0.0f, 3.0f);
    std::vector<float> v(200000);
    for (auto& x : v) x = d(rng);
    StreamingHistogram h(4096);
    // Arriving in growing chunks forces several range doublings.
    for (size_t i = 0; i < v.size(); i += 1000) h.add(v.data() + i, 1000);
    const double res = 2.0 * h.max() / 4096;
    for (double p : {50.0, 90.0, 99.0, 99.9, 99.99}) EXPECT_NEAR(h.percentile(p), exact_percentile(v, p), res) << p;
    EXPECT_DOUBLE_EQ(h.percentile(100.0), exact_percentile(v, 100.0));
    EXPECT_TRUE(h.saw_negative());
    EXPECT_EQ(h.count(), 200000);
}

TEST(StreamingHistogram, ZerosAndMerging) {
    StreamingHistogram a, b;
    std::vector<float> zeros(900, 0.0f), ones(100, 1.0f);
    a.add(zeros.data(), 900);
    b.add(ones.data(), 100);
    a.merge(b);
    EXPECT_EQ(a.percentile(50.0), 0.0);   // 90 % of the values are exactly zero
    EXPECT_NEAR(a.percentile(95.0), 1.0, 2.0 / 8192);
    EXPECT_FALSE(a.saw_negative());
    StreamingHistogram empty;
    EXPECT_EQ(empty.percentile(99.0), 0.0);
}

}  // namespace
}  // namespace xbarsim
