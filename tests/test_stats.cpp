// Trial statistics against values computed by hand / from published t tables.
#include <gtest/gtest.h>

#include "xbarsim/stats.hpp"

namespace xbarsim {
namespace {

TEST(Stats, MeanStdAndStudentInterval) {
    // 0.90 0.91 0.92 0.93 0.94: mean 0.92, sample std sqrt(0.00025) = 0.0158114,
    // t(0.975, 4) = 2.776 -> half width 2.776 * 0.0158114 / sqrt(5) = 0.019629.
    const auto s = summarize({0.90, 0.91, 0.92, 0.93, 0.94});
    EXPECT_EQ(s.n, 5);
    EXPECT_NEAR(s.mean, 0.92, 1e-12);
    EXPECT_NEAR(s.std, 0.0158114, 1e-6);
    EXPECT_NEAR(s.ci95_high - s.mean, 0.019629, 1e-5);
    EXPECT_NEAR(s.mean - s.ci95_low, 0.019629, 1e-5);
}

TEST(Stats, OneTrialAndLargeSamples) {
    const auto s = summarize({0.5});
    EXPECT_EQ(s.std, 0.0);
    EXPECT_EQ(s.ci95_low, 0.5);
    EXPECT_NEAR(student_t975(1), 12.706, 1e-3);
    EXPECT_NEAR(student_t975(60), 2.000, 2e-3);   // published 2.000
    EXPECT_NEAR(student_t975(120), 1.980, 2e-3);  // published 1.980
    EXPECT_EQ(summarize({}).n, 0);
}

}  // namespace
}  // namespace xbarsim
