// The CUDA analog layer against the CPU AnalogMatrix (the reference semantics): every analog
// configuration of the analog-core tests on a small Conv (groups, several row and column blocks)
// + Linear network, the same seed giving the same noise draws, and ResNet-20 under
// configs/pcm.yaml agreeing with the CPU on >= 99.9 % of predictions. GPU tests skip themselves
// where no CUDA device is present.
#include <fstream>
#include <random>

#include "gpu_test_util.hpp"
#include "graph_builder.hpp"
#include "test_util.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/cuda_info.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::test {
namespace {

// input [2, 24, 7, 7] -> Conv(16, 3x3, pad 1, groups 2; K = 108 per group) -> Relu -> Flatten ->
// Linear(10; K = 784). With 40-row, 5-column arrays both layers span several row and column blocks.
Graph small_network() {
    return GraphBuilder({2, 24, 7, 7}).conv(16, 3, 2, "conv", true).relu("relu").flatten("flatten").linear(10, "fc", true).build();
}

// An input batch for small_network(): normal values (σ 0.6, so that DACs clip some), seeded.
Tensor random_input(int64_t batch, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.6f);
    Tensor x({batch, 24, 7, 7});
    for (auto& v : x.data) v = d(rng);
    return x;
}

Config config_from_yaml(const std::string& yaml) {
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
std::ostream& operator<<(std::ostream& os, const AnalogCase& c) { return os << c.name; }

const char* kBase = "analog:\n  enabled: true\n  array: {rows: 40, cols: 5}\n";

std::vector<AnalogCase> analog_cases() {
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

class CudaAnalog : public ::testing::TestWithParam<AnalogCase> {};

// Fraction of outputs differing by more than `tol` x the output scale, and the largest difference
// relative to that scale.
std::pair<double, double> disagreement(const Tensor& got, const Tensor& want, double tol) {
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
std::string first_differences(const Tensor& got, const Tensor& want) {
    std::string out;
    int shown = 0;
    for (size_t i = 0; i < want.data.size() && shown < 6; ++i)
        if (got.data[i] != want.data[i]) {
            out += "\n  " + std::to_string(i) + ": gpu " + std::to_string(got.data[i]) + " cpu " + std::to_string(want.data[i]);
            ++shown;
        }
    return out;
}

TEST_P(CudaAnalog, MatchesCpuAnalogMatrix) {
    REQUIRE_GPU();
    const Graph g = small_network();
    const Config config = config_from_yaml(GetParam().yaml);
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    ASSERT_EQ(plan.layers.size(), 2u);
    ASSERT_FALSE(plan.needs_calibration());
    const Tensor x = random_input(2, 3);
    auto cpu = make_backend("cpu");
    auto gpu = make_backend("cuda");
    cpu->load(g, &plan);
    gpu->load(g, &plan);
    for (uint32_t trial : {0u, 3u}) {
        cpu->program(trial);
        gpu->program(trial);
        // Two batches: read-noise draws follow the sample index across forward passes.
        for (int pass = 0; pass < 2; ++pass) {
            const int conv_out = g.nodes[0].output;
            const auto want = cpu->forward(std::vector<Tensor>{x}, {conv_out});
            const auto got = gpu->forward(std::vector<Tensor>{x}, {conv_out});
            ASSERT_EQ(want.size(), got.size());
            for (size_t i = 0; i < want.size(); ++i) {
                SCOPED_TRACE("trial " + std::to_string(trial) + " pass " + std::to_string(pass) + " output " + std::to_string(i));
                if (GetParam().exact) {
                    EXPECT_TRUE(close(got[i], want[i], 2e-4)) << first_differences(got[i], want[i]);
                } else {
                    // Both backends sum the arrays in double and round to float once, so the ADC sees
                    // the same values and decides the same way, even for ideal devices, whose outputs
                    // often lie exactly on a decision boundary. A difference would need a sum within
                    // ~1e-16 of a float rounding point: allow it, but only as a rare exception.
                    const auto [fraction, worst] = disagreement(got[i], want[i], 1e-4);
                    EXPECT_LE(fraction, 0.01) << "worst " << worst << first_differences(got[i], want[i]);
                }
            }
        }
    }
}

// Runs everywhere: every configuration of the GPU comparison parses, needs no calibration and
// runs on the CPU, so a GPU machine meets no harness errors.
TEST(CudaAnalogHarness, EveryConfigurationRunsOnTheCpu) {
    const Graph g = small_network();
    Tensor x({2, 24, 7, 7});
    for (const auto& c : analog_cases()) {
        SCOPED_TRACE(c.name);
        const Config config = config_from_yaml(c.yaml);
        AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
        ASSERT_EQ(plan.layers.size(), 2u);
        EXPECT_FALSE(plan.needs_calibration());
        auto cpu = make_backend("cpu");
        cpu->load(g, &plan);
        cpu->program(0);
        EXPECT_EQ(cpu->forward(x).at(0).shape, (Shape{2, 10}));
    }
}

INSTANTIATE_TEST_SUITE_P(EveryConfiguration, CudaAnalog, ::testing::ValuesIn(analog_cases()),
                         [](const ::testing::TestParamInfo<AnalogCase>& p) { return p.param.name; });

// Same seed => same draws: with read noise and no ADC both backends agree to rounding, while a
// different chip instance (trial) gives clearly different outputs, so the noise is really there.
TEST(CudaAnalogNoise, SameSeedSameDrawsOtherTrialOtherDraws) {
    REQUIRE_GPU();
    const Graph g = small_network();
    const Config config = config_from_yaml(std::string(kBase) +
                                           "  mapping: differential\n  weight_bits: 8\n  input: {bits: 8, range: 2.0, sign: signed}\n"
                                           "  adc: {bits: 0}\ndevice:\n  model: generic\n  programming: {enabled: true, alpha: 0.05}\n"
                                           "  read_noise: {enabled: true, alpha: 0.05}\n");
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    const Tensor x = random_input(2, 9);
    auto cpu = make_backend("cpu");
    auto gpu = make_backend("cuda");
    cpu->load(g, &plan);
    gpu->load(g, &plan);
    cpu->program(1);
    gpu->program(1);
    const Tensor want = cpu->forward(x).at(0);
    const Tensor got = gpu->forward(x).at(0);
    EXPECT_TRUE(close(got, want, 2e-4));
    gpu->program(2);
    const Tensor other = gpu->forward(x).at(0);
    EXPECT_FALSE(close(other, want, 1e-2));
}

// Several chip instances side by side (one pass over chips x samples) give, chip by chip, what
// programming each chip alone gives: programming error, drift, read noise and stochastic ADC
// rounding all follow the chip's trial, and read noise the sample index across passes.
TEST(CudaChips, SideBySideEqualsOneAtATime) {
    REQUIRE_GPU();
    const Graph g = small_network();
    const Config config = config_from_yaml(
        std::string(kBase) +
        "  mapping: differential\n  weight_bits: 8\n  slices: 2\n  input: {bits: 8, range: 2.0, sign: signed, slice_bits: 4}\n"
        "  adc: {bits: 8, range: 6.0, stochastic_rounding: true}\ndevice:\n  model: pcm\n  programming: {enabled: true}\n"
        "  read_noise: {enabled: true, alpha: 0.03}\n  drift: {enabled: true, time: 86400, compensation: true}\n");
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    const Tensor x = random_input(2, 11);
    auto gpu = make_backend("cuda");
    gpu->load(g, &plan);
    ASSERT_GE(gpu->max_chips(), 3);
    const std::vector<uint32_t> trials{4, 0, 9};
    gpu->program_chips(trials);
    std::vector<Tensor> together;
    for (int pass = 0; pass < 2; ++pass) together.push_back(gpu->forward(x).at(0));
    ASSERT_EQ(together[0].dim(0), 6);
    for (size_t c = 0; c < trials.size(); ++c) {
        gpu->program(trials[c]);
        for (int pass = 0; pass < 2; ++pass) {
            SCOPED_TRACE("chip " + std::to_string(c) + " pass " + std::to_string(pass));
            const Tensor alone = gpu->forward(x).at(0);
            const int64_t per = alone.size();
            const Tensor rows(alone.shape, std::vector<float>(together[pass].data.begin() + static_cast<int64_t>(c) * per,
                                                              together[pass].data.begin() + static_cast<int64_t>(c + 1) * per));
            EXPECT_TRUE(close(rows, alone, 1e-6)) << first_differences(rows, alone);
        }
    }
    // Chips differ from each other (the comparison above is not vacuous).
    EXPECT_NE(std::vector<float>(together[0].data.begin(), together[0].data.begin() + 20),
              std::vector<float>(together[0].data.begin() + 20, together[0].data.begin() + 40));
}

// Pipelined passes (submit, submit, collect, collect: the second batch's copy to the device
// overlapping the first's compute) give what forward() gives pass by pass, read-noise draws
// following the sample index in submission order.
TEST(CudaPipeline, SubmittedPassesEqualForwardPasses) {
    REQUIRE_GPU();
    const Graph g = small_network();
    const Config config = config_from_yaml(std::string(kBase) +
                                           "  mapping: offset\n  weight_bits: 8\n  input: {bits: 8, range: 2.0, sign: signed}\n"
                                           "  adc: {bits: 8, range: 6.0}\ndevice:\n  model: generic\n"
                                           "  programming: {enabled: true, alpha: 0.02}\n  read_noise: {enabled: true, alpha: 0.05}\n");
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    const std::vector<Tensor> batches{random_input(2, 5), random_input(3, 6), random_input(2, 7)};
    auto gpu = make_backend("cuda");
    gpu->load(g, &plan);
    gpu->program(1);
    std::vector<Tensor> want;
    for (const Tensor& x : batches) want.push_back(gpu->forward(x).at(0));
    gpu->program(1);
    std::vector<Tensor> got;
    gpu->submit({batches[0]});
    gpu->submit({batches[1]});
    got.push_back(gpu->collect().at(0));
    gpu->submit({batches[2]});
    got.push_back(gpu->collect().at(0));
    got.push_back(gpu->collect().at(0));
    EXPECT_THROW(gpu->collect(), Error);
    for (size_t i = 0; i < batches.size(); ++i) {
        SCOPED_TRACE("batch " + std::to_string(i));
        EXPECT_TRUE(close(got[i], want[i], 0.0)) << first_differences(got[i], want[i]);
    }
}

// ResNet-20 on CIFAR-10 under configs/pcm.yaml (ranges calibrated on the CPU): per-image
// predictions of both backends agree on >= 99.9 % of the 10,000 test images.
TEST(CudaAnalogNetwork, Resnet20PcmPredictionsAgreeWithCpu) {
    REQUIRE_GPU();
    const Graph g = load_onnx(repo("models/resnet20v1_cifar10.onnx"));
    const Config config = load_config(repo("configs/pcm.yaml"));
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    auto calib = open_dataset(repo("data/cifar10-calib"));
    CalibrationOptions co;
    co.images = 200;
    co.progress = false;
    calibrate(g, plan, *calib, resolve_preprocess(g, calib->info()), co);
    auto ds = open_dataset(repo("data/cifar10-test"));
    const PreprocessSpec pre = resolve_preprocess(g, ds->info());
    EvalOptions opt;
    opt.images = 0;  // all
    opt.batch = 500;
    opt.progress = false;
    auto cpu = make_backend("cpu");
    auto gpu = make_backend("cuda");
    cpu->load(g, &plan);
    gpu->load(g, &plan);
    cpu->program(0);
    gpu->program(0);
    const EvalResult a = evaluate(g, *cpu, *ds, pre, opt);
    const EvalResult b = evaluate(g, *gpu, *ds, pre, opt);
    ASSERT_EQ(a.predictions.size(), b.predictions.size());
    int64_t same = 0;
    for (size_t i = 0; i < a.predictions.size(); ++i) same += a.predictions[i] == b.predictions[i];
    std::printf("%lld of %zu predictions agree; top-1 cpu %.4f, cuda %.4f\n", static_cast<long long>(same),
                a.predictions.size(), a.top1(), b.top1());
    EXPECT_GE(static_cast<double>(same), 0.999 * static_cast<double>(a.predictions.size()))
        << same << " of " << a.predictions.size() << " predictions agree; top-1 cpu " << a.top1() << ", cuda " << b.top1();
}

}  // namespace
}  // namespace xbarsim::test
