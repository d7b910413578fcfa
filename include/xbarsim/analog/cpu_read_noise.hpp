#pragma once
// Lumped read noise of a block of array outputs on the CPU.
#include <stdint.h>

#include "xbarsim/analog/rng.hpp"

// Hot CPU loops are also compiled for x86-64-v3 (AVX2, FMA) and picked at load time: the same
// values either way, since -ffp-contract=off (CMakeLists.txt) keeps the compiler from fusing
// a*b+c in any clone and the vector instructions round like the scalar ones.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XBARSIM_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define XBARSIM_CPU_CLONES
#endif

namespace xbarsim::analog {

// part[o][c] += sqrt(var) * z for outputs o < n and input vectors c < m (row-major [n x m]), with
// var = float(var_sums[o][c]) and z = noise.normal(e0 + o, first_column + c): bit for bit
// add_lumped_read_noise() of each output, with one Philox call per four consecutive elements
// instead of one per draw.
void add_lumped_read_noise_rows(const RngStream& noise, uint64_t e0, uint64_t first_column, int64_t n, int64_t m,
                                const double* var_sums, float* part);

}  // namespace xbarsim::analog
