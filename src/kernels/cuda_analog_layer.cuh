#pragma once
// An analog MVM layer on the GPU: the same model as AnalogMatrix::program and
// AnalogMatrix::mvm_quantized (src/host/analog_matrix.cpp, the reference semantics), one matrix
// per Conv group. Targets are uploaded once; program() draws one or several chip instances on the
// device with the same Philox element ids as the CPU (bit-identical conductances); multiply()
// runs the per-array GEMMs of one chip with cuBLAS and one fused kernel per (input slice, weight
// slice) for read noise, reference-column subtraction, ADC, drift compensation, shift-add and
// row-block accumulation (in double, in the CPU's order). Bit-serial inputs accumulated in analog
// are held (read noise drawn per input slice) and converted once after the last slice.
#include <cstdint>
#include <vector>

#include "cuda_memory.cuh"
#include "cuda_ops.cuh"
#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/analog/device_model.hpp"
#include "xbarsim/analog_plan.hpp"

namespace xbarsim::cuda {

class AnalogLayer {
public:
    // Maps `weights` ([N, K] per group, groups stacked) as the plan says. Throws Error for a plan
    // the GPU layer does not implement yet (naming the option) or one that is not calibrated.
    AnalogLayer(const Tensor& weights, const AnalogLayerPlan& plan);

    // Programs chip instances `trials` on the device, chip i of multiply() being trials[i]
    // (enqueued on ctx.stream).
    void program(const Context& ctx, const analog::DeviceParams& device, uint64_t seed, const std::vector<uint32_t>& trials);

    // The DAC of the layer input, element-wise on the whole input tensor.
    void dac(const Context& ctx, const float* x, float* xq, int64_t count) const;

    // y [N x m] = analog(W_group) . xq [K x m] for DAC'd inputs on chip `chip`; `first_column` is
    // the global index of column 0 (sample since programming x output pixels + pixel), as on the CPU.
    void multiply(const Context& ctx, int64_t group, const float* xq, int64_t m, float* y, uint64_t first_column, size_t chip = 0);

    // Device workspace multiply() needs per input column (to size column chunks).
    size_t workspace_bytes_per_column() const;
    // Device memory one more chip instance of this layer takes (conductances, variances).
    size_t chip_bytes(const analog::DeviceParams& device) const;
    int64_t rows() const { return k_; }
    int64_t cols() const { return n_; }

private:
    // What a group's mapping fixes, the same for every chip.
    struct Matrix {
        uint64_t program_base = 0;  // first programming element of this group
        uint64_t read_base = 0;     // first read-noise / ADC-rounding element of this group
        uint64_t weight_reads = 0;  // read elements of the weight cells; the reference columns' follow
        DeviceArray<float> w_scale;               // [N] W_max per output column
        DeviceArray<float> column_hi, column_lo;  // per-column ADC ranges [slices x N] (empty: per slice)
        std::vector<DeviceArray<float>> targets;  // per slice: [polarities x N x K]
        std::vector<DeviceArray<float>> reference_targets;  // offset reference columns, per slice: [col blocks x K]
    };
    // What programming draws for one chip and one group.
    struct Programmed {
        std::vector<DeviceArray<double>> g, var;  // per slice: [stored polarities x N x K], float values
        std::vector<DeviceArray<double>> ref_g, ref_var;  // reference columns, per slice: [col blocks x K]
        DeviceArray<float> compensation;          // [slices x row blocks x col blocks]
    };
    struct Chip {
        uint32_t trial = 0;
        std::vector<Programmed> groups;
    };

    const AnalogLayerPlan& plan_;
    analog::MatrixMapping map_;
    analog::InputSpec input_;
    analog::AdcSpec adc_;
    int64_t n_ = 0, k_ = 0;
    int slices_ = 1, slice_bits_ = 0;
    int stored_polarities_ = 1;  // 2: g+ and g- read and digitized separately
    bool reference_columns_ = false;  // offset zero point subtracted in analog by reference columns
    bool analog_sum_ = false;         // bit-serial input slices accumulated in analog, one conversion
    std::vector<Matrix> matrices_;
    std::vector<Chip> chips_;  // grow-only; the first chip_count_ are current
    size_t chip_count_ = 0;
    analog::DeviceParams device_;
    uint64_t seed_ = 1;
    bool read_noise_ = false, compensate_ = false;
    // Scratch of program() and multiply(), grow-only.
    DeviceArray<float> at0_, at_t_;
    DeviceArray<float> colsum_, colsum_all_;
    DeviceArray<double> part_, part_var_, ref_part_, ref_var_, slice_in_, square_in_, acc_;
    DeviceArray<float> held_;  // analog accumulation: [slices][row blocks][polarities][N x m]

    int64_t row_blocks() const { return (k_ + map_.array_rows - 1) / map_.array_rows; }
    int64_t col_blocks() const { return (n_ + map_.array_cols - 1) / map_.array_cols; }
};

}  // namespace xbarsim::cuda
