#pragma once
// One matrix-vector-product layer mapped onto crossbar arrays (ARCHITECTURE §2, steps 1-9) on the
// CPU: weights normalized by W_max, quantized, optionally bit-sliced, mapped to conductances
// (differential pairs or offset cells), split over arrays of R rows x C columns; inputs through
// the DAC; each array's column outputs through an ADC; row blocks and slices recombined digitally.
// Devices are ideal here (programmed conductance = target); device models plug in at
// programming and read time. The element-wise math is the shared code of quantize.hpp.
#include <cstdint>
#include <functional>
#include <vector>

#include "xbarsim/analog/device_model.hpp"
#include "xbarsim/analog/quantize.hpp"
#include "xbarsim/analog/rng.hpp"

namespace xbarsim::analog {

template <class T>
class BasicConvColumns;
using ConvColumns = BasicConvColumns<double>;
struct ConvInput;

enum class Mapping { Differential, Offset };

struct MatrixMapping {
    Mapping mapping = Mapping::Differential;
    int weight_bits = 8;          // signed weight code bits; 0 = continuous (unquantized) weights
    int slices = 1;               // weight slices; > 1 needs weight_bits > 0
    int cell_bits = 0;            // unsliced: levels per cell (0 = continuous); sliced: derived
    int64_t array_rows = 1152;    // R: inputs per array
    int64_t array_cols = 256;     // C: outputs per array (per array pair for differential)
    float g_min = 0.0f;           // g_min = 1 / on-off ratio
    float w_max = 0.0f;           // weight full scale; 0 = max |W| (larger weights are clipped)
    bool per_column_scale = false;  // W_max per output column (max |W| of that output's weights)
                                    // instead of one per matrix; undone digitally per output
    bool separate_differential = false;  // differential: digitize I+ and I- with their own ADC
                                         // conversions and subtract digitally (default: subtract
                                         // the currents in analog, one conversion)
    bool reference_column = false;  // offset: subtract the zero point in analog with a programmed
                                    // (noisy, drifting) reference column per array instead of
                                    // digitally from the input sum
    bool per_cell_read_noise = false;  // validation mode: draw read noise for every cell and input
                                       // vector instead of one lumped Gaussian per output (slow)
};

struct InputSpec {
    int bits = 8;          // DAC bits; 0 = not quantized
    float range = 1.0f;    // x is divided by this before the DAC (clipped to [-1,1] or [0,1])
    bool is_signed = true; // false: inputs are known non-negative (e.g. after ReLU)
    int slice_bits = 0;    // bit-serial inputs: the integer input code is applied in slices of this
                           // many bits (LSB first, sign on every slice), each slice one analog MVM
                           // with its own ADC conversion, shift-added digitally; 0 = all at once
    bool analog_accumulation = false;  // bit-serial: the input slices' column outputs are
                                       // shift-added in analog (e.g. charge sharing) and converted
                                       // once; read noise is still drawn per input slice
};

// Applies the DAC to `count` values (normalized outputs of analog::dac).
void dac_all(const float* x, int64_t count, const InputSpec& input, float* xq);
// The same for a convolution's input read in place: xq becomes the columns of x through the DAC,
// in the same pass as the padding copy (padding stays dac(0) = 0).
void dac_all(const ConvInput& x, const InputSpec& input, ConvColumns& xq);

// ADC of every array column: bits, and per weight slice the range [lo, hi] in normalized array
// output units (1 = one cell at g = 1 driven at |x| = 1). bits = 0: ideal.
struct AdcSpec {
    int bits = 0;
    bool symmetric = true;
    bool stochastic = false;    // stochastic rounding, one uniform draw per conversion
    std::vector<float> lo, hi;  // one entry per slice (or one for all)
    // Per-column ranges, when not empty: [slice][output column], slices * n_out entries; they
    // replace lo/hi (lo empty: -hi).
    std::vector<float> column_lo, column_hi;
};

// Identifies this matrix's random draws: every draw is a function of (seed, trial, layer, role,
// element, sample), so results do not depend on batch size, threads or backend.
struct NoiseIds {
    uint64_t seed = 1;
    uint32_t trial = 0;
    uint32_t layer = 0;         // MVM-layer index
    uint64_t element_base = 0;  // offset of this matrix's programming elements within the layer (Conv groups)
    uint64_t read_element_base = 0;  // offset of its read-noise / ADC-rounding elements (Conv groups)
};

// Element index of one array output's per-MVM draws (read noise, stochastic ADC rounding):
// polarity p (1 only for separately digitized differential pairs), weight slice s, input slice
// js, row block rb, output o. Shared by both backends so they draw the same numbers.
XBARSIM_HD uint64_t output_element(uint64_t base, int p, int s, int js, int64_t rb, int64_t o, int slices, int in_slices,
                                   int64_t row_blocks, int64_t n_out) {
    const auto a = (static_cast<uint64_t>(p) * static_cast<uint64_t>(slices) + static_cast<uint64_t>(s)) * static_cast<uint64_t>(in_slices) +
                   static_cast<uint64_t>(js);
    return base + (a * static_cast<uint64_t>(row_blocks) + static_cast<uint64_t>(rb)) * static_cast<uint64_t>(n_out) +
           static_cast<uint64_t>(o);
}

class AnalogMatrix {
public:
    // Maps W [n_out x k_in] (row-major) onto arrays with ideal devices (conductance = target).
    AnalogMatrix(const float* w, int64_t n_out, int64_t k_in, const MatrixMapping& mapping);

    // Programs one chip instance: every cell gets its programming error, drift to the device's
    // drift time (with the PCM accumulated read noise) and, when enabled, the per-array drift
    // compensation scale; read noise, drawn per MVM in mvm(), uses `device` too.
    void program(const DeviceParams& device, const NoiseIds& ids);
    // Number of random elements program() uses (to give each Conv group its own range).
    uint64_t element_count() const;

    // y [n_out x m] = analog(W) . x [k_in x m] (both row-major; columns are input vectors).
    void mvm(const float* x, int64_t m, const InputSpec& input, const AdcSpec& adc, float* y) const;

    // Sees every array's column outputs before its ADC: slice, and `count` values. Calibration
    // uses it to size ADC ranges.
    // `values` is [rows x cols] row-major: one row per output column of the matrix, one column per
    // input vector. Differential outputs digitized separately are observed once per polarity.
    using PartialSumObserver = std::function<void(int slice, const float* values, int64_t rows, int64_t cols)>;
    void mvm(const float* x, int64_t m, const InputSpec& input, const AdcSpec& adc, float* y,
             const PartialSumObserver& observer) const;

    // The same product for inputs already through the DAC (values of dac(x, input)): a Conv's
    // input is quantized once before im2col instead of once per kernel tap.
    // `first_column` is the global index of column 0 (sample index x output pixels + pixel), so
    // that read-noise draws belong to the input vector, not to its position in a batch.
    void mvm_quantized(const float* xq, int64_t m, const InputSpec& input, const AdcSpec& adc, float* y,
                       const PartialSumObserver& observer = nullptr, uint64_t first_column = 0) const;
    // The same with the DAC'd inputs already in double, the precision of the array sums: a Conv's
    // im2col writes them directly, saving a float copy and a conversion pass over the unrolled
    // input. Inputs applied at once only (bit-serial inputs are sliced from the float values).
    void mvm_quantized(const double* xq, int64_t m, const InputSpec& input, const AdcSpec& adc, float* y,
                       const PartialSumObserver& observer = nullptr, uint64_t first_column = 0) const;
    // The same for a convolution's input read in place (see conv_columns.hpp): m = cols.cols().
    // Only where takes_conv_columns(): read noise lumped per output, not drawn per cell.
    void mvm_conv(const ConvColumns& cols, const InputSpec& input, const AdcSpec& adc, float* y, uint64_t first_column = 0,
                  const PartialSumObserver& observer = nullptr) const;
    bool takes_conv_columns() const;

    int slices() const { return static_cast<int>(g_.size()); }
    int slice_bits() const { return slice_bits_; }
    int64_t row_blocks() const { return (k_ + map_.array_rows - 1) / map_.array_rows; }
    int64_t col_blocks() const { return (n_ + map_.array_cols - 1) / map_.array_cols; }
    // Weight full scale of output column o (the same for all unless per_column_scale).
    float w_max(int64_t o = 0) const { return w_scale_[static_cast<size_t>(o)]; }
    // Number of read-noise / ADC-rounding elements mvm() draws per input vector with `input`
    // (to give each Conv group its own range).
    uint64_t read_element_count(const InputSpec& input) const;
    // Effective conductance of slice s: g+ - g- (differential) or g (offset), [n_out x k_in]
    // (float values, held in double for the array sums).
    const std::vector<double>& conductance(int s) const { return g_[static_cast<size_t>(s)]; }
    // Target conductances of slice s before any device effect: [n_out x k_in] (offset), or g+
    // then g- cells [2 x n_out x k_in] (differential). The CUDA backend programs from these.
    const std::vector<float>& targets(int s) const { return targets_[static_cast<size_t>(s)]; }
    // Offset reference columns: present, and the target conductances of slice s, [column blocks x
    // k_in] (every cell at the zero point). The CUDA backend programs from these.
    bool has_reference_columns() const { return !ref_targets_.empty(); }
    const std::vector<float>& reference_targets(int s) const { return ref_targets_[static_cast<size_t>(s)]; }
    // Read-noise elements of the weight cells' outputs (or cells, per-cell mode) per input vector
    // with `in_slices` input slices; the reference columns' elements follow them.
    uint64_t weight_read_elements(int in_slices) const;
    // The weights this mapping represents after quantization (W_max * q / n), for references.
    std::vector<float> quantized_weights() const;

private:
    // mvm_quantized for float or double inputs (T = double: inputs applied at once only).
    template <class T>
    void mvm_columns(const T* xq, int64_t m, const InputSpec& input, const AdcSpec& adc, float* y,
                     const PartialSumObserver& observer, uint64_t first_column) const;

    MatrixMapping map_;
    int64_t n_ = 0, k_ = 0;
    std::vector<float> w_scale_;        // W_max per output column
    int polarities_ = 1;                // conductance arrays read per slice: 2 for separately digitized pairs
    int slice_bits_ = 0;
    std::vector<int32_t> codes_;        // q per weight (empty for continuous weights)
    std::vector<float> w_norm_;         // clipped W / W_max (continuous weights only)
    std::vector<std::vector<float>> targets_;  // per slice: target g (offset) or g+ then g- (differential)
    // The read-time values below are floats held in double: the array sums are computed in double
    // (exact up to ~1e-16, so the same on every backend whatever its summation order) and
    // rounded to float once, before read noise and the ADC.
    std::vector<std::vector<double>> g_;       // per slice, conductances read: g+ - g- or g [n x k], or
                                               // (separate differential) g+ then g- [2 x n x k]
    std::vector<std::vector<double>> var_;     // per slice, read-noise variance per entry of g_ (empty: none)
    std::vector<std::vector<float>> ref_targets_;  // offset reference columns: per slice, [column block x k]
    std::vector<std::vector<double>> ref_g_, ref_var_;  // their read-time values (empty: none)
    std::vector<float> compensation_;          // per slice x row block x column block (empty: none)
    DeviceParams device_;                      // the device of the current programming
    NoiseIds ids_;
    // Scratch of mvm(), kept between calls to avoid reallocating per batch (mvm is not reentrant).
    mutable std::vector<float> scratch_part_, scratch_colsum_, scratch_slice_, scratch_ref_,
        scratch_ref_var_, scratch_pending_, scratch_adc_;
    mutable std::vector<double> scratch_acc_, scratch_x64_, scratch_sq64_, scratch_sum64_;
};

}  // namespace xbarsim::analog
