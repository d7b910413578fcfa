#pragma once
// Per-cell and per-output arithmetic of programming and reading an analog matrix that
// AnalogMatrix (CPU) and the CUDA analog layer both perform, beyond recombine.hpp (the shift-add
// factors) and output_element (analog_matrix.hpp): the read-time conductance and read-noise
// variance of a weight's cells, the random-element ids of programming and per-cell read noise,
// adding lumped read noise, and one ADC output's contribution to the double accumulator. Every
// float operation goes through the exactly rounded hd:: primitives and every double one through
// dmul/dadd, so no compiler fuses a*b+c on one side only and both backends get the same bits.
#include <stdint.h>

#include "xbarsim/analog/device_model.hpp"
#include "xbarsim/analog/hd.hpp"

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

// Per-MVM read-noise variance σ² of one cell at conductance g.
XBARSIM_HD float cell_read_variance(const DeviceParams& device, float g) {
    const float a = read_noise_sigma(device, g);
    return hd::mul(a, a);
}

// Read-noise variance of a weight's cells read together: σ²(g+) + σ²(g-) (differential) or σ²(g).
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

// Per-cell read noise (validation mode): the element of cell (o, j) is this base + o*k + j, for
// polarity p (1 only for separately digitized pairs), weight slice s of `slices`, input slice js.
XBARSIM_HD uint64_t read_noise_cell_element_base(uint64_t read_base, uint64_t p, uint64_t slices, uint64_t s,
                                                 uint64_t in_slices, uint64_t js, uint64_t n, uint64_t k) {
    return read_base + ((p * slices + s) * in_slices + js) * (n * k);
}

// Offset reference columns (one per array and weight slice, [column blocks x k] cells): the
// programming element of reference cell i of slice s follows all `slices` x `count` weight cells.
XBARSIM_HD uint64_t reference_programming_element(uint64_t element_base, uint64_t slices, uint64_t count, uint64_t ref_count,
                                                  uint64_t s, uint64_t i) {
    return element_base + slices * count + s * ref_count + i;
}

// The read-noise element of the reference column of array (rb, cb), weight slice s, input slice
// js: they follow the `weight_reads` elements of the weight cells' outputs (or cells).
XBARSIM_HD uint64_t reference_read_element(uint64_t read_base, uint64_t weight_reads, uint64_t s, uint64_t in_slices,
                                           uint64_t js, uint64_t row_blocks, uint64_t rb, uint64_t col_blocks, uint64_t cb) {
    return read_base + weight_reads + ((s * in_slices + js) * row_blocks + rb) * col_blocks + cb;
}

// ------------------------------------------------------------------ reading
// Adds the lumped read noise of one array output: part + sqrt(var)·z.
XBARSIM_HD float add_lumped_read_noise(float part, float var, float z) { return hd::add(part, hd::mul(hd::sqrt(var), z)); }

// An array output minus its array's reference column read with the same inputs (the offset zero
// point subtracted in analog).
XBARSIM_HD float subtract_reference(float part, float reference) { return hd::sub(part, reference); }

// Analog accumulation of bit-serial input slices: the held charge plus input slice j's output,
// weighted by input_slice_factor(j), before the one conversion.
XBARSIM_HD float hold_input_slice(float held, float in_factor, float part) { return hd::add(held, hd::mul(in_factor, part)); }

// The contribution of one digitized array output `adc_out` (times its drift compensation
// `comp`) to the double accumulator: sign·factor·(adc_out·comp - base·colsum), sign = -1 for the
// g- output of a separately digitized pair.
XBARSIM_HD double recombined_term(double sign, float factor, float adc_out, float comp, float base, float colsum) {
    return dmul(dmul(sign, static_cast<double>(factor)), static_cast<double>(hd::sub(hd::mul(adc_out, comp), hd::mul(base, colsum))));
}

}  // namespace xbarsim::analog
