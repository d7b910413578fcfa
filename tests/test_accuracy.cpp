// Full test-set accuracy of every bundled model through the whole pipeline (dataset reader,
// model preprocessing, ONNX import, CPU engine). The correct-prediction counts must equal those
// of the independent NumPy reference (models/reference_accuracy.json, tools/keras_h5_to_onnx.py)
// up to float32 rounding on near-tied images, and lie within 0.3 % of CrossSim's published float
// baselines. This is the slowest test (about two minutes on two cores).
#include <nlohmann/json.hpp>

#include <fstream>

#include "test_util.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::test {
namespace {

struct AccuracyCase {
    std::string stem;
    std::string data;
    double published_top1;  // CrossSim's float baseline, percent
};

std::ostream& operator<<(std::ostream& os, const AccuracyCase& c) { return os << c.stem; }

class FullTestSet : public ::testing::TestWithParam<AccuracyCase> {};

TEST_P(FullTestSet, MatchesReferenceAndPublishedAccuracy) {
    const auto& c = GetParam();
    std::ifstream in(repo("models/reference_accuracy.json"));
    const auto ref = nlohmann::json::parse(in);
    ASSERT_TRUE(ref["models"].contains(c.stem)) << c.stem;
    const int64_t ref_correct = ref["models"][c.stem]["correct"];

    const Graph g = load_onnx(repo("models/" + c.stem + ".onnx"));
    auto ds = open_dataset(repo(c.data));
    auto backend = make_backend("cpu");
    backend->load(g);
    EvalOptions opt;
    opt.batch = 100;
    opt.progress = false;
    const EvalResult r = evaluate(g, *backend, *ds, resolve_preprocess(g, ds->info()), opt);
    EXPECT_EQ(r.images, 10000);
    EXPECT_NEAR(static_cast<double>(r.top1_correct), static_cast<double>(ref_correct), 2.0);
    EXPECT_NEAR(100.0 * r.top1(), c.published_top1, 0.3);
    EXPECT_GE(r.top5(), r.top1());
}

INSTANTIATE_TEST_SUITE_P(Bundled, FullTestSet,
                         ::testing::Values(AccuracyCase{"mnist_cnn6", "data/mnist-test", 98.6},
                                           AccuracyCase{"mnist_cnn6_v2", "data/mnist-test", 98.8},
                                           AccuracyCase{"resnet14v1_cifar10", "data/cifar10-test", 90.7},
                                           AccuracyCase{"resnet20v1_cifar10", "data/cifar10-test", 91.3},
                                           AccuracyCase{"resnet32v1_cifar10", "data/cifar10-test", 91.9},
                                           AccuracyCase{"resnet56v1_cifar10", "data/cifar10-test", 92.3}),
                         [](const ::testing::TestParamInfo<AccuracyCase>& p) { return p.param.stem; });

}  // namespace
}  // namespace xbarsim::test

namespace xbarsim::test {
namespace {

// ARCHITECTURE's sanity target: differential 8-bit weights, 8-bit inputs, ideal devices, 8-bit
// calibrated ADC per 1152-row array stay within 1 % of the digital network (ResNet-20, full
// CIFAR-10 test set, ranges calibrated on 500 training images).
TEST(AnalogAccuracy, Resnet20IdealEightBitWithinOnePercentOfDigital) {
    const Graph g = load_onnx(repo("models/resnet20v1_cifar10.onnx"));
    const Config config = load_config(repo("configs/ideal.yaml"));
    ASSERT_TRUE(config.analog.enabled);
    ASSERT_EQ(config.analog.defaults.mapping.array_rows, 1152);
    AnalogPlan plan = make_analog_plan(g, config.analog, 1);
    auto calib = open_dataset(repo("data/cifar10-calib"));
    CalibrationOptions co;
    co.images = 500;
    co.progress = false;
    calibrate(g, plan, *calib, resolve_preprocess(g, calib->info()), co);
    auto ds = open_dataset(repo("data/cifar10-test"));
    auto backend = make_backend("cpu");
    backend->load(g, &plan);
    backend->program(0);
    EvalOptions opt;
    opt.batch = 100;
    opt.progress = false;
    const EvalResult r = evaluate(g, *backend, *ds, resolve_preprocess(g, ds->info()), opt);
    EXPECT_EQ(r.images, 10000);
    EXPECT_NEAR(100.0 * r.top1(), 91.30, 1.0);  // digital: 91.30 % (FullTestSet above)
}

}  // namespace
}  // namespace xbarsim::test
