#pragma once
// How an analog MVM's pieces add up digitally (ARCHITECTURE §2, steps 2, 5 and 9), written once
// for both backends: the input slices of bit-serial inputs, the weight of each weight slice and
// input slice in the shift-add, and the offset mapping's zero-point terms. Each ADC output a of
// weight slice s and input slice j contributes
//     weight_slice_factor(s) * input_slice_factor(j) * (a - base * sum_rows(x_j))
// and the whole product gets constant * sum(x) on top, all times W_max * input range.
#include <stdint.h>

#include "xbarsim/analog/hd.hpp"
#include "xbarsim/analog/quantize.hpp"

namespace xbarsim::analog {

// Largest input code: n_x of the DAC grid (1 when inputs are not quantized).
XBARSIM_HD int32_t input_code_max(int bits, bool is_signed) {
    return bits > 0 ? (is_signed ? signed_max_level(bits) : unsigned_max_level(bits)) : 1;
}

// Input slices per MVM: the magnitude bits in slices of `slice_bits` (bit-serial), else 1.
XBARSIM_HD int input_slice_count(int bits, bool is_signed, int slice_bits) {
    if (slice_bits <= 0 || bits <= 0) return 1;
    return slice_count(is_signed ? bits - 1 : bits, slice_bits);
}

// The value driven for input slice j of a DAC output xq (normalized k / n_x): the slice of the
// integer code, sign applied, normalized by the slice's largest value 2^slice_bits - 1.
XBARSIM_HD float input_slice_value(float xq, int32_t n_x, int j, int slice_bits) {
    const auto code = static_cast<int32_t>(round_even(hd::mul(xq, static_cast<float>(n_x))));
    return hd::div(static_cast<float>(input_slice(code, j, slice_bits)), static_cast<float>(unsigned_max_level(slice_bits)));
}

// Weight of input slice j in the shift-add: 2^(j s) (2^s - 1) / n_x, so that
// sum_j input_slice_factor(j) * input_slice_value(xq, j) == xq.
XBARSIM_HD float input_slice_factor(int j, int slice_bits, int32_t n_x) {
    return hd::div(ldexpf(static_cast<float>(unsigned_max_level(slice_bits)), j * slice_bits), static_cast<float>(n_x));
}

struct WeightRecombination {
    bool sliced = false;     // more than one weight slice
    bool offset = false;     // offset mapping
    int weight_bits = 0;     // 0: continuous weights
    int slice_bits = 0;      // bits per weight slice (sliced only)
    float g_min = 0.0f;
    bool reference_column = false;  // offset zero point subtracted in analog
};

// Weight of weight slice s: a slice's cells hold levels 0 .. 2^b - 1 on (1 - g_min), the slice is
// worth 2^(s b) of the code, codes are normalized by n = 2^(weight_bits-1) - 1. Unsliced:
// differential 1 / Δg, offset 2 / Δg (the offset cell spans w in [-1, 1] on Δg).
XBARSIM_HD float weight_slice_factor(const WeightRecombination& r, int s) {
    const float dg = hd::sub(1.0f, r.g_min);
    if (r.sliced) {
        const float n_levels = static_cast<float>(signed_max_level(r.weight_bits));
        return hd::div(ldexpf(static_cast<float>(unsigned_max_level(r.slice_bits)), s * r.slice_bits), hd::mul(dg, n_levels));
    }
    return hd::div(r.offset ? 2.0f : 1.0f, dg);
}

// Conductance subtracted per unit of input before scaling (the offset zero point): g_min per
// slice when sliced (the code's offset is the constant term), g_min + Δg / 2 unsliced; 0 for
// differential pairs or when a reference column subtracts it in analog.
XBARSIM_HD float offset_base(const WeightRecombination& r) {
    if (!r.offset || r.reference_column) return 0.0f;
    return r.sliced ? r.g_min : hd::add(r.g_min, hd::mul(0.5f, hd::sub(1.0f, r.g_min)));
}

// Multiplies sum(x) once per output: -2^(weight_bits-1) / n, the sliced offset code's shift.
XBARSIM_HD float offset_constant(const WeightRecombination& r) {
    if (!r.offset || !r.sliced || r.reference_column) return 0.0f;
    const float n_levels = static_cast<float>(signed_max_level(r.weight_bits));
    return hd::div(-static_cast<float>(int64_t{1} << (r.weight_bits - 1)), n_levels);
}

}  // namespace xbarsim::analog
