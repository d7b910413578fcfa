#pragma once
// The element-wise arithmetic of an analog layer (ARCHITECTURE §2: weight quantization and bit
// slicing, cell levels, DAC, ADC), written once for the CPU backend and the CUDA kernels.
// Everything is a pure function of its arguments; rounding is round-half-to-even (rintf in the
// default floating-point environment, see round_even, identical on host and device), and float arithmetic goes
// through the hd:: primitives so that no compiler fuses it differently on host and device: both
// backends compute bit-identical values. Conventions:
//  - "bits = 0" means "not quantized" wherever a bit count is taken.
//  - signed quantities use a symmetric grid of 2n+1 levels, n = 2^(bits-1) - 1 (a level at exactly
//    zero, the same number of levels on each side, as in sign-magnitude hardware);
//  - unsigned quantities use 2^bits levels 0 .. 2^bits - 1.
#include <math.h>
#include <stdint.h>

#include "xbarsim/analog/hd.hpp"

namespace xbarsim::analog {

// ------------------------------------------------------------------ integer grids
// Largest level of a symmetric signed grid of `bits` bits (sign included): 2^(bits-1) - 1.
XBARSIM_HD int32_t signed_max_level(int bits) { return (int32_t{1} << (bits - 1)) - 1; }
// Largest level of an unsigned grid: 2^bits - 1.
XBARSIM_HD int32_t unsigned_max_level(int bits) { return static_cast<int32_t>((int64_t{1} << bits) - 1); }

XBARSIM_HD float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Round half to even without a libm call (rintf is a function call on baseline x86-64): adding
// and subtracting 2^23 leaves the magnitude rounded to an integer by the FPU's default mode;
// values of 2^23 and above are integers already. Identical on host and device.
XBARSIM_HD float round_even(float x) {
    const float a = fabsf(x);
    if (!(a < 8388608.0f)) return x;  // integral, inf or NaN
    return copysignf(hd::sub(hd::add(a, 8388608.0f), 8388608.0f), x);
}

// floor without a libm call, built on round_even.
XBARSIM_HD float floor_fast(float x) {
    const float r = round_even(x);
    return r > x ? hd::sub(r, 1.0f) : r;
}

// Nearest level index of x / step (half to even), clamped to [kmin, kmax].
XBARSIM_HD int32_t quantize_index(float x, float step, int32_t kmin, int32_t kmax) {
    const float k = round_even(hd::div(x, step));
    if (!(k >= static_cast<float>(kmin))) return kmin;  // also maps NaN to kmin
    if (k > static_cast<float>(kmax)) return kmax;
    return static_cast<int32_t>(k);
}

// quantize_index with step 1 (x already in level units): the same result without the division
// by 1, which is exact and only costs time in the DAC's hot loop.
XBARSIM_HD int32_t quantize_level(float x, int32_t kmin, int32_t kmax) {
    const float k = round_even(x);
    if (!(k >= static_cast<float>(kmin))) return kmin;
    if (k > static_cast<float>(kmax)) return kmax;
    return static_cast<int32_t>(k);
}

// quantize_level's level as a float, without the integer conversions (which keep a compiler from
// vectorizing the DAC and ADC loops): the same value for every input, NaN included (kmin), and
// +0 for a level of zero, as the float of the integer level would be.
XBARSIM_HD float quantize_level_value(float x, float kmin, float kmax) {
    float k = round_even(x);
    if (!(k >= kmin)) k = kmin;
    if (k > kmax) k = kmax;
    return hd::add(k, 0.0f);  // -0 + 0 = +0; every other value unchanged
}

// Stochastic rounding: floor(v + u) with u uniform in (0,1) rounds v up with probability frac(v),
// so the expectation equals v (unbiased), then clamps.
XBARSIM_HD int32_t quantize_index_stochastic(float x, float step, int32_t kmin, int32_t kmax, float u) {
    const float k = floor_fast(hd::add(hd::div(x, step), u));
    if (!(k >= static_cast<float>(kmin))) return kmin;
    if (k > static_cast<float>(kmax)) return kmax;
    return static_cast<int32_t>(k);
}

// ------------------------------------------------------------------ weights
// Signed weight code of a normalized weight w = W / W_max (clipped to [-1, 1]):
// q = round(w * n), n = 2^(bits-1) - 1, so |q| <= n and q = 0 exactly for w = 0.
XBARSIM_HD int32_t quantize_weight(float w, int bits) {
    const int32_t n = signed_max_level(bits);
    return quantize_index(hd::mul(clampf(w, -1.0f, 1.0f), static_cast<float>(n)), 1.0f, -n, n);
}

// Slice `i` (LSB first) of a non-negative integer code, `slice_bits` bits per slice.
XBARSIM_HD uint32_t code_slice(uint32_t code, int i, int slice_bits) {
    return (code >> (i * slice_bits)) & ((uint32_t{1} << slice_bits) - 1u);
}

// Number of slices needed for a `code_bits`-bit code at `slice_bits` bits per slice.
XBARSIM_HD int slice_count(int code_bits, int slice_bits) { return (code_bits + slice_bits - 1) / slice_bits; }

// Normalized conductance of a cell holding level v of a cell with `cell_bits` bits:
// g = g_min + (1 - g_min) * v / (2^cell_bits - 1), so v = 0 is g_min and the top level is 1.
XBARSIM_HD float level_conductance(uint32_t v, int cell_bits, float g_min) {
    return hd::fma(hd::sub(1.0f, g_min), hd::div(static_cast<float>(v), static_cast<float>(unsigned_max_level(cell_bits))), g_min);
}

// Rounds a fraction f in [0, 1] of the conductance range to the cell's 2^cell_bits levels and
// returns the conductance; cell_bits = 0 keeps f unrounded (an ideal analog cell).
XBARSIM_HD float cell_conductance(float f, int cell_bits, float g_min) {
    f = clampf(f, 0.0f, 1.0f);
    if (cell_bits > 0) {
        const int32_t top = unsigned_max_level(cell_bits);
        f = hd::div(static_cast<float>(quantize_index(hd::mul(f, static_cast<float>(top)), 1.0f, 0, top)), static_cast<float>(top));
    }
    return hd::fma(hd::sub(1.0f, g_min), f, g_min);
}

// Differential (balanced) pair for a normalized weight w in [-1, 1]: the sign picks the cell,
// the other one stays at g_min. Returns g+ and g- through the pointers.
XBARSIM_HD void differential_pair(float w, int cell_bits, float g_min, float* g_plus, float* g_minus) {
    const float m = cell_conductance(fabsf(w), cell_bits, g_min);
    *g_plus = w > 0.0f ? m : g_min;
    *g_minus = w < 0.0f ? m : g_min;
}

// Offset mapping: w in [-1, 1] is shifted to f = (w + 1) / 2 on a grid with an odd number of
// levels L = 2^cell_bits - 1 (levels 0 .. L-1), so w = 0 falls on level (L-1)/2 exactly. Cells are
// rescaled with the same step Δ = (1 - g_min) / (L - 1) used here; see offset_weight().
XBARSIM_HD float offset_conductance(float w, int cell_bits, float g_min) {
    const float f = hd::mul(0.5f, hd::add(clampf(w, -1.0f, 1.0f), 1.0f));
    if (cell_bits <= 0) return hd::fma(hd::sub(1.0f, g_min), f, g_min);
    const int32_t top = unsigned_max_level(cell_bits) - 1;  // L - 1, even
    const int32_t k = quantize_index(hd::mul(f, static_cast<float>(top)), 1.0f, 0, top);
    return hd::fma(hd::sub(1.0f, g_min), hd::div(static_cast<float>(k), static_cast<float>(top)), g_min);
}

// The normalized weight an offset cell represents: w = 2 (g - g_zero) / (1 - g_min), with g_zero the
// conductance of w = 0. Unit gain: offset_weight(offset_conductance(w)) == w on the grid.
XBARSIM_HD float offset_weight(float g, float g_min) {
    const float g_zero = hd::fma(0.5f, hd::sub(1.0f, g_min), g_min);
    return hd::div(hd::mul(2.0f, hd::sub(g, g_zero)), hd::sub(1.0f, g_min));
}

// ------------------------------------------------------------------ inputs (DAC)
// Input code of x scaled by the layer's input range: signed inputs (may be negative) use the
// symmetric grid of `bits` bits (k in [-n, n]), unsigned inputs (e.g. after ReLU) k in [0, 2^bits - 1].
// bits = 0: not quantized; the value is still clipped. Returns the normalized value k / n in
// [-1, 1] (signed) or [0, 1] (unsigned).
XBARSIM_HD float dac(float x, float range, int bits, bool is_signed) {
    const float v = clampf(hd::div(x, range), is_signed ? -1.0f : 0.0f, 1.0f);
    if (bits <= 0) return v;
    const auto n = static_cast<float>(is_signed ? signed_max_level(bits) : unsigned_max_level(bits));
    return hd::div(quantize_level_value(hd::mul(v, n), is_signed ? -n : 0.0f, n), n);
}

// The integer input code before normalization (for bit-serial input slicing).
XBARSIM_HD int32_t dac_code(float x, float range, int bits, bool is_signed) {
    const float v = clampf(hd::div(x, range), is_signed ? -1.0f : 0.0f, 1.0f);
    const int32_t n = is_signed ? signed_max_level(bits) : unsigned_max_level(bits);
    return quantize_level(hd::mul(v, static_cast<float>(n)), is_signed ? -n : 0, n);
}

// Input slice j (LSB first, `slice_bits` per slice) of a signed input code, with the sign applied:
// sum_j 2^(j*slice_bits) * input_slice(k, j, s) == k.
XBARSIM_HD int32_t input_slice(int32_t code, int j, int slice_bits) {
    const uint32_t mag = static_cast<uint32_t>(code < 0 ? -code : code);
    const auto s = static_cast<int32_t>(code_slice(mag, j, slice_bits));
    return code < 0 ? -s : s;
}

// ------------------------------------------------------------------ outputs (ADC)
struct AdcParams {
    int bits = 0;            // 0: ideal (no quantization, no clipping)
    float lo = 0.0f;         // range [lo, hi] in the units of the value converted
    float hi = 0.0f;
    bool symmetric = true;   // 2^bits - 1 levels symmetric around 0 (sign-magnitude), hi = -lo
    bool stochastic = false; // stochastic rounding (needs a uniform u per conversion)
};

// One conversion: clip to the range and quantize. Symmetric: step = hi / n, n = 2^(bits-1) - 1,
// levels k * step for |k| <= n. Asymmetric: 2^bits levels lo + k * step, step = (hi - lo) / (2^bits - 1).
// `u` (uniform in (0,1)) is used only for stochastic rounding.
XBARSIM_HD float adc(float y, const AdcParams& p, float u = 0.5f) {
    if (p.bits <= 0) return y;
    // Deterministic rounding takes the float level (quantize_level_value, the same value as the
    // integer index's) so that the CPU's conversion loops vectorize.
    if (p.symmetric) {
        const int32_t n = signed_max_level(p.bits);
        const float step = hd::div(p.hi, static_cast<float>(n));
        const float k = p.stochastic ? static_cast<float>(quantize_index_stochastic(y, step, -n, n, u))
                                     : quantize_level_value(hd::div(y, step), static_cast<float>(-n), static_cast<float>(n));
        return hd::mul(k, step);
    }
    const int32_t top = unsigned_max_level(p.bits);
    const float step = hd::div(hd::sub(p.hi, p.lo), static_cast<float>(top));
    const float shifted = hd::sub(y, p.lo);
    const float k = p.stochastic ? static_cast<float>(quantize_index_stochastic(shifted, step, 0, top, u))
                                 : quantize_level_value(hd::div(shifted, step), 0.0f, static_cast<float>(top));
    return hd::fma(k, step, p.lo);
}

}  // namespace xbarsim::analog
