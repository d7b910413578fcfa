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
    input_.analog_accumulation = plan.config.input_analog_accumulation;
    adc_.bits = plan.config.adc_bits;
    adc_.symmetric = plan.config.adc_symmetric;
    adc_.stochastic = plan.config.stochastic_rounding;
    adc_.hi = plan.adc_range;
    // An asymmetric ADC spans [0, range] where outputs cannot be negative (offset cells without a
    // reference column, or one polarity of a separately digitized pair, driven by non-negative
    // inputs), [-range, range] otherwise.
    const bool nonneg = !plan.input_signed && ((plan.config.mapping.mapping == analog::Mapping::Offset && !plan.config.mapping.reference_column) ||
                                               plan.config.mapping.separate_differential);
    if (!adc_.symmetric)
        for (float h : plan.adc_range) adc_.lo.push_back(nonneg ? 0.0f : -h);
    for (int64_t g = 0; g < plan.groups; ++g) group_adcs_.push_back(group_adc(g, !adc_.symmetric && nonneg));
}

analog::AdcSpec AnalogLayer::group_adc(int64_t group, bool nonnegative) const {
    if (plan_.adc_column_range.empty()) return adc_;
    // Per-column ranges: this group's columns of every slice.
    analog::AdcSpec a = adc_;
    const auto cols = static_cast<size_t>(plan_.cols), groups = static_cast<size_t>(plan_.groups);
    for (size_t s = 0; s < static_cast<size_t>(plan_.slices); ++s) {
        const float* r = plan_.adc_column_range.data() + (s * groups + static_cast<size_t>(group)) * cols;
        a.column_hi.insert(a.column_hi.end(), r, r + cols);
    }
    if (!a.symmetric)
        for (float h : a.column_hi) a.column_lo.push_back(nonnegative ? 0.0f : -h);
    return a;
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

}  // namespace xbarsim::cpu
