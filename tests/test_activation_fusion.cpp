// A Relu/Clip that is the only reader of an element-wise Add/Sub/Mul/Div (a residual addition)
// runs as that op's epilogue, as it does for Conv/Linear: the schedule marks it, and the fused
// result equals the unfused op followed by the activation, on the CPU and (where present) the GPU.
#include <random>

#include "gpu_test_util.hpp"
#include "graph_builder.hpp"
#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/cuda_info.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim::test {
namespace {


Tensor random_input(uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    Tensor x({2, 6, 5, 5});
    for (auto& v : x.data) v = d(rng);
    return x;
}

size_t node_index(const Graph& g, const std::string& name) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
        if (g.nodes[i].name == name) return i;
    throw std::runtime_error("no node " + name);
}

TEST(ActivationFusion, ScheduleFusesActivationsIntoBinaryOps) {
    const Graph g = residual_test_network();
    const GraphSchedule s = schedule_graph(g);
    EXPECT_EQ(s.fused_activation[node_index(g, "add")], static_cast<int>(node_index(g, "relu")));
    EXPECT_EQ(s.fused_activation[node_index(g, "mul")], static_cast<int>(node_index(g, "clip")));
    EXPECT_EQ(s.fused_activation[node_index(g, "conv")], -1);  // its reader is the Add, not an activation
}

// A second reader of the Add's output keeps the Relu separate (the Add's own values are needed).
TEST(ActivationFusion, NotFusedWhenTheOutputHasAnotherReader) {
    GraphBuilder b({2, 6, 5, 5});
    const int x = b.input();
    b.conv(6, 3, 1, "conv").binary(OpType::Add, x, "add");
    const int sum = b.last();
    Graph g = b.relu("relu").binary(OpType::Add, sum, "add2").build();
    const GraphSchedule s = schedule_graph(g);
    EXPECT_EQ(s.fused_activation[node_index(g, "add")], -1);
}

// Fused against unfused: asking for the Add's and Mul's outputs as extra values keeps them (no
// fusion), and applying Relu/Clip to those by hand must give the fused run's outputs exactly.
void expect_fused_equals_unfused(Backend& backend) {
    const Graph g = residual_test_network();
    backend.load(g);
    const Tensor x = random_input(4);
    const Tensor fused = backend.forward(x).at(0);
    const int add_out = g.nodes[node_index(g, "add")].output, mul_out = g.nodes[node_index(g, "mul")].output;
    const auto unfused = backend.forward(x, {add_out, mul_out});
    const Tensor& sum = unfused.at(1);
    const Tensor& product = unfused.at(2);
    ASSERT_EQ(fused.shape, product.shape);
    // The Clip of the unfused run equals the fused output, and the Mul's input was relu(sum).
    int clipped = 0, negatives = 0;
    for (size_t i = 0; i < fused.data.size(); ++i) {
        const float want = std::min(std::max(product.data[i], -0.4f), 0.5f);
        ASSERT_EQ(fused.data[i], want) << i;
        clipped += product.data[i] > 0.5f || product.data[i] < -0.4f;
    }
    EXPECT_EQ(unfused.at(0).data, fused.data);
    for (float v : sum.data) negatives += v < 0.0f;
    EXPECT_GT(clipped, 10) << "the Clip must act on some outputs";
    EXPECT_GT(negatives, 10) << "the Relu must act on some sums";
}

TEST(ActivationFusion, CpuFusedEqualsUnfused) {
    auto cpu = make_backend("cpu");
    expect_fused_equals_unfused(*cpu);
}

TEST(ActivationFusion, CudaFusedEqualsUnfusedAndCpu) {
    REQUIRE_GPU();
    auto gpu = make_backend("cuda");
    expect_fused_equals_unfused(*gpu);
    auto cpu = make_backend("cpu");
    const Graph g = residual_test_network();
    cpu->load(g);
    gpu->load(g);
    const Tensor x = random_input(9);
    EXPECT_TRUE(close(gpu->forward(x).at(0), cpu->forward(x).at(0), 1e-5));
}

}  // namespace
}  // namespace xbarsim::test
