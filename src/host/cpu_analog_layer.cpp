#include "cpu_analog_layer.hpp"

#include "xbarsim/error.hpp"

namespace xbarsim::cpu {

AnalogLayer::AnalogLayer(const Tensor& weights, const AnalogLayerPlan& plan) : plan_(plan) {
    if (!plan.calibrated)
        throw Error("analog layer '" + plan.name + "': its input/ADC ranges are not calibrated (run calibration or pass --ranges)");
    matrices_.reserve(static_cast<size_t>(plan.groups));
    analog::MatrixMapping mapping = plan.config.mapping;
    mapping.per_cell_read_noise = plan.config.read_noise_mode == ReadNoiseMode::PerCell;
    for (int64_t g = 0; g < plan.groups; ++g)
        matrices_.emplace_back(weights.ptr() + g * plan.cols * plan.rows, plan.cols, plan.rows, mapping);
    input_.bits = plan.config.input_bits;
    input_.range = plan.input_range;
    input_.is_signed = plan.input_signed;
    input_.slice_bits = plan.config.input_slice_bits;
    adc_.bits = plan.config.adc_bits;
    adc_.symmetric = plan.config.adc_symmetric;
    adc_.stochastic = plan.config.stochastic_rounding;
    adc_.hi = plan.adc_range;
    // An asymmetric ADC spans [0, range] where outputs cannot be negative (offset cells driven by
    // non-negative inputs), [-range, range] otherwise.
    const bool nonneg = plan.config.mapping.mapping == analog::Mapping::Offset && !plan.input_signed;
    if (!adc_.symmetric)
        for (float h : plan.adc_range) adc_.lo.push_back(nonneg ? 0.0f : -h);
}

const float* AnalogLayer::transform_input(const Tensor& x) {
    quantized_.resize(x.data.size());
    analog::dac_all(x.ptr(), x.size(), input_, quantized_.data());
    return quantized_.data();
}

void AnalogLayer::program(const analog::DeviceParams& device, uint64_t seed, uint32_t trial) {
    uint64_t base = 0;  // each group draws from its own range of elements
    for (auto& m : matrices_) {
        m.program(device, {seed, trial, static_cast<uint32_t>(plan_.mvm_index), base});
        base += m.element_count();
    }
}

void AnalogLayer::multiply(int64_t group, const float* cols, int64_t m, float* out, uint64_t first_column) {
    // cols come from the transformed (DAC'd) input; padding zeros are dac(0) = 0 as well.
    matrices_[static_cast<size_t>(group)].mvm_quantized(cols, m, input_, adc_, out, nullptr, first_column);
}

}  // namespace xbarsim::cpu
