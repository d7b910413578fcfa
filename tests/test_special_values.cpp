// NaN, infinities and -0.0 through the digital ops (xbarsim/elementwise_math.hpp): a NaN reaches
// exactly the outputs that depend on it, as in PyTorch, whether an activation is fused into the op
// before it or not; +inf survives a Relu; and the CUDA backend gives the CPU's bits (where present).
#include <bit>
#include <cmath>

#include "gpu_test_util.hpp"
#include "graph_builder.hpp"
#include "op_graph.hpp"
#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/elementwise_math.hpp"

namespace xbarsim::test {
namespace {

constexpr float kNan = NAN, kInf = INFINITY;

TEST(ElementwiseMath, ActivationsPropagateNanAndKeepInfinities) {
    for (float v : {ew::relu(kNan), ew::clamp(kNan, -1.0f, 1.0f), ew::leaky_relu(kNan, 0.1f), ew::hard_sigmoid(kNan, 0.2f, 0.5f),
                     ew::hard_swish(kNan), ew::sigmoid(kNan), ew::tanh(kNan), ew::max_nan(1.0f, kNan), ew::max_nan(kNan, 1.0f),
                     ew::affine(kNan, 2.0f, 1.0f)})
        EXPECT_TRUE(std::isnan(v));
    EXPECT_EQ(ew::relu(kInf), kInf);
    EXPECT_EQ(ew::relu(-kInf), 0.0f);
    EXPECT_EQ(ew::clamp(kInf, -1.0f, 1.0f), 1.0f);
    EXPECT_EQ(ew::clamp(-kInf, -1.0f, 1.0f), -1.0f);
    // min > max: every value becomes max (ONNX Clip is min(max(x, min), max), as numpy and PyTorch).
    for (float v : {-10.0f, 0.0f, 2.0f, 10.0f}) EXPECT_EQ(ew::clamp(v, 5.0f, -5.0f), -5.0f) << v;
    EXPECT_EQ(ew::leaky_relu(-kInf, 0.1f), -kInf);
    EXPECT_EQ(ew::hard_sigmoid(kInf, 0.2f, 0.5f), 1.0f);
    EXPECT_EQ(ew::hard_swish(kInf), kInf);
    EXPECT_EQ(ew::sigmoid(-kInf), 0.0f);
    EXPECT_EQ(ew::max_nan(-kInf, 2.0f), 2.0f);
    EXPECT_EQ(ew::relu(-3.0f), 0.0f);
    EXPECT_EQ(ew::relu(2.5f), 2.5f);
    EXPECT_EQ(ew::hard_swish(1.5f), 1.5f * (1.5f / 6.0f + 0.5f));
}

// The default epilogue (no activation fused) must pass every value unchanged, infinities and
// NaN payloads included; a fused Relu is the standalone Relu, bit for bit.
TEST(ElementwiseMath, EpiloguesAreTheStandaloneOps) {
    Node relu;
    relu.op = OpType::Relu;
    const ew::ClampEpilogue none, fused_relu = ew::ClampEpilogue::of(relu);
    EXPECT_FALSE(none.clamps());
    EXPECT_TRUE(fused_relu.clamps());
    const float values[] = {kNan, -kNan, kInf, -kInf, 0.0f, -0.0f, 1e-42f, -1e-42f, 3.4e38f, -3.4e38f, 0.7f, -0.7f};
    for (float v : values) {
        EXPECT_EQ(std::bit_cast<uint32_t>(none(v)), std::bit_cast<uint32_t>(v)) << v;
        EXPECT_EQ(std::bit_cast<uint32_t>(fused_relu(v)), std::bit_cast<uint32_t>(ew::relu(v))) << v;
    }
}


Tensor ramp(const Shape& s) {
    Tensor t(s);
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = std::sin(0.37f * static_cast<float>(i));
    return t;
}

int output_of(const Graph& g, const std::string& node) {
    for (const Node& n : g.nodes)
        if (n.name == node) return n.output;
    throw std::runtime_error("no node " + node);
}

// One NaN in the input reaches every channel of the 3x3 neighbourhood of its pixel in its sample
// (the convolution mixes all channels) and nothing else: with the activations fused (the default
// run) and unfused (the Add's and Mul's outputs asked for, which keeps them apart).
void expect_nan_reaches_exactly_its_window(Backend& backend) {
    const Graph g = residual_test_network();
    backend.load(g);
    Tensor x = ramp({2, 6, 5, 5});
    const int64_t nb = 1, nc = 2, nh = 2, nw = 3;
    x.data[static_cast<size_t>(((nb * 6 + nc) * 5 + nh) * 5 + nw)] = kNan;
    const Tensor fused = backend.forward(x).at(0);
    const Tensor unfused = backend.forward(x, {output_of(g, "add"), output_of(g, "mul")}).at(0);
    for (const Tensor* out : {&fused, &unfused}) {
        ASSERT_EQ(out->shape, (Shape{2, 6, 5, 5}));
        for (int64_t b = 0; b < 2; ++b)
            for (int64_t c = 0; c < 6; ++c)
                for (int64_t h = 0; h < 5; ++h)
                    for (int64_t w = 0; w < 5; ++w) {
                        const float v = out->data[static_cast<size_t>(((b * 6 + c) * 5 + h) * 5 + w)];
                        const bool reached = b == nb && std::abs(h - nh) <= 1 && std::abs(w - nw) <= 1;
                        EXPECT_EQ(std::isnan(v), reached) << (out == &fused ? "fused " : "unfused ") << b << c << h << w;
                        if (!reached) {
                            EXPECT_TRUE(v >= -0.4f && v <= 0.5f) << v;
                        }
                    }
    }
}

TEST(SpecialValues, NanReachesExactlyTheOutputsThatDependOnIt) {
    auto cpu = make_backend("cpu");
    expect_nan_reaches_exactly_its_window(*cpu);
}

// x -> Add(x, x) -> Relu, fused and standalone: +inf stays +inf, -inf becomes 0.
Graph doubled_relu(bool fused) {
    OpGraph og;
    const int x = og.input({1, 8});
    const int sum = og.node(OpType::Add, {x, x});
    og.output(og.node(OpType::Relu, {sum}));
    if (!fused) og.output(sum);  // a second reader keeps the Relu apart
    return og.g;
}

Tensor special_values(const Shape& s) {
    const float values[] = {kInf, -kInf, kNan, 0.0f, -0.0f, 1e-42f, -2.5f, 1.25f};
    Tensor t(s);
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = values[i % 8];
    return t;
}

TEST(SpecialValues, InfinitySurvivesARelu) {
    for (bool fused : {true, false}) {
        auto cpu = make_backend("cpu");
        const Graph g = doubled_relu(fused);  // the backend keeps a reference to its graph
        cpu->load(g);
        const Tensor y = cpu->forward(special_values({1, 8})).at(0);
        SCOPED_TRACE(fused ? "fused" : "standalone");
        EXPECT_EQ(y.data[0], kInf);
        EXPECT_EQ(y.data[1], 0.0f);
        EXPECT_TRUE(std::isnan(y.data[2]));
        EXPECT_EQ(y.data[6], 0.0f);
        EXPECT_EQ(y.data[7], 2.5f);
    }
}

TEST(SpecialValues, MaxPoolAndSoftmaxPropagateNan) {
    auto cpu = make_backend("cpu");
    {
        OpGraph og;
        NodeAttrs a;
        a.kernel = {2, 2};
        a.strides = {2, 2};
        og.output(og.node(OpType::MaxPool, {og.input({1, 2, 4, 4})}, a));
        cpu->load(og.g);
        Tensor x = ramp({1, 2, 4, 4});
        x.data[5] = kNan;  // channel 0, row 1, column 1: the first window
        const Tensor y = cpu->forward(x).at(0);
        for (size_t i = 0; i < y.data.size(); ++i) EXPECT_EQ(std::isnan(y.data[i]), i == 0) << i;
    }
    {
        OpGraph og;
        NodeAttrs a;
        a.axis = -1;
        og.output(og.node(OpType::Softmax, {og.input({2, 5})}, a));
        cpu->load(og.g);
        Tensor x = ramp({2, 5});
        x.data[3] = kNan;
        const Tensor y = cpu->forward(x).at(0);
        float row1 = 0.0f;
        for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(std::isnan(y.data[i])) << i;
        for (size_t i = 5; i < 10; ++i) row1 += y.data[i];
        EXPECT_NEAR(row1, 1.0f, 1e-6f);
    }
}

// ------------------------------------------------------------------ CUDA against the CPU

// Same bits, except that the libm functions (Sigmoid, Tanh) may differ in the last place.
void expect_same_special_values(const Tensor& got, const Tensor& want, bool exact) {
    ASSERT_EQ(got.shape, want.shape);
    for (size_t i = 0; i < want.data.size(); ++i) {
        const float g = got.data[i], w = want.data[i];
        if (std::isnan(w) || std::isinf(w) || exact) {
            EXPECT_TRUE(std::isnan(g) == std::isnan(w) && (std::isnan(w) || std::bit_cast<uint32_t>(g) == std::bit_cast<uint32_t>(w)))
                << i << ": " << g << " vs " << w;
        } else {
            EXPECT_NEAR(g, w, 1e-6f * std::max(1.0f, std::abs(w))) << i;
        }
    }
}

TEST(SpecialValues, CudaGivesTheCpuValues) {
    REQUIRE_GPU();
    auto gpu = make_backend("cuda");
    expect_nan_reaches_exactly_its_window(*gpu);
    for (bool fused : {true, false}) {
        auto cpu = make_backend("cpu");
        const Graph g = doubled_relu(fused);
        cpu->load(g);
        gpu->load(g);
        const Tensor x = special_values({1, 8});
        expect_same_special_values(gpu->forward(x).at(0), cpu->forward(x).at(0), true);
    }
    for (OpType op : {OpType::Relu, OpType::Clip, OpType::LeakyRelu, OpType::HardSigmoid, OpType::HardSwish, OpType::Sigmoid,
                      OpType::Tanh, OpType::MaxPool, OpType::Softmax}) {
        OpGraph og;
        NodeAttrs a;
        a.min = -0.3f;
        a.max = 0.6f;
        a.slope = 0.1f;
        a.axis = -1;
        if (op == OpType::MaxPool) {
            a.kernel = {2, 2};
            a.strides = {2, 2};
        }
        og.output(og.node(op, {og.input({2, 3, 4, 4})}, a));
        auto cpu = make_backend("cpu");
        cpu->load(og.g);
        gpu->load(og.g);
        const Tensor x = special_values({2, 3, 4, 4});
        SCOPED_TRACE(op_name(op));
        expect_same_special_values(gpu->forward(x).at(0), cpu->forward(x).at(0),
                                   op != OpType::Sigmoid && op != OpType::Tanh && op != OpType::Softmax);
    }
}

}  // namespace
}  // namespace xbarsim::test
