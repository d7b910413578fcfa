#pragma once
// The analog configurations of the analog-core tests on a small Conv (groups, several row and
// column blocks) + Linear network, shared by the backend comparisons (CUDA against CPU, the CPU's
// in-place convolution against its im2col path).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "graph_builder.hpp"
#include "test_util.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/tensor.hpp"

// In their own namespace: other test files have helpers of the same names.
namespace xbarsim::test::analog_net {

// input [2, 24, 7, 7] -> Conv(16, 3x3, pad 1, groups 2; K = 108 per group) -> Relu -> Flatten ->
// Linear(10; K = 784). With 40-row, 5-column arrays both layers span several row and column blocks.
inline Graph small_network() {
    return GraphBuilder({2, 24, 7, 7}).conv(16, 3, 2, "conv", true).relu("relu").flatten("flatten").linear(10, "fc", true).build();
}

// An input batch for small_network(): normal values (σ 0.6, so that DACs clip some), seeded.
inline Tensor random_input(int64_t batch, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.6f);
    Tensor x({batch, 24, 7, 7});
    for (auto& v : x.data) v = d(rng);
    return x;
}

inline Config config_from_yaml(const std::string& yaml) {
    TempDir dir;
    const std::string path = dir.file("c.yaml");
    std::ofstream(path) << "name: t\nrun: {seed: 5}\n" << yaml;
    return load_config(path);
}

struct AnalogCase {
    std::string name;
    std::string yaml;
    bool exact;  // no ADC: outputs must agree to float rounding (same draws, same arithmetic)
};
inline std::ostream& operator<<(std::ostream& os, const AnalogCase& c) { return os << c.name; }

inline const char* kBase = "analog:\n  enabled: true\n  array: {rows: 40, cols: 5}\n";

inline std::vector<AnalogCase> analog_cases() {
    const std::string in = "  input: {bits: 8, range: 2.0, sign: signed";
    const std::string adc8 = "  adc: {bits: 8, range: 6.0";
    std::vector<AnalogCase> c = {
        {"IdealDifferential", "  mapping: differential\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\n", false},
        {"IdealOffset", "  mapping: offset\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\n", false},
        {"SlicedDifferential", "  mapping: differential\n  weight_bits: 8\n  slices: 4\n" + in + "}\n" + adc8 + "}\n", false},
        {"SlicedOffset", "  mapping: offset\n  weight_bits: 8\n  slices: 2\n" + in + "}\n" + adc8 + "}\n", false},
        {"BitSerial", "  mapping: differential\n  weight_bits: 8\n" + in + ", slice_bits: 2}\n" + adc8 + "}\n", false},
        {"BitSerialSlicedOffset", "  mapping: offset\n  weight_bits: 6\n  slices: 3\n" + in + ", slice_bits: 3}\n" + adc8 + "}\n", false},
        {"AsymmetricAdc", "  mapping: offset\n  weight_bits: 8\n" + in + "}\n" + adc8 + ", symmetric: false}\n", false},
        {"StochasticAdc", "  mapping: differential\n  weight_bits: 8\n" + in + "}\n" + adc8 + ", stochastic_rounding: true}\n", false},
        {"SeparateDifferential", "  mapping: differential\n  differential_readout: separate\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\n", false},
        {"PerColumnWeightScale", "  mapping: differential\n  weight_scaling: column\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\n", false},
        // The configurations above without ADC: their array outputs must agree to float rounding.
        {"SlicedDifferentialNoAdc", "  mapping: differential\n  weight_bits: 8\n  slices: 4\n" + in + "}\n  adc: {bits: 0}\n", true},
        {"BitSerialNoAdc", "  mapping: differential\n  weight_bits: 8\n" + in + ", slice_bits: 2}\n  adc: {bits: 0}\n", true},
        {"SeparateDifferentialNoAdc", "  mapping: differential\n  differential_readout: separate\n  weight_bits: 8\n" + in + "}\n  adc: {bits: 0}\n", true},
        {"PerColumnWeightScaleNoAdc", "  mapping: differential\n  weight_scaling: column\n  weight_bits: 8\n" + in + "}\n  adc: {bits: 0}\n", true},
        {"NoAdcContinuousWeights", "  mapping: differential\n  weight_bits: 0\n" + in + "}\n  adc: {bits: 0}\n", true},
        {"NoAdcSlicedOffsetBitSerial", "  mapping: offset\n  weight_bits: 8\n  slices: 4\n" + in + ", slice_bits: 1}\n  adc: {bits: 0}\n", true},
        {"ReadNoiseLumped",
         "  mapping: differential\n  weight_bits: 8\n" + in + "}\n  adc: {bits: 0}\ndevice:\n  model: generic\n"
         "  programming: {enabled: true, alpha: 0.02}\n  read_noise: {enabled: true, alpha: 0.03}\n", true},
        {"ReadNoisePerCell",
         "  mapping: offset\n  weight_bits: 8\n  read_noise_mode: per_cell\n" + in + "}\n  adc: {bits: 0}\ndevice:\n  model: generic\n"
         "  read_noise: {enabled: true, alpha: 0.03}\n", true},
        {"ReadNoiseSeparatePairsBitSerial",
         "  mapping: differential\n  differential_readout: separate\n  weight_bits: 8\n  slices: 2\n" + in +
             ", slice_bits: 4}\n  adc: {bits: 0}\ndevice:\n  model: generic\n  read_noise: {enabled: true, alpha: 0.03}\n", true},
        {"PcmDriftCompensation",
         "  mapping: differential\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\ndevice:\n  model: pcm\n"
         "  programming: {enabled: true}\n  drift: {enabled: true, time: 86400, compensation: true}\n", false},
        {"PcmDriftNoAdc",
         "  mapping: differential\n  weight_bits: 8\n" + in + "}\n  adc: {bits: 0}\ndevice:\n  model: pcm\n"
         "  programming: {enabled: true}\n  drift: {enabled: true, time: 3600, compensation: true}\n", true},
        // Offset zero point subtracted in analog by reference columns (noisy and drifting like the
        // weight cells), and bit-serial input slices accumulated in analog before one conversion.
        {"ReferenceColumn", "  mapping: offset\n  offset_reference: column\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\n", false},
        {"ReferenceColumnSlicedNoAdc", "  mapping: offset\n  offset_reference: column\n  weight_bits: 8\n  slices: 2\n" + in +
             "}\n  adc: {bits: 0}\n", true},
        {"ReferenceColumnReadNoiseDrift",
         "  mapping: offset\n  offset_reference: column\n  weight_bits: 8\n" + in + "}\n  adc: {bits: 0}\ndevice:\n  model: pcm\n"
         "  programming: {enabled: true}\n  read_noise: {enabled: true, alpha: 0.02}\n  drift: {enabled: true, time: 3600, compensation: true}\n", true},
        {"ReferenceColumnPerCellNoiseBitSerial",
         "  mapping: offset\n  offset_reference: column\n  weight_bits: 8\n  read_noise_mode: per_cell\n" + in +
             ", slice_bits: 4}\n  adc: {bits: 0}\ndevice:\n  model: generic\n  read_noise: {enabled: true, alpha: 0.03}\n", true},
        {"AnalogAccumulation", "  mapping: differential\n  weight_bits: 8\n" + in + ", slice_bits: 2, accumulation: analog}\n" + adc8 + "}\n",
         false},
        {"AnalogAccumulationSlicedOffsetStochastic",
         "  mapping: offset\n  weight_bits: 6\n  slices: 3\n" + in + ", slice_bits: 3, accumulation: analog}\n" + adc8 +
             ", stochastic_rounding: true}\n", false},
        {"AnalogAccumulationReadNoiseSeparatePairsNoAdc",
         "  mapping: differential\n  differential_readout: separate\n  weight_bits: 8\n" + in +
             ", slice_bits: 2, accumulation: analog}\n  adc: {bits: 0}\ndevice:\n  model: generic\n"
             "  read_noise: {enabled: true, alpha: 0.03}\n", true},
        {"AnalogAccumulationReferenceColumnReadNoise",
         "  mapping: offset\n  offset_reference: column\n  weight_bits: 8\n" + in + ", slice_bits: 4, accumulation: analog}\n" +
             adc8 + "}\ndevice:\n  model: generic\n  programming: {enabled: true, alpha: 0.02}\n  read_noise: {enabled: true, alpha: 0.03}\n",
         false},
        {"Rram", "  mapping: differential\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\ndevice:\n  model: rram_wan2022\n  programming: {enabled: true}\n", false},
        {"Sonos",
         "  mapping: differential\n  weight_bits: 8\n" + in + "}\n" + adc8 + "}\ndevice:\n  model: sonos\n"
         "  programming: {enabled: true}\n  read_noise: {enabled: true}\n", false},
    };
    for (auto& x : c) x.yaml = kBase + x.yaml;
    return c;
}

// Fraction of outputs differing by more than `tol` x the output scale, and the largest difference
// relative to that scale.
inline std::pair<double, double> disagreement(const Tensor& got, const Tensor& want, double tol) {
    double scale = 1e-30, worst = 0.0;
    for (float v : want.data) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    int64_t off = 0;
    for (size_t i = 0; i < want.data.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got.data[i]) - want.data[i]);
        if (!(d <= tol * scale)) ++off;
        worst = std::max(worst, d / scale);
    }
    return {static_cast<double>(off) / static_cast<double>(want.data.size()), worst};
}

// The first few elements that differ, as "index: gpu vs cpu", for the failure message.
inline std::string first_differences(const Tensor& got, const Tensor& want) {
    std::string out;
    int shown = 0;
    for (size_t i = 0; i < want.data.size() && shown < 6; ++i)
        if (got.data[i] != want.data[i]) {
            out += "\n  " + std::to_string(i) + ": got " + std::to_string(got.data[i]) + " want " + std::to_string(want.data[i]);
            ++shown;
        }
    return out;
}

}  // namespace xbarsim::test::analog_net
