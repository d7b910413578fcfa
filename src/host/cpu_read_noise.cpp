#include "xbarsim/analog/cpu_read_noise.hpp"

#include <algorithm>

#include "xbarsim/analog/mvm_math.hpp"

namespace xbarsim::analog {

namespace {

// Columns drawn per tile: the four words of each column's Philox block stay in L1 between the
// draw and their use by up to four output rows.
constexpr int64_t kTile = 512;

// The rows [o_lo, o_hi) of one Philox block, columns [c0, c0 + width).
XBARSIM_CPU_CLONES void noisy_block_tile(const RngStream& noise, uint64_t block, uint64_t e0, int64_t o_lo, int64_t o_hi,
                                         uint64_t first_column, int64_t c0, int64_t width, int64_t m, const double* var_sums,
                                         float* part) {
    uint32_t words[4][kTile];
    for (int64_t c = 0; c < width; ++c) {
        const Philox4x32 w = noise.bits4(block, static_cast<uint32_t>(first_column + static_cast<uint64_t>(c0 + c)));
        words[0][c] = w.v[0];
        words[1][c] = w.v[1];
        words[2][c] = w.v[2];
        words[3][c] = w.v[3];
    }
    for (int64_t o = o_lo; o < o_hi; ++o) {
        const uint32_t* lane = words[(e0 + static_cast<uint64_t>(o)) & 3u];
        float* row = part + o * m + c0;
        const double* var = var_sums + o * m + c0;
        for (int64_t c = 0; c < width; ++c) row[c] = add_lumped_read_noise(row[c], static_cast<float>(var[c]), normal_from_bits(lane[c]));
    }
}

}  // namespace

void add_lumped_read_noise_rows(const RngStream& noise, uint64_t e0, uint64_t first_column, int64_t n, int64_t m,
                                const double* var_sums, float* part) {
    if (n <= 0 || m <= 0) return;
    const uint64_t first_block = e0 >> 2, last_block = (e0 + static_cast<uint64_t>(n) - 1) >> 2;
    const auto blocks = static_cast<int64_t>(last_block - first_block + 1);
    const int64_t tiles = (m + kTile - 1) / kTile;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < blocks; ++b)
        for (int64_t t = 0; t < tiles; ++t) {
            const uint64_t block = first_block + static_cast<uint64_t>(b);
            // Rows whose elements e0 + o lie in this block.
            const int64_t o_lo = static_cast<int64_t>(std::max(block * 4, e0) - e0);
            const int64_t o_hi = static_cast<int64_t>(std::min(block * 4 + 4, e0 + static_cast<uint64_t>(n)) - e0);
            const int64_t c0 = t * kTile;
            noisy_block_tile(noise, block, e0, o_lo, o_hi, first_column, c0, std::min(kTile, m - c0), m, var_sums, part);
        }
}

}  // namespace xbarsim::analog
