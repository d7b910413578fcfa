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

// A large call is binned by several threads at the final scale; the bins must be those of adding
// the values one at a time (growing as they come): percentiles and MSE ranges read every bin.
TEST(StreamingHistogram, ALargeCallBinsLikeOneValueAtATime) {
    std::mt19937 rng(9);
    std::lognormal_distribution<float> magnitude(-2.0f, 2.5f);  // 1e-4 .. 1e3: many doublings
    std::vector<float> v(300000);
    for (auto& x : v) x = (rng() % 2 ? 1.0f : -1.0f) * magnitude(rng);
    for (size_t i = 0; i < v.size(); i += 7) v[i] = 0.0f;  // exact zeros, kept apart
    v[5] = std::nanf("");
    v[6] = INFINITY;
    v[0] = 0.0f;
    v[1] = 3e-5f;  // the first non-zero value sets the scale, far below most values
    for (bool primed : {false, true}) {
        SCOPED_TRACE(primed ? "after earlier values" : "first call");
        StreamingHistogram whole(1024), single(1024);
        if (primed) {
            const float earlier[] = {0.25f, -0.5f};
            whole.add(earlier, 2);
            single.add(earlier, 2);
        }
        whole.add(v.data(), static_cast<int64_t>(v.size()));
        for (float x : v) single.add(x);
        EXPECT_EQ(whole.count(), single.count());
        EXPECT_EQ(whole.max(), single.max());
        EXPECT_EQ(whole.saw_negative(), single.saw_negative());
        for (double p : {10.0, 50.0, 85.7, 90.0, 99.0, 99.9, 99.99})
            EXPECT_EQ(whole.percentile(p), single.percentile(p)) << p;
        for (double levels : {7.0, 127.0}) EXPECT_EQ(whole.mse_optimal_range(levels), single.mse_optimal_range(levels)) << levels;
    }
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

namespace xbarsim {
namespace {

// Mean squared error of a symmetric quantizer with `levels` steps on each side of zero, range c,
// on the samples themselves (the independent reference for the histogram's search).
double quantizer_mse(const std::vector<float>& v, double c, double levels) {
    const double step = c / levels;
    double e = 0.0;
    for (float x : v) {
        const double q = std::clamp(std::nearbyint(x / step), -levels, levels) * step;
        e += (x - q) * (x - q);
    }
    return e / static_cast<double>(v.size());
}

// The histogram's error-minimizing range is as good as a brute-force search over the samples:
// its true quantization MSE within 3 % of the best, for heavy- and light-tailed data and several
// bit widths, and far better than clipping at the max for heavy tails.
TEST(StreamingHistogram, MseOptimalRangeMatchesBruteForce) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::exponential_distribution<float> expo(1.0f);
    for (int dist = 0; dist < 2; ++dist) {
        std::vector<float> v(100000);
        for (auto& x : v) x = dist == 0 ? normal(rng) : (rng() % 2 ? expo(rng) : -expo(rng));  // Laplace
        StreamingHistogram h;
        h.add(v.data(), static_cast<int64_t>(v.size()));
        for (double levels : {3.0, 7.0, 31.0, 127.0}) {
            const double c = h.mse_optimal_range(levels);
            double best = 1e300;
            for (int i = 1; i <= 400; ++i) best = std::min(best, quantizer_mse(v, h.max() * i / 400.0, levels));
            EXPECT_LE(quantizer_mse(v, c, levels), best * 1.03) << "dist " << dist << " levels " << levels;
            if (dist == 1) {
                EXPECT_LT(quantizer_mse(v, c, levels), 0.8 * quantizer_mse(v, h.max(), levels)) << levels;
            }
        }
    }
    StreamingHistogram empty;
    EXPECT_EQ(empty.mse_optimal_range(7.0), 0.0);
}

}  // namespace
}  // namespace xbarsim
