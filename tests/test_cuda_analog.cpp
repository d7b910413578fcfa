// The CUDA analog layer against the CPU AnalogMatrix (the reference semantics): every analog
// configuration of the analog-core tests on a small Conv (groups, several row and column blocks)
// + Linear network, the same seed giving the same noise draws, and ResNet-20 under
// configs/pcm.yaml agreeing with the CPU on >= 99.9 % of predictions. GPU tests skip themselves
// where no CUDA device is present.
#include <fstream>
#include <random>

#include "analog_cases.hpp"
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

using namespace analog_net;

class CudaAnalog : public ::testing::TestWithParam<AnalogCase> {};

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
