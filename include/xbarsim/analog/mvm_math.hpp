#pragma once
// The per-element and per-slice arithmetic of one analog matrix-vector product (ARCHITECTURE §2,
// steps 5-9) that AnalogMatrix (CPU) and the CUDA analog layer both perform: the conductance and
// read-noise variance of a cell pair, the random-element ids of every draw, the bit-serial input
// slices, the digital recombination factors and the recombination of one ADC output. Written
// once, as `__host__ __device__` functions, so both backends compute the same values from the
// same inputs: every float operation goes through the exactly rounded hd:: primitives (no
// compiler may fuse a*b+c on one side only), the double operations through dmul/dadd below.
#include <stdint.h>

#include "xbarsim/analog/device_model.hpp"
#include "xbarsim/analog/hd.hpp"
#include "xbarsim/analog/quantize.hpp"

namespace xbarsim::analog {

// ------------------------------------------------------------------ double primitives
// Exactly rounded double multiply and add, never contracted into an FMA (nvcc contracts a
// double a*b+c by default; the host build uses -ffp-contract=off).
XBARSIM_HD double dmul(double a, double b) {
#if defined(__CUDA_ARCH__)
    return __dmul_rn(a, b);
#else
    return a * b;
#endif
}
XBARSIM_HD double dadd(double a, double b) {
#if defined(__CUDA_ARCH__)
    return __dadd_rn(a, b);
#else
    return a + b;
#endif
}

// ------------------------------------------------------------------ cell pairs
// Effective conductance of a weight's cells at read time: g+ - g- (differential) or g (offset).
XBARSIM_HD float pair_conductance(bool offset, float g_first, float g_second) {
    return offset ? g_first : hd::sub(g_first, g_second);
}

// Per-MVM read-noise variance of a weight's cells: σ²(g+) + σ²(g-) (differential) or σ²(g).
XBARSIM_HD float pair_read_variance(const DeviceParams& device, bool offset, float g_first, float g_second) {
    const float a = read_noise_sigma(device, g_first);
    const float b = offset ? 0.0f : read_noise_sigma(device, g_second);
    return hd::add(hd::mul(a, a), hd::mul(b, b));
}

// ------------------------------------------------------------------ random-element ids
// Programming error, drift and accumulated read noise of cell `i` (of `count` weights) of
// polarity `p` (0: g+ or the offset cell, 1: g-) in weight slice `s`.
XBARSIM_HD uint64_t programming_element(uint64_t element_base, uint64_t s, uint64_t polarities, uint64_t p,
                                        uint64_t count, uint64_t i) {
    return element_base + (s * polarities + p) * count + i;
}

// One array output (lumped read noise, stochastic ADC rounding): element (weight slice s, input
// slice js, row block rb, output o) of n outputs; add the output index o to this base.
XBARSIM_HD uint64_t array_output_element_base(uint64_t element_base, uint64_t s, uint64_t in_slices, uint64_t js,
                                              uint64_t row_blocks, uint64_t rb, uint64_t n) {
    return element_base + ((s * in_slices + js) * row_blocks + rb) * n;
}

// Per-cell read noise (validation mode): element (weight slice s, input slice js, cell o*k + j);
// add the cell index o*k + j to this base.
XBARSIM_HD uint64_t read_noise_cell_element_base(uint64_t element_base, uint64_t s, uint64_t in_slices, uint64_t js,
                                                 uint64_t n, uint64_t k) {
    return element_base + (s * in_slices + js) * (n * k);
}

// ------------------------------------------------------------------ bit-serial inputs
// Input slice `js` of a DAC output xq (= code / n_x), applied as a fraction of the slice's full
// scale: input_slice(code, js, slice_bits) / (2^slice_bits - 1).
XBARSIM_HD float input_slice_value(float xq, int32_t n_x, int js, int slice_bits) {
    const auto code = static_cast<int32_t>(round_even(hd::mul(xq, static_cast<float>(n_x))));
    return hd::div(static_cast<float>(input_slice(code, js, slice_bits)), static_cast<float>(unsigned_max_level(slice_bits)));
}

// The weight of input slice js in the digital shift-add: 2^(js·slice_bits)·(2^slice_bits - 1)/n_x,
// so that Σ_js factor·input_slice_value == xq. 1 when inputs are applied at once (slice_bits 0).
XBARSIM_HD float input_slice_factor(int js, int slice_bits, int32_t n_x) {
    if (slice_bits <= 0) return 1.0f;
    return hd::div(ldexpf(static_cast<float>(unsigned_max_level(slice_bits)), js * slice_bits), static_cast<float>(n_x));
}

// ------------------------------------------------------------------ digital recombination
// Each weight slice's ADC output a contributes factor_s·(a·comp - base·Σx) (Σx over the row
// block's inputs), plus, for sliced offset mappings, constant·Σx over all inputs; the sum times
// W_max·input range is the layer output.
struct Recombination {
    float base = 0.0f;      // zero-point conductance subtracted per row block (offset mapping)
    float constant = 0.0f;  // code offset of sliced offset mappings, per unit of Σx
};

// `n_levels`: signed_max_level(weight_bits), or 1 for continuous weights.
XBARSIM_HD Recombination recombination(bool offset, bool sliced, float g_min, int weight_bits, float n_levels) {
    Recombination r;
    const float dg = hd::sub(1.0f, g_min);
    r.base = offset ? (sliced ? g_min : hd::add(g_min, hd::mul(0.5f, dg))) : 0.0f;
    r.constant = offset && sliced ? -hd::div(static_cast<float>(int64_t{1} << (weight_bits - 1)), n_levels) : 0.0f;
    return r;
}

// factor_s of weight slice s (cells of `slice_bits` bits when sliced), times the input slice's
// factor `in_factor`.
XBARSIM_HD float weight_slice_factor(float in_factor, bool offset, bool sliced, int s, int slice_bits, float g_min,
                                     float n_levels) {
    const float dg = hd::sub(1.0f, g_min);
    const float f = sliced ? hd::div(ldexpf(static_cast<float>(unsigned_max_level(slice_bits)), s * slice_bits), hd::mul(dg, n_levels))
                           : hd::div(offset ? 2.0f : 1.0f, dg);
    return hd::mul(in_factor, f);
}

// Adds the lumped read noise of one array output: part + sqrt(var)·z.
XBARSIM_HD float add_lumped_read_noise(float part, float var, float z) { return hd::add(part, hd::mul(hd::sqrt(var), z)); }

// The contribution of one digitized array output `adc_out` (times its drift compensation
// `comp`) to the double accumulator: factor·(adc_out·comp - base·colsum).
XBARSIM_HD double recombined_term(float factor, float adc_out, float comp, float base, float colsum) {
    return dmul(static_cast<double>(factor), static_cast<double>(hd::sub(hd::mul(adc_out, comp), hd::mul(base, colsum))));
}

}  // namespace xbarsim::analog
