// FastDivmod (the GPU kernels' index division) against the division operator: every divisor up
// to 4,096 and the extreme ones, dividends at and around every multiple boundary that matters
// (where a multiplier off by one would first show) and spread over the whole range below 2^31.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "xbarsim/fast_divmod.hpp"

namespace xbarsim::test {
namespace {

constexpr int32_t kMaxDividend = 2147483647;  // 2^31 - 1

// Dividends near the quotient boundaries that are hardest for divisor d: q·d - 1, q·d and
// q·d + d - 1 for small and for the largest quotients, plus the ends of the range.
std::vector<int32_t> boundary_dividends(int32_t d) {
    std::vector<int32_t> n = {0, 1, d - 1, d, kMaxDividend, kMaxDividend - 1};
    const int64_t q_max = kMaxDividend / d;
    for (int64_t q : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{1000}, q_max - 1, q_max}) {
        for (int64_t off : {int64_t{-1}, int64_t{0}, int64_t{1}, int64_t{d} - 1}) {
            const int64_t v = q * d + off;
            if (v >= 0 && v <= kMaxDividend) n.push_back(static_cast<int32_t>(v));
        }
    }
    return n;
}

void expect_exact(const FastDivmod& f, int32_t d, int32_t n) {
    int32_t r = -1;
    const int32_t q = f.divmod(n, r);
    ASSERT_EQ(q, n / d) << n << " / " << d;
    ASSERT_EQ(r, n % d) << n << " % " << d;
    ASSERT_EQ(f.div(n), n / d) << n << " / " << d;
}

TEST(FastDivmod, EverySmallDivisorAtItsBoundaries) {
    for (int32_t d = 1; d <= 4096; ++d) {
        const FastDivmod f(d);
        for (int32_t n : boundary_dividends(d)) expect_exact(f, d, n);
        for (int32_t n = 0; n < 3 * d + 5; ++n) expect_exact(f, d, n);
    }
}

TEST(FastDivmod, LargeAndPowerOfTwoDivisors) {
    std::vector<int32_t> divisors = {kMaxDividend, kMaxDividend - 1, 1 << 30, (1 << 30) + 1, (1 << 30) - 1, 3 * 3 * 3 * 7 * 7 * 11 * 13};
    for (int s = 12; s <= 30; ++s)
        for (int32_t off : {-1, 0, 1}) divisors.push_back((int32_t{1} << s) + off);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> any(1, kMaxDividend);
    for (int i = 0; i < 2000; ++i) divisors.push_back(any(rng));
    for (int32_t d : divisors) {
        const FastDivmod f(d);
        for (int32_t n : boundary_dividends(d)) expect_exact(f, d, n);
        for (int i = 0; i < 200; ++i) expect_exact(f, d, any(rng));
    }
}

// Random dividends over the whole range for the divisors the kernels meet (image sizes, channel
// counts, batch chunks): a few million cases.
TEST(FastDivmod, RandomDividendsForKernelShapes) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int32_t> any(0, kMaxDividend);
    for (int32_t d : {7, 9, 14, 28, 49, 56, 112, 196, 224, 784, 1152, 3136, 12544, 50176, 200704}) {
        const FastDivmod f(d);
        for (int i = 0; i < 200000; ++i) expect_exact(f, d, any(rng));
    }
}

}  // namespace
}  // namespace xbarsim::test

namespace xbarsim::test {
namespace {

// IndexSplit: fast where every index fits 31 bits, 64-bit division beyond; the same answers.
TEST(IndexSplit, RowAndColumnOfFlatIndices) {
    for (const auto& [m, count] : std::vector<std::pair<int64_t, int64_t>>{
             {1, 100}, {7, 7 * 300}, {3136, 256 * 3136}, {1000, int64_t{3} << 31}, {int64_t{5} << 31, int64_t{6} << 31}}) {
        const IndexSplit s(m, count);
        EXPECT_EQ(s.fits, count < (int64_t{1} << 31) && m < (int64_t{1} << 31));
        std::mt19937_64 rng(3);
        std::uniform_int_distribution<int64_t> any(0, count - 1);
        for (int i = 0; i < 100000; ++i) {
            const int64_t t = i < 50 ? count - 1 - i : any(rng);
            int64_t row = -1, col = -1;
            s.split(t, row, col);
            ASSERT_EQ(row, t / m) << t;
            ASSERT_EQ(col, t % m) << t;
        }
    }
}

}  // namespace
}  // namespace xbarsim::test
