#pragma once
// An analog MVM layer on the CPU: one AnalogMatrix per Conv group, programmed from the layer's
// weights, computing the group products of conv2d/linear in place of the digital GEMM.
#include <vector>

#include "cpu_ops.hpp"
#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/analog_plan.hpp"

namespace xbarsim::cpu {

class AnalogLayer final : public GroupProduct {
public:
    AnalogLayer(const Tensor& weights, const AnalogLayerPlan& plan);
    // Programs chip instance `trial` (programming error, drift, compensation) for every group.
    void program(const analog::DeviceParams& device, uint64_t seed, uint32_t trial);
    void multiply(int64_t group, const float* cols, int64_t m, float* out, uint64_t first_column) override;
    bool takes_double_columns() const override;
    void multiply_double(int64_t group, const double* cols, int64_t m, float* out, uint64_t first_column) override;
    bool takes_conv_columns() const override;
    void multiply_conv(int64_t group, const analog::ConvColumns& cols, float* out, uint64_t first_column) override;
    void fill_conv_columns(const analog::ConvInput& x, analog::ConvColumns& cols) const override;  // the DAC fused into the padding copy
    const float* transform_input(const Tensor& x) override;  // the DAC

private:
    const AnalogLayerPlan& plan_;
    std::vector<analog::AnalogMatrix> matrices_;
    analog::InputSpec input_;
    std::vector<analog::AdcSpec> group_adcs_;  // per Conv group
    std::vector<float> quantized_;  // the layer input after the DAC
};

}  // namespace xbarsim::cpu
