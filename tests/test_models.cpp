// The bundled CrossSim models, imported from ONNX and run by the CPU backend, against logits
// computed by an independent NumPy forward pass over the original Keras .h5 weights (NHWC, Keras
// semantics; tools/keras_h5_to_onnx.py). Also checks that dataset loading + the model's own
// preprocessing reproduce the reference inputs.
#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::test {
namespace {

struct ModelCase {
    std::string stem;
    std::string data;
};

std::ostream& operator<<(std::ostream& os, const ModelCase& c) { return os << c.stem; }

const std::vector<ModelCase> kModels = {
    {"mnist_cnn6", "data/mnist-test"},           {"mnist_cnn6_v2", "data/mnist-test"},
    {"resnet14v1_cifar10", "data/cifar10-test"}, {"resnet20v1_cifar10", "data/cifar10-test"},
    {"resnet32v1_cifar10", "data/cifar10-test"}, {"resnet56v1_cifar10", "data/cifar10-test"},
};

class BundledModel : public ::testing::TestWithParam<ModelCase> {};

TEST_P(BundledModel, LogitsMatchKerasReferenceWithin1e4) {
    const auto& c = GetParam();
    const Graph g = load_onnx(repo("models/" + c.stem + ".onnx"));
    const std::string fx = repo("tests/fixtures/models/" + c.stem);
    const Tensor input = load_tensor(fx + ".input.npy");
    const int logits = g.find_value("logits");
    ASSERT_GE(logits, 0);
    auto backend = make_backend("cpu");
    backend->load(g);
    const auto out = backend->forward(input, {logits});
    EXPECT_TRUE(close(out.at(1), load_tensor(fx + ".logits.npy"), 1e-4)) << "logits";
    EXPECT_TRUE(close(out.at(0), load_tensor(fx + ".probabilities.npy"), 1e-4)) << "probabilities";
}

TEST_P(BundledModel, DatasetAndModelPreprocessingGiveReferenceInputs) {
    const auto& c = GetParam();
    const Graph g = load_onnx(repo("models/" + c.stem + ".onnx"));
    auto ds = open_dataset(repo(c.data));
    const PreprocessSpec spec = resolve_preprocess(g, ds->info());
    EXPECT_NE(spec.source.find("model metadata"), std::string::npos);
    const Tensor want = load_tensor(repo("tests/fixtures/models/" + c.stem + ".input.npy"));
    const int64_t n = want.dim(0);
    Tensor got(want.shape);
    std::vector<int32_t> labels(static_cast<size_t>(n));
    ds->read(0, n, got.ptr(), labels.data());
    Preprocessor(spec, ds->info().sample_shape).apply(got.ptr(), n);
    // The reference divides by 255, we multiply by 1/255: one float32 rounding apart at most.
    EXPECT_TRUE(close(got, want, 1e-6));
    const auto ref_labels = read_npy(repo("tests/fixtures/models/" + c.stem + ".labels.npy")).to_int64();
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(labels[static_cast<size_t>(i)], ref_labels[static_cast<size_t>(i)]);
}

INSTANTIATE_TEST_SUITE_P(Crosssim, BundledModel, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<ModelCase>& p) { return p.param.stem; });

}  // namespace
}  // namespace xbarsim::test
