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
};

// Applies the DAC to `count` values (normalized outputs of analog::dac).
void dac_all(const float* x, int64_t count, const InputSpec& input, float* xq);

// ADC of every array column: bits, and per weight slice the range [lo, hi] in normalized array
// output units (1 = one cell at g = 1 driven at |x| = 1). bits = 0: ideal.
struct AdcSpec {
    int bits = 0;
    bool symmetric = true;
    bool stochastic = false;    // stochastic rounding, one uniform draw per conversion
    std::vector<float> lo, hi;  // one entry per slice (or one for all)
};

// Identifies this matrix's random draws: every draw is a function of (seed, trial, layer, role,
// element, sample), so results do not depend on batch size, threads or backend.
struct NoiseIds {
    uint64_t seed = 1;
    uint32_t trial = 0;
    uint32_t layer = 0;         // MVM-layer index
    uint64_t element_base = 0;  // offset of this matrix's elements within the layer (Conv groups)
};

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
    using PartialSumObserver = std::function<void(int slice, const float* values, int64_t count)>;
    void mvm(const float* x, int64_t m, const InputSpec& input, const AdcSpec& adc, float* y,
             const PartialSumObserver& observer) const;

    // The same product for inputs already through the DAC (values of dac(x, input)): a Conv's
    // input is quantized once before im2col instead of once per kernel tap.
    // `first_column` is the global index of column 0 (sample index x output pixels + pixel), so
    // that read-noise draws belong to the input vector, not to its position in a batch.
    void mvm_quantized(const float* xq, int64_t m, const InputSpec& input, const AdcSpec& adc, float* y,
                       const PartialSumObserver& observer = nullptr, uint64_t first_column = 0) const;

    int slices() const { return static_cast<int>(g_.size()); }
    int slice_bits() const { return slice_bits_; }
    int64_t row_blocks() const { return (k_ + map_.array_rows - 1) / map_.array_rows; }
    int64_t col_blocks() const { return (n_ + map_.array_cols - 1) / map_.array_cols; }
    float w_max() const { return w_max_; }
    // Effective conductance of slice s: g+ - g- (differential) or g (offset), [n_out x k_in].
    const std::vector<float>& conductance(int s) const { return g_[static_cast<size_t>(s)]; }
    // The weights this mapping represents after quantization (W_max * q / n), for references.
    std::vector<float> quantized_weights() const;

private:
    MatrixMapping map_;
    int64_t n_ = 0, k_ = 0;
    float w_max_ = 0.0f;
    int slice_bits_ = 0;
    std::vector<int32_t> codes_;        // q per weight (empty for continuous weights)
    std::vector<float> w_norm_;         // clipped W / W_max (continuous weights only)
    std::vector<std::vector<float>> targets_;  // per slice: target g (offset) or g+ then g- (differential)
    std::vector<std::vector<float>> g_;        // per slice, effective conductances (g+ - g-, or g)
    std::vector<std::vector<float>> var_;      // per slice, read-noise variance per cell pair (empty: none)
    std::vector<float> compensation_;          // per slice x row block x column block (empty: none)
    DeviceParams device_;                      // the device of the current programming
    NoiseIds ids_;
    // Scratch of mvm(), kept between calls to avoid reallocating per batch (mvm is not reentrant).
    mutable std::vector<float> scratch_part_, scratch_colsum_, scratch_sq_, scratch_var_, scratch_slice_;
    mutable std::vector<double> scratch_acc_;
};

}  // namespace xbarsim::analog
