// The CUDA backend against the CPU reference, ggml test-backend-ops style: every op over a sweep of
// shapes and attributes on random inputs, every ONNX op fixture, and whole networks. Tests that
// need a GPU skip themselves with GTEST_SKIP() where none is present (CI); the tests of what a
// machine without a GPU must do (clear errors, the auto fallback) run everywhere.
#include <fstream>
#include <random>
#include <sstream>

#include "gpu_test_util.hpp"
#include "op_graph.hpp"
#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/cuda_info.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::test {
namespace {

// Runs `g` on both backends (and an optional analog plan) and returns {cpu, cuda} outputs.
std::pair<std::vector<Tensor>, std::vector<Tensor>> run_both(const Graph& g, const std::vector<Tensor>& xs,
                                                             const AnalogPlan* plan = nullptr, uint32_t trial = 0) {
    auto cpu = make_backend("cpu");
    auto gpu = make_backend("cuda");
    cpu->load(g, plan);
    gpu->load(g, plan);
    if (plan) {
        cpu->program(trial);
        gpu->program(trial);
    }
    return {cpu->forward(xs, {}), gpu->forward(xs, {})};
}

void expect_same_op(OpGraph& og, double tol = 1e-5) {
    const auto xs = og.random_inputs();
    const auto [want, got] = run_both(og.g, xs);
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(close(got[i], want[i], tol)) << "output " << i;
}

// ------------------------------------------------------------------ without a GPU

TEST(CudaBackendAvailability, CudaWithoutDeviceIsAClearError) {
    if (have_gpu()) GTEST_SKIP() << "a CUDA device is present";
    const std::string msg = error_of([] { make_backend("cuda"); });
    // Either this build has no CUDA, or it has and sees no device: both say so.
    EXPECT_TRUE(msg.find("no CUDA device found") != std::string::npos || msg.find("built without CUDA") != std::string::npos)
        << msg;
}

TEST(CudaBackendAvailability, AutoFallsBackToCpuWithoutDevice) {
    if (have_gpu()) GTEST_SKIP() << "a CUDA device is present";
    EXPECT_EQ(make_backend("auto")->name(), "cpu");
}

TEST(CudaBackendAvailability, AutoPicksCudaWithDevice) {
    REQUIRE_GPU();
    EXPECT_EQ(make_backend("auto")->name(), "cuda");
}

TEST(CudaBackendAvailability, UnknownBackendListsTheChoices) {
    const std::string msg = error_of([] { make_backend("tpu"); });
    EXPECT_HAS(msg, "unknown backend 'tpu'");
    EXPECT_HAS(msg, "cpu, cuda, auto");
}

TEST(CudaBackendAvailability, CliRunWithCudaWithoutDeviceFailsCleanly) {
    if (have_gpu()) GTEST_SKIP() << "a CUDA device is present";
    const auto r = run_cli("run --model " + repo("models/mnist_cnn6.onnx") + " --data " + repo("data/mnist-test") +
                           " --images 10 --backend cuda --quiet");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_HAS(r.output, "xbarsim: error:");
    EXPECT_TRUE(r.output.find("no CUDA device found") != std::string::npos || r.output.find("built without CUDA") != std::string::npos)
        << r.output;
}

// Asked for by a config file, the same error names the file and the key.
TEST(CudaBackendAvailability, ConfigAskingForCudaWithoutDeviceNamesTheKey) {
    if (have_gpu()) GTEST_SKIP() << "a CUDA device is present";
    TempDir dir;
    std::ofstream(dir.file("c.yaml")) << "run:\n  backend: cuda\n";
    const auto r = run_cli("run --model " + repo("models/mnist_cnn6.onnx") + " --data " + repo("data/mnist-test") +
                           " --images 10 --quiet --config " + dir.file("c.yaml"));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_HAS(r.output, dir.file("c.yaml") + ": key 'run.backend': ");
}

TEST(CudaBackendAvailability, CliRunWithAutoUsesCpuWithoutDevice) {
    if (have_gpu()) GTEST_SKIP() << "a CUDA device is present";
    const auto r = run_cli("run --model " + repo("models/mnist_cnn6.onnx") + " --data " + repo("data/mnist-test") +
                           " --images 10 --backend auto --quiet");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_HAS(r.output, "backend   cpu");
}

// ------------------------------------------------------------------ every op, swept (GPU)

struct ConvCase {
    int64_t batch, channels, h, w, n_out, kernel, stride, pad, dilation, groups;
    bool bias, relu;
};

TEST(CudaOps, ConvSweep) {
    REQUIRE_GPU();
    const ConvCase cases[] = {
        {2, 3, 9, 9, 4, 3, 1, 1, 1, 1, true, false},  {2, 4, 8, 7, 6, 3, 2, 1, 1, 2, true, true},
        {1, 8, 6, 6, 8, 3, 1, 1, 1, 8, false, true},  {3, 5, 10, 10, 7, 1, 1, 0, 1, 1, true, true},
        {2, 3, 11, 9, 5, 5, 2, 2, 2, 1, true, false}, {2, 6, 7, 7, 6, 1, 2, 0, 1, 3, false, false},
        {4, 16, 12, 12, 32, 3, 1, 1, 1, 1, true, true}, {1, 2, 5, 5, 3, 2, 1, 0, 1, 1, true, false},
    };
    for (const auto& c : cases) {
        OpGraph og;
        const int x = og.input({c.batch, c.channels, c.h, c.w});
        NodeAttrs a;
        a.kernel = {c.kernel, c.kernel};
        a.strides = {c.stride, c.stride};
        a.pads = {c.pad, c.pad, c.pad, c.pad};
        a.dilations = {c.dilation, c.dilation};
        a.group = c.groups;
        std::vector<int> in{x, og.constant(og.random({c.n_out, c.channels / c.groups, c.kernel, c.kernel}))};
        if (c.bias) in.push_back(og.constant(og.random({c.n_out})));
        int y = og.node(OpType::Conv, in, a);
        if (c.relu) y = og.node(OpType::Relu, {y});
        og.output(y);
        SCOPED_TRACE("conv C=" + std::to_string(c.channels) + " k=" + std::to_string(c.kernel) + " s=" + std::to_string(c.stride) +
                     " g=" + std::to_string(c.groups));
        expect_same_op(og, 1e-5);
    }
}

TEST(CudaOps, LinearMatMulGemm) {
    REQUIRE_GPU();
    for (int64_t b : {1, 5, 33}) {
        OpGraph og;
        const int x = og.input({b, 70});
        const int y = og.node(OpType::Linear, {x, og.constant(og.random({19, 70})), og.constant(og.random({19}))});
        og.output(og.node(OpType::Relu, {y}));
        expect_same_op(og);
    }
    {
        OpGraph og;
        og.output(og.node(OpType::MatMul, {og.input({2, 3, 4, 5}), og.input({3, 5, 6})}));
        expect_same_op(og);
    }
    {
        OpGraph og;
        og.output(og.node(OpType::MatMul, {og.input({7}), og.input({7, 3})}));
        expect_same_op(og);
    }
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (int c_rank : {0, 1, 2}) {
                OpGraph og;
                NodeAttrs a;
                a.trans_a = ta;
                a.trans_b = tb;
                a.alpha = 0.7f;
                a.beta = 1.3f;
                const int A = og.input(ta ? Shape{6, 4} : Shape{4, 6});
                const int B = og.input(tb ? Shape{5, 6} : Shape{6, 5});
                std::vector<int> in{A, B};
                if (c_rank == 1) in.push_back(og.constant(og.random({5})));
                if (c_rank == 2) in.push_back(og.constant(og.random({4, 1})));
                og.output(og.node(OpType::Gemm, in, a));
                expect_same_op(og);
            }
}

TEST(CudaOps, BinaryBroadcastSweep) {
    REQUIRE_GPU();
    const std::pair<Shape, Shape> shapes[] = {
        {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {3, 1, 1}}, {{2, 3, 4, 5}, {5}}, {{1, 3, 1, 5}, {2, 1, 4, 1}},
        {{7}, {}},                    {{2, 1, 6}, {3, 1}},       {{4, 1}, {1, 4}},
    };
    for (OpType op : {OpType::Add, OpType::Sub, OpType::Mul, OpType::Div})
        for (const auto& [sa, sb] : shapes) {
            OpGraph og;
            const int a = og.input(sa);
            const int b = og.constant(og.random(sb, 0.5f, 2.0f));  // Div: no division by ~0
            og.output(og.node(op, {a, b}));
            SCOPED_TRACE(std::string(op_name(op)) + " " + shape_str(sa) + " " + shape_str(sb));
            expect_same_op(og);
        }
}

TEST(CudaOps, UnaryActivations) {
    REQUIRE_GPU();
    for (OpType op : {OpType::Relu, OpType::Clip, OpType::LeakyRelu, OpType::Sigmoid, OpType::HardSigmoid, OpType::HardSwish,
                      OpType::Tanh, OpType::Identity}) {
        OpGraph og;
        NodeAttrs a;
        a.min = -0.3f;
        a.max = 0.6f;
        a.slope = 0.1f;
        const int x = og.input({3, 4, 5, 6});
        og.output(og.node(op, {x}, a));
        SCOPED_TRACE(op_name(op));
        expect_same_op(og, 1e-6);
    }
}

TEST(CudaOps, PoolingSweep) {
    REQUIRE_GPU();
    struct PoolCase {
        OpType op;
        int64_t k, s, pad;
        bool ceil, include_pad;
    };
    const PoolCase cases[] = {
        {OpType::MaxPool, 2, 2, 0, false, false},    {OpType::MaxPool, 3, 2, 1, true, false},
        {OpType::AveragePool, 2, 2, 0, false, false}, {OpType::AveragePool, 3, 2, 1, true, true},
        {OpType::AveragePool, 3, 1, 1, false, false}, {OpType::AveragePool, 3, 2, 1, false, true},
    };
    for (const auto& c : cases) {
        OpGraph og;
        NodeAttrs a;
        a.kernel = {c.k, c.k};
        a.strides = {c.s, c.s};
        a.pads = {c.pad, c.pad, c.pad, c.pad};
        a.ceil_mode = c.ceil;
        a.count_include_pad = c.include_pad;
        og.output(og.node(c.op, {og.input({2, 3, 9, 8})}, a));
        expect_same_op(og);
    }
    OpGraph og;
    og.output(og.node(OpType::GlobalAveragePool, {og.input({3, 5, 7, 6})}));
    expect_same_op(og);
}

TEST(CudaOps, BatchNormSoftmaxLayout) {
    REQUIRE_GPU();
    {
        OpGraph og;
        const int x = og.input({2, 4, 3, 3});
        og.output(og.node(OpType::BatchNorm, {x, og.constant(og.random({4})), og.constant(og.random({4}))}));
        expect_same_op(og);
    }
    for (int64_t axis : {-1, 1, 2})
        for (bool legacy : {false, true}) {
            OpGraph og;
            NodeAttrs a;
            a.axis = axis;
            a.softmax_legacy = legacy;
            og.output(og.node(OpType::Softmax, {og.input({3, 4, 5})}, a));
            expect_same_op(og, 1e-6);
        }
    for (const std::vector<int64_t>& perm : {std::vector<int64_t>{0, 2, 3, 1}, {3, 2, 1, 0}, {1, 0, 2, 3}}) {
        OpGraph og;
        NodeAttrs a;
        a.perm = perm;
        og.output(og.node(OpType::Transpose, {og.input({2, 3, 4, 5})}, a));
        expect_same_op(og, 0.0);
    }
    for (int64_t axis : {0, 1, -1}) {
        OpGraph og;
        NodeAttrs a;
        a.axis = axis;
        Shape s1{2, 3, 4}, s2{2, 3, 4};
        const auto ax = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
        s2[ax] = 5;
        og.output(og.node(OpType::Concat, {og.input(s1), og.input(s2), og.constant(og.random(s1))}, a));
        expect_same_op(og, 0.0);
    }
    for (PadMode mode : {PadMode::Constant, PadMode::Reflect, PadMode::Edge}) {
        OpGraph og;
        NodeAttrs a;
        a.pad_mode = mode;
        a.pad_value = 0.25f;
        a.pad_amounts = {0, 1, 2, 0, 0, 2, 1, -1};
        og.output(og.node(OpType::Pad, {og.input({2, 3, 5, 6})}, a));
        expect_same_op(og, 0.0);
    }
    {
        OpGraph og;
        NodeAttrs fa;
        fa.axis = 1;
        const int f = og.node(OpType::Flatten, {og.input({2, 3, 4, 5})}, fa);
        NodeAttrs ra;
        ra.shape = {2, 6, 10};
        og.output(og.node(OpType::Reshape, {f}, ra));
        expect_same_op(og, 0.0);
    }
}

// Every ONNX op fixture of test_onnx_ops.cpp, both backends on the fixture's inputs.
TEST(CudaOps, EveryOnnxFixture) {
    REQUIRE_GPU();
    std::ifstream in(repo("tests/fixtures/ops/manifest.txt"));
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ss(line);
        std::string name;
        int opset = 0, inputs = 0;
        double tol = 0;
        ss >> name >> opset >> inputs >> tol;
        const std::string base = repo("tests/fixtures/ops/" + name);
        const Graph g = load_onnx(base + ".onnx");
        std::vector<Tensor> xs;
        for (int i = 0; i < inputs; ++i) xs.push_back(load_tensor(base + ".in" + std::to_string(i) + ".npy"));
        const auto [want, got] = run_both(g, xs);
        ASSERT_EQ(want.size(), got.size()) << name;
        for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(close(got[i], want[i], std::max(tol, 1e-5))) << name;
        ++cases;
    }
    EXPECT_GE(cases, 100);
}

// A batch larger than the device holds at once is split; the results equal one pass.
TEST(CudaOps, NetworkOutputsDoNotDependOnBatchSplit) {
    REQUIRE_GPU();
    const Graph g = load_onnx(repo("models/resnet20v1_cifar10.onnx"));
    OpGraph rnd;
    const Tensor x = rnd.random({20, 3, 32, 32});
    auto gpu = make_backend("cuda");
    gpu->load(g);
    const Tensor all = gpu->forward(x).at(0);
    auto cpu = make_backend("cpu");
    cpu->load(g);
    EXPECT_TRUE(close(all, cpu->forward(x).at(0), 1e-4));
    Shape s = x.shape;
    s[0] = 1;
    for (int64_t b : {0, 7, 19}) {
        const int64_t per = x.size() / 20;
        const Tensor one(s, std::vector<float>(x.data.begin() + b * per, x.data.begin() + (b + 1) * per));
        const Tensor y = gpu->forward(one).at(0);
        for (int64_t c = 0; c < y.size(); ++c) EXPECT_NEAR(y.data[static_cast<size_t>(c)], all.data[static_cast<size_t>(b * y.size() + c)], 1e-4);
    }
}

}  // namespace
}  // namespace xbarsim::test
