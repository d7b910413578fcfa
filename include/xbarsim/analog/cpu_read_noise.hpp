#pragma once
// Lumped read noise of a block of array outputs on the CPU.
#include <stdint.h>

#include "xbarsim/analog/rng.hpp"
#include "xbarsim/cpu_clones.hpp"

namespace xbarsim::analog {

// part[o][c] += sqrt(var) * z for outputs o < n and input vectors c < m (row-major [n x m]), with
// var = float(var_sums[o][c]) and z = noise.normal(e0 + o, first_column + c): bit for bit
// add_lumped_read_noise() of each output, with one Philox call per four consecutive elements
// instead of one per draw.
void add_lumped_read_noise_rows(const RngStream& noise, uint64_t e0, uint64_t first_column, int64_t n, int64_t m,
                                const double* var_sums, float* part);

}  // namespace xbarsim::analog
