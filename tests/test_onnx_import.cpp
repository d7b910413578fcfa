// Importer behaviour: BatchNorm folding, Linear normalization, and a clear error for every kind of
// bad model (tests/fixtures/bad, made by tools/make_op_fixtures.py).
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::test {
namespace {

std::string import_error(const std::string& path) {
    try {
        load_onnx(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// A gzip-compressed model loads as the same graph; a truncated one fails with a clear message.
TEST(OnnxImport, ReadsGzipCompressedModels) {
    TempDir dir;
    const std::string plain = repo("models/mnist_cnn6.onnx"), gz = dir.file("m.onnx.gz");
    ASSERT_EQ(std::system(("gzip -c " + plain + " > " + gz).c_str()), 0);
    const Graph a = load_onnx(plain), b = load_onnx(gz);
    ASSERT_EQ(a.nodes.size(), b.nodes.size());
    for (size_t i = 0; i < a.values.size(); ++i) EXPECT_EQ(a.values[i].data.data, b.values[i].data.data);
    std::ifstream in(gz, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir.file("cut.onnx.gz"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    try {
        load_onnx(dir.file("cut.onnx.gz"));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cut.onnx.gz"), std::string::npos) << e.what();
    }
}

TEST(OnnxImport, FoldsBatchNormIntoConvAndGemm) {
    for (const char* name : {"conv_bn", "gemm_bn", "conv_nobias_bn_relu"}) {
        const Graph g = load_onnx(repo(std::string("tests/fixtures/ops/") + name + ".onnx"));
        int bn = 0, folded = 0;
        for (const auto& n : g.nodes) {
            bn += n.op == OpType::BatchNorm;
            folded += static_cast<int>(n.folded.size());
        }
        EXPECT_EQ(bn, 0) << name;
        EXPECT_EQ(folded, 1) << name;
    }
}

TEST(OnnxImport, KeepsBatchNormThatCannotBeFolded) {
    for (const char* name : {"add_bn_standalone", "bn_at_input", "bn_then_conv"}) {
        const Graph g = load_onnx(repo(std::string("tests/fixtures/ops/") + name + ".onnx"));
        EXPECT_TRUE(std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op == OpType::BatchNorm; }))
            << name;
    }
}

TEST(OnnxImport, FoldingDoesNotChangeTheResult) {
    const std::string base = repo("tests/fixtures/ops/conv_bn");
    ImportOptions no_fold;
    no_fold.fold_batchnorm = false;
    const Graph folded = load_onnx(base + ".onnx"), unfolded = load_onnx(base + ".onnx", no_fold);
    const Tensor x = load_tensor(base + ".in0.npy");
    auto a = make_backend("cpu"), b = make_backend("cpu");
    a->load(folded);
    b->load(unfolded);
    EXPECT_TRUE(close(a->forward(x).at(0), b->forward(x).at(0), 1e-5));
}

TEST(OnnxImport, ResNetBecomesConvAndLinearLayersWithFoldedBatchNorm) {
    const Graph g = load_onnx(repo("models/resnet20v1_cifar10.onnx"));
    int conv = 0, linear = 0, bn = 0;
    for (const auto& n : g.nodes) {
        conv += n.op == OpType::Conv;
        linear += n.op == OpType::Linear;
        bn += n.op == OpType::BatchNorm;
    }
    EXPECT_EQ(conv, 21);  // 19 3x3 convs + 2 strided 1x1 shortcuts
    EXPECT_EQ(linear, 1);
    EXPECT_EQ(bn, 0);
    EXPECT_EQ(g.input_shape(), (Shape{1, 3, 32, 32}));
    EXPECT_EQ(g.value(g.outputs.at(0)).shape, (Shape{1, 10}));
}

// MACs per image of the Conv2D+Dense layers, as listed for each model in the README of the
// shared data set (computed there from the Keras layer tables, independently of xbarsim).
TEST(OnnxImport, MacsMatchPublishedLayerTables) {
    const std::vector<std::pair<std::string, int64_t>> expected = {
        {"mnist_cnn6", 240728},           {"mnist_cnn6_v2", 298528},
        {"resnet14v1_cifar10", 26657408}, {"resnet20v1_cifar10", 40813184},
        {"resnet32v1_cifar10", 69124736}, {"resnet56v1_cifar10", 125747840}};
    for (const auto& [name, macs] : expected) {
        const Graph g = load_onnx(repo("models/" + name + ".onnx"));
        int64_t total = 0;
        for (const auto& n : g.nodes) total += layer_stats(g, n).macs;
        EXPECT_EQ(total, macs) << name;
    }
}

TEST(OnnxImportErrors, UnsupportedOpNamesOpAndNode) {
    const auto msg = import_error(repo("tests/fixtures/bad/unsupported_op.onnx"));
    EXPECT_NE(msg.find("unsupported op 'Resize'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("my_resize"), std::string::npos) << msg;
}

TEST(OnnxImportErrors, UnsupportedAttributeNamesAttribute) {
    auto msg = import_error(repo("tests/fixtures/bad/unsupported_attribute.onnx"));
    EXPECT_NE(msg.find("conv3d_node"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(Conv)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("attribute 'kernel_shape'"), std::string::npos) << msg;
    msg = import_error(repo("tests/fixtures/bad/pad_wrap_mode.onnx"));
    EXPECT_NE(msg.find("pad_wrap_node"), std::string::npos) << msg;
    EXPECT_NE(msg.find("attribute 'mode' value 'wrap'"), std::string::npos) << msg;
}

TEST(OnnxImportErrors, OpsetOutsideRange) {
    EXPECT_NE(import_error(repo("tests/fixtures/bad/bad_opset.onnx")).find("opset 9 is not supported"), std::string::npos);
    EXPECT_NE(import_error(repo("tests/fixtures/bad/bad_opset18.onnx")).find("opset 18 is not supported"), std::string::npos);
}

TEST(OnnxImportErrors, NotOnnxAndTruncatedFiles) {
    const std::string garbage = repo("tests/fixtures/bad/not_onnx.onnx");
    auto msg = import_error(garbage);
    EXPECT_NE(msg.find(garbage), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a valid ONNX model"), std::string::npos) << msg;

    // A real model cut in half (as an interrupted copy would leave it).
    std::ifstream in(repo("models/resnet20v1_cifar10.onnx"), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    TempDir dir;
    const std::string cut = dir.file("truncated.onnx");
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    msg = import_error(cut);
    EXPECT_NE(msg.find("truncated.onnx"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a valid ONNX model"), std::string::npos) << msg;

    const std::string empty = dir.file("empty.onnx");
    std::ofstream(empty).close();
    EXPECT_NE(import_error(empty).find("empty"), std::string::npos);
}

TEST(OnnxImportErrors, MissingFileAndExternalData) {
    auto msg = import_error("/nonexistent/model.onnx");
    EXPECT_NE(msg.find("/nonexistent/model.onnx: cannot open"), std::string::npos) << msg;
    msg = import_error(repo("tests/fixtures/bad/external_data.onnx"));
    EXPECT_NE(msg.find("W_external"), std::string::npos) << msg;
    EXPECT_NE(msg.find("external data"), std::string::npos) << msg;
}

// Values no trained network holds: each is an error naming the file and the node or tensor, at
// import (before any run), never a crash, a wrapped size or a run on garbage.
TEST(OnnxImportErrors, ValuesNoTrainedNetworkHolds) {
    const struct {
        const char* file;
        std::vector<std::string> names;  // every one must appear in the message
    } cases[] = {
        {"zero_units.onnx", {"gemm_zero", "would be empty"}},
        {"duplicate_output.onnx", {"relu_second", "'y' is already produced"}},
        {"nan_weight.onnx", {"conv_nan", "'Wn' holds NaN", "element 17"}},
        {"negative_variance.onnx", {"bn_neg", "channel 1"}},
        {"huge_dims.onnx", {"huge_dims", "more than 2^40 elements"}},
        {"transpose_repeated_axis.onnx", {"transpose_rep", "axis 1 twice"}},
        {"pool_pads_too_wide.onnx", {"pool_wide", "smaller than the kernel"}},
        {"softmax_bad_axis.onnx", {"softmax_axis5", "axis 5"}},
        {"non_utf8_name.onnx", {"node 0 (Relu)", "not valid UTF-8"}},
    };
    for (const auto& c : cases) {
        const std::string path = repo(std::string("tests/fixtures/bad/") + c.file);
        const auto msg = import_error(path);
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        for (const auto& n : c.names) EXPECT_NE(msg.find(n), std::string::npos) << c.file << ": " << msg;
    }
}

}  // namespace
}  // namespace xbarsim::test
