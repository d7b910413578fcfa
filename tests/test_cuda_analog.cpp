// The CUDA analog layer against the CPU AnalogMatrix (the reference semantics): every analog
// configuration of the analog-core tests on a small Conv (groups, several row and column blocks)
// + Linear network, the same seed giving the same noise draws, and ResNet-20 under
// configs/pcm.yaml agreeing with the CPU on >= 99.9 % of predictions. GPU tests skip themselves
// where no CUDA device is present.
#include <fstream>
#include <random>

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

bool have_gpu() { return !cuda_status().devices.empty(); }

#define REQUIRE_GPU() \
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device: " << cuda_status().note

// input [2, 24, 7, 7] -> Conv(16, 3x3, pad 1, groups 2; K = 108 per group) -> Relu -> Flatten ->
// Linear(10; K = 784). With 40-row, 5-column arrays both layers span several row and column blocks.
Graph small_network() {
    return GraphBuilder({2, 24, 7, 7}).conv(16, 3, 2, "conv", true).relu("relu").flatten("flatten").linear(10, "fc", true).build();
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

TEST_P(CudaAnalog, MatchesCpuAnalogMatrix) {
    REQUIRE_GPU();
    const Graph g = small_network();
    const Config config = config_from_yaml(GetParam().yaml);
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    ASSERT_EQ(plan.layers.size(), 2u);
    ASSERT_FALSE(plan.needs_calibration());
    std::mt19937 rng(3);
    std::normal_distribution<float> d(0.0f, 0.6f);
    Tensor x({2, 24, 7, 7});
    for (auto& v : x.data) v = d(rng);
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
                    EXPECT_TRUE(close(got[i], want[i], 2e-4));
                } else {
                    // cuBLAS and OpenBLAS sum in different orders, so an array output lying on an ADC
                    // decision boundary may convert one step apart: rare, and one step small.
                    const auto [fraction, worst] = disagreement(got[i], want[i], 1e-3);
                    EXPECT_LE(fraction, 0.03) << "worst " << worst;
                    EXPECT_LE(worst, 0.1);
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
    Tensor x({2, 24, 7, 7});
    std::mt19937 rng(9);
    std::normal_distribution<float> d(0.0f, 0.6f);
    for (auto& v : x.data) v = d(rng);
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

// ResNet-20 on CIFAR-10 under configs/pcm.yaml (ranges calibrated on the CPU): per-image
// predictions of both backends agree on >= 99.9 % of 2,000 test images.
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
    opt.images = 2000;
    opt.batch = 100;
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
    EXPECT_GE(static_cast<double>(same), 0.999 * static_cast<double>(a.predictions.size()))
        << same << " of " << a.predictions.size() << " predictions agree; top-1 cpu " << a.top1() << ", cuda " << b.top1();
}

}  // namespace
}  // namespace xbarsim::test
