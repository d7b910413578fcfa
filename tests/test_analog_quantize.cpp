// The shared analog arithmetic (include/xbarsim/analog/quantize.hpp) against expectations written
// independently here: integer grids computed in double precision, exhaustive slicing round trips,
// error bounds of half a step, unit gain of the mappings, unbiased stochastic rounding.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "xbarsim/analog/quantize.hpp"

namespace xbarsim::analog {
namespace {

TEST(AnalogQuantize, GridSizes) {
    EXPECT_EQ(signed_max_level(8), 127);
    EXPECT_EQ(signed_max_level(1), 0);
    EXPECT_EQ(signed_max_level(16), 32767);
    EXPECT_EQ(unsigned_max_level(8), 255);
    EXPECT_EQ(unsigned_max_level(1), 1);
    EXPECT_EQ(slice_count(7, 2), 4);
    EXPECT_EQ(slice_count(8, 4), 2);
    EXPECT_EQ(slice_count(16, 2), 8);
}

TEST(AnalogQuantize, RoundsHalfToEvenAndClamps) {
    EXPECT_EQ(quantize_index(2.5f, 1.0f, -10, 10), 2);
    EXPECT_EQ(quantize_index(3.5f, 1.0f, -10, 10), 4);
    EXPECT_EQ(quantize_index(-2.5f, 1.0f, -10, 10), -2);
    EXPECT_EQ(quantize_index(0.75f, 0.5f, -10, 10), 2);  // 1.5 -> 2
    EXPECT_EQ(quantize_index(100.0f, 1.0f, -10, 10), 10);
    EXPECT_EQ(quantize_index(-100.0f, 1.0f, -10, 10), -10);
    EXPECT_EQ(quantize_index(NAN, 1.0f, -10, 10), -10);
}

TEST(AnalogQuantize, WeightCodesAreExactOnTheGridAndWithinHalfAStep) {
    for (int bits : {2, 4, 8}) {
        const int n = (1 << (bits - 1)) - 1;
        for (int k = -n; k <= n; ++k)
            EXPECT_EQ(quantize_weight(static_cast<float>(k) / static_cast<float>(n), bits), k) << bits << " " << k;
        std::mt19937 rng(1);
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        for (int i = 0; i < 10000; ++i) {
            const float w = d(rng);
            const double want = std::nearbyint(static_cast<double>(w) * n);
            EXPECT_NEAR(quantize_weight(w, bits), want, 1.0) << w;  // float vs double rounding at exact ties only
            EXPECT_LE(std::fabs(quantize_weight(w, bits) / static_cast<double>(n) - w), 0.5 / n + 1e-6);
        }
        EXPECT_EQ(quantize_weight(0.0f, bits), 0);
        EXPECT_EQ(quantize_weight(1.7f, bits), n);
        EXPECT_EQ(quantize_weight(-3.0f, bits), -n);
    }
}

TEST(AnalogQuantize, BitSlicesRecombineExactly) {
    // Differential: |q| (bits-1 magnitude bits); offset: q + 2^(bits-1) (bits bits).
    for (int bits : {4, 8, 12})
        for (int s : {1, 2, 3, 4}) {
            const int n = (1 << (bits - 1)) - 1;
            for (int q = -n; q <= n; ++q) {
                const auto mag = static_cast<uint32_t>(std::abs(q));
                uint64_t sum = 0;
                for (int i = 0; i < slice_count(bits - 1, s); ++i) {
                    const uint32_t v = code_slice(mag, i, s);
                    EXPECT_LT(v, 1u << s);
                    sum += static_cast<uint64_t>(v) << (i * s);
                }
                EXPECT_EQ(sum, mag);
                const auto shifted = static_cast<uint32_t>(q + (1 << (bits - 1)));
                sum = 0;
                for (int i = 0; i < slice_count(bits, s); ++i) sum += static_cast<uint64_t>(code_slice(shifted, i, s)) << (i * s);
                EXPECT_EQ(sum, shifted);
            }
        }
}

TEST(AnalogQuantize, CellLevelsSpanGminToOne) {
    const float gmin = 0.01f;
    EXPECT_FLOAT_EQ(level_conductance(0, 4, gmin), gmin);
    EXPECT_FLOAT_EQ(level_conductance(15, 4, gmin), 1.0f);
    EXPECT_FLOAT_EQ(level_conductance(5, 4, gmin), gmin + (1 - gmin) * 5.0f / 15.0f);
    // 2-bit cell: levels 0, 1/3, 2/3, 1; 0.5 -> 1.5 levels -> ties to even (2) -> 2/3.
    EXPECT_FLOAT_EQ(cell_conductance(0.5f, 2, 0.0f), 2.0f / 3.0f);
    EXPECT_FLOAT_EQ(cell_conductance(0.2f, 2, 0.0f), 1.0f / 3.0f);
    EXPECT_FLOAT_EQ(cell_conductance(0.37f, 0, 0.1f), 0.1f + 0.9f * 0.37f);  // ideal cell
    EXPECT_FLOAT_EQ(cell_conductance(1.5f, 3, 0.0f), 1.0f);                  // clipped
}

TEST(AnalogQuantize, DifferentialPairHasUnitGain) {
    const float gmin = 0.05f;
    for (float w : {-1.0f, -0.3f, 0.0f, 0.25f, 1.0f}) {
        float gp = 0, gm = 0;
        differential_pair(w, 0, gmin, &gp, &gm);
        EXPECT_NEAR((gp - gm) / (1 - gmin), w, 1e-6) << w;
        EXPECT_GE(std::min(gp, gm), gmin);
        EXPECT_FLOAT_EQ(std::min(gp, gm), gmin);  // the unused cell sits at g_min
    }
}

TEST(AnalogQuantize, OffsetMappingHasZeroLevelAndUnitGain) {
    for (float gmin : {0.0f, 0.02f})
        for (int bits : {0, 2, 4, 8}) {
            // w = 0 sits exactly on a level, and the extremes come back exactly (no (2^b-2)/(2^b-1) gain error).
            EXPECT_FLOAT_EQ(offset_weight(offset_conductance(0.0f, bits, gmin), gmin), 0.0f) << bits;
            EXPECT_NEAR(offset_weight(offset_conductance(1.0f, bits, gmin), gmin), 1.0f, 1e-6) << bits;
            EXPECT_NEAR(offset_weight(offset_conductance(-1.0f, bits, gmin), gmin), -1.0f, 1e-6) << bits;
            if (bits == 0) continue;
            const int top = (1 << bits) - 2;  // L - 1 steps between 2^bits - 1 levels
            for (int k = 0; k <= top; ++k) {
                const float w = 2.0f * static_cast<float>(k) / static_cast<float>(top) - 1.0f;
                EXPECT_NEAR(offset_weight(offset_conductance(w, bits, gmin), gmin), w, 1e-5) << bits << " " << k;
            }
            std::mt19937 rng(2);
            std::uniform_real_distribution<float> d(-1.0f, 1.0f);
            for (int i = 0; i < 2000; ++i) {
                const float w = d(rng);
                EXPECT_LE(std::fabs(offset_weight(offset_conductance(w, bits, gmin), gmin) - w), 1.0 / top + 1e-5);
            }
        }
}

TEST(AnalogQuantize, DacSignedAndUnsigned) {
    // 8-bit signed, range 2: x = 1 -> 0.5 * 127 = 63.5 -> 64 (even) -> 64/127.
    EXPECT_FLOAT_EQ(dac(1.0f, 2.0f, 8, true), 64.0f / 127.0f);
    EXPECT_FLOAT_EQ(dac(-5.0f, 2.0f, 8, true), -1.0f);  // clipped
    EXPECT_FLOAT_EQ(dac(-0.5f, 2.0f, 8, false), 0.0f);  // unsigned clips negatives
    EXPECT_FLOAT_EQ(dac(3.0f, 2.0f, 8, false), 1.0f);
    EXPECT_FLOAT_EQ(dac(0.3f, 1.0f, 0, true), 0.3f);    // unquantized
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> d(0.0f, 1.0f);
    for (int i = 0; i < 5000; ++i) {
        const float x = d(rng);
        const double want = std::nearbyint(static_cast<double>(x) * 255.0) / 255.0;
        EXPECT_NEAR(dac(x, 1.0f, 8, false), want, 1.0 / 255.0 + 1e-7);
        EXPECT_LE(std::fabs(dac(x, 1.0f, 8, false) - x), 0.5 / 255.0 + 1e-7);
        EXPECT_FLOAT_EQ(dac(x, 1.0f, 8, false) * 255.0f, static_cast<float>(dac_code(x, 1.0f, 8, false)));
    }
}

TEST(AnalogQuantize, InputSlicesRecombineWithSign) {
    for (int s : {1, 2, 3})
        for (int code = -127; code <= 127; ++code) {
            int64_t sum = 0;
            for (int j = 0; j < slice_count(7, s); ++j) sum += static_cast<int64_t>(input_slice(code, j, s)) * (int64_t{1} << (j * s));
            EXPECT_EQ(sum, code) << s;
        }
}

TEST(AnalogQuantize, AdcSymmetricAndAsymmetric) {
    AdcParams p;
    p.bits = 8;
    p.hi = 10.0f;
    p.lo = -10.0f;
    const float step = 10.0f / 127.0f;
    EXPECT_FLOAT_EQ(adc(0.0f, p), 0.0f);
    EXPECT_FLOAT_EQ(adc(100.0f, p), 10.0f);
    EXPECT_FLOAT_EQ(adc(-100.0f, p), -10.0f);
    EXPECT_FLOAT_EQ(adc(3.0f * step, p), 3.0f * step);
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> d(-10.0f, 10.0f);
    for (int i = 0; i < 5000; ++i) {
        const float y = d(rng);
        EXPECT_LE(std::fabs(adc(y, p) - y), step / 2 * (1 + 1e-5));
    }
    AdcParams a;
    a.bits = 4;
    a.lo = -1.0f;
    a.hi = 2.0f;
    a.symmetric = false;
    EXPECT_FLOAT_EQ(adc(-1.0f, a), -1.0f);
    EXPECT_FLOAT_EQ(adc(2.0f, a), 2.0f);
    EXPECT_FLOAT_EQ(adc(-7.0f, a), -1.0f);
    EXPECT_NEAR(adc(0.15f, a), -1.0f + 0.2f * 6.0f, 1e-6);  // step 3/15 = 0.2: 1.15 / 0.2 = 5.75 -> level 6
    AdcParams ideal;
    EXPECT_FLOAT_EQ(adc(123.456f, ideal), 123.456f);
}

TEST(AnalogQuantize, StochasticRoundingIsUnbiased) {
    AdcParams p;
    p.bits = 4;
    p.hi = 7.0f;  // step 1
    p.stochastic = true;
    const int m = 1000;
    for (float y : {0.3f, 2.75f, -1.4f, 6.9f}) {
        double mean = 0;
        for (int j = 0; j < m; ++j) mean += adc(y, p, (static_cast<float>(j) + 0.5f) / m);
        EXPECT_NEAR(mean / m, y, 1.0 / m + 1e-6) << y;
    }
}

}  // namespace
}  // namespace xbarsim::analog

namespace xbarsim::analog {
namespace {

// quantize_level_value (the DAC's and ADC's float path) gives bit for bit the float of the integer
// level of quantize_level: random values over several ranges, every half-integer tie, both
// zeros, the clamp edges, infinities and NaN.
TEST(QuantizeLevelValue, BitIdenticalToTheIntegerLevel) {
    std::vector<float> xs = {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, 127.0f, -127.0f, 127.5f, -127.5f, 128.0f, 1e30f,
                             -1e30f, 8388607.5f, 8388608.0f, std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                             std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min()};
    for (int k = -300; k <= 300; ++k) xs.push_back(static_cast<float>(k) + 0.5f);
    std::mt19937 rng(5);
    for (float scale : {1.0f, 130.0f, 300.0f, 1e6f}) {
        std::uniform_real_distribution<float> d(-scale, scale);
        for (int i = 0; i < 20000; ++i) xs.push_back(d(rng));
    }
    for (const auto& [kmin, kmax] : std::vector<std::pair<int32_t, int32_t>>{{-127, 127}, {0, 255}, {-7, 7}, {0, 1}}) {
        for (float x : xs) {
            const auto want = static_cast<float>(quantize_level(x, kmin, kmax));
            const float got = quantize_level_value(x, static_cast<float>(kmin), static_cast<float>(kmax));
            ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want)) << x << " in [" << kmin << ", " << kmax << "]";
        }
    }
}

}  // namespace
}  // namespace xbarsim::analog
