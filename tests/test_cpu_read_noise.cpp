// The CPU's batched lumped read noise against one draw per output: the same bits, whatever the
// alignment of the first element to Philox's four-word blocks and however many column tiles.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "xbarsim/analog/cpu_read_noise.hpp"
#include "xbarsim/analog/mvm_math.hpp"

namespace xbarsim::analog {
namespace {

TEST(CpuReadNoise, RowsEqualOneDrawPerOutput) {
    const RngStream noise{77, 3, 5, RngRole::ReadNoise};
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> u(0.0, 2.0);
    for (uint64_t e0 : {0ull, 1ull, 2ull, 3ull, 4001ull}) {
        for (int64_t n : {1, 3, 4, 9}) {
            for (int64_t m : {1, 7, 1100}) {
                SCOPED_TRACE("e0 " + std::to_string(e0) + " n " + std::to_string(n) + " m " + std::to_string(m));
                const uint64_t first_column = 123456 + e0;
                std::vector<double> var(static_cast<size_t>(n * m));
                std::vector<float> part(var.size());
                for (size_t i = 0; i < var.size(); ++i) {
                    var[i] = u(rng) * 1e-3;
                    part[i] = static_cast<float>(u(rng) - 1.0);
                }
                std::vector<float> want = part;
                for (int64_t o = 0; o < n; ++o)
                    for (int64_t c = 0; c < m; ++c) {
                        const auto i = static_cast<size_t>(o * m + c);
                        const float z = noise.normal(e0 + static_cast<uint64_t>(o), static_cast<uint32_t>(first_column + static_cast<uint64_t>(c)));
                        want[i] = add_lumped_read_noise(want[i], static_cast<float>(var[i]), z);
                    }
                add_lumped_read_noise_rows(noise, e0, first_column, n, m, var.data(), part.data());
                int64_t wrong = 0;
                for (size_t i = 0; i < want.size(); ++i) wrong += part[i] != want[i];
                EXPECT_EQ(wrong, 0);
            }
        }
    }
}

}  // namespace
}  // namespace xbarsim::analog
