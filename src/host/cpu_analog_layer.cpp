#include "cpu_analog_layer.hpp"

#include "xbarsim/analog/conv_columns.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::cpu {

AnalogLayer::AnalogLayer(const Tensor& weights, const AnalogLayerPlan& plan) : plan_(plan) {
    if (!plan.calibrated)
        throw Error("analog layer '" + plan.name + "': its input/ADC ranges are not calibrated (run calibration or pass --ranges)");
    matrices_.reserve(static_cast<size_t>(plan.groups));
    const analog::MatrixMapping mapping = layer_mapping(plan);
    for (int64_t g = 0; g < plan.groups; ++g)
        matrices_.emplace_back(weights.ptr() + g * plan.cols * plan.rows, plan.cols, plan.rows, mapping);
    input_ = layer_input(plan);
    for (int64_t g = 0; g < plan.groups; ++g) group_adcs_.push_back(layer_group_adc(plan, g));
}

const float* AnalogLayer::transform_input(const Tensor& x) {
    quantized_.resize(x.data.size());
    analog::dac_all(x.ptr(), x.size(), input_, quantized_.data());
    return quantized_.data();
}

void AnalogLayer::program(const analog::DeviceParams& device, uint64_t seed, uint32_t trial) {
    uint64_t base = 0, read_base = 0;  // each group draws from its own ranges of elements
    for (auto& m : matrices_) {
        m.program(device, {seed, trial, static_cast<uint32_t>(plan_.mvm_index), base, read_base});
        base += m.element_count();
        read_base += m.read_element_count(input_);
    }
}

void AnalogLayer::multiply(int64_t group, const float* cols, int64_t m, float* out, uint64_t first_column) {
    // cols come from the transformed (DAC'd) input; padding zeros are dac(0) = 0 as well.
    matrices_[static_cast<size_t>(group)].mvm_quantized(cols, m, input_, group_adcs_[static_cast<size_t>(group)], out, nullptr, first_column);
}

// Inputs applied at once are summed straight from double columns; bit-serial inputs are sliced
// from the float values first.
bool AnalogLayer::takes_double_columns() const { return !(input_.slice_bits > 0 && input_.bits > 0); }

// Per-cell read noise (a validation mode) draws for every cell of the unrolled matrix.
bool AnalogLayer::takes_conv_columns() const { return matrices_.front().takes_conv_columns(); }

void AnalogLayer::multiply_double(int64_t group, const double* cols, int64_t m, float* out, uint64_t first_column) {
    matrices_[static_cast<size_t>(group)].mvm_quantized(cols, m, input_, group_adcs_[static_cast<size_t>(group)], out, nullptr, first_column);
}

void AnalogLayer::fill_conv_columns(const analog::ConvInput& x, analog::ConvColumns& cols) const {
    analog::dac_all(x, input_, cols);
}

void AnalogLayer::multiply_conv(int64_t group, const analog::ConvColumns& cols, float* out, uint64_t first_column) {
    matrices_[static_cast<size_t>(group)].mvm_conv(cols, input_, group_adcs_[static_cast<size_t>(group)], out, first_column);
}

}  // namespace xbarsim::cpu
