// Every supported ONNX op and attribute variant, run by the CPU backend and compared with outputs
// computed independently by PyTorch/NumPy (tests/fixtures/ops, made by tools/make_op_fixtures.py).
#include <fstream>
#include <sstream>

#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::test {
namespace {

struct OpCase {
    std::string name;
    int opset = 0;
    int inputs = 0;
    double tol = 0;
};

// gtest prints parameters in test names and failures: show the case name, not raw bytes.
std::ostream& operator<<(std::ostream& os, const OpCase& c) { return os << c.name; }

std::vector<OpCase> load_manifest() {
    std::vector<OpCase> cases;
    std::ifstream in(repo("tests/fixtures/ops/manifest.txt"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ss(line);
        OpCase c;
        ss >> c.name >> c.opset >> c.inputs >> c.tol;
        cases.push_back(c);
    }
    return cases;
}

class OnnxOp : public ::testing::TestWithParam<OpCase> {};

TEST_P(OnnxOp, MatchesIndependentReference) {
    const OpCase& c = GetParam();
    const std::string base = repo("tests/fixtures/ops/" + c.name);
    const Graph g = load_onnx(base + ".onnx");
    EXPECT_EQ(g.opset, c.opset);
    ASSERT_EQ(static_cast<int>(g.inputs.size()), c.inputs);
    std::vector<Tensor> inputs;
    for (int i = 0; i < c.inputs; ++i) inputs.push_back(load_tensor(base + ".in" + std::to_string(i) + ".npy"));
    auto backend = make_backend("cpu");
    backend->load(g);
    const auto out = backend->forward(inputs, {});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(close(out[0], load_tensor(base + ".out.npy"), c.tol));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OnnxOp, ::testing::ValuesIn(load_manifest()),
                         [](const ::testing::TestParamInfo<OpCase>& p) { return p.param.name; });

TEST(OnnxOpManifest, CoversEveryOpsetAndManyCases) {
    const auto cases = load_manifest();
    EXPECT_GE(cases.size(), 100u);
    for (int opset = 11; opset <= 17; ++opset)
        EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [&](const OpCase& c) { return c.opset == opset; })) << opset;
}

// Batch independence: the same samples give the same outputs whether run together or one by one.
TEST(OnnxOpBatch, NetworkResultDoesNotDependOnBatchSize) {
    const std::string base = repo("tests/fixtures/ops/net_small_cnn");
    const Graph g = load_onnx(base + ".onnx");
    const Tensor x = load_tensor(base + ".in0.npy");
    ASSERT_GE(x.dim(0), 2);
    auto backend = make_backend("cpu");
    backend->load(g);
    const Tensor all = backend->forward(x).at(0);
    const int64_t per = x.size() / x.dim(0), out_per = all.size() / all.dim(0);
    for (int64_t b = 0; b < x.dim(0); ++b) {
        Shape s = x.shape;
        s[0] = 1;
        Tensor one(s, std::vector<float>(x.data.begin() + b * per, x.data.begin() + (b + 1) * per));
        const Tensor y = backend->forward(one).at(0);
        Shape os = all.shape;
        os[0] = 1;
        Tensor want(os, std::vector<float>(all.data.begin() + b * out_per, all.data.begin() + (b + 1) * out_per));
        EXPECT_TRUE(close(y, want, 1e-6)) << "sample " << b;
    }
}

}  // namespace
}  // namespace xbarsim::test
