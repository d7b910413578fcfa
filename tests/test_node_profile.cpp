// Per-node timing (Backend::record_node_times) and its summary by op kind (node_profile.hpp):
// grouping, analog layers apart, fused activations inside their producer, and the CPU and CUDA
// backends filling one time per node.
#include "gpu_test_util.hpp"
#include "graph_builder.hpp"
#include "test_util.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/cuda_info.hpp"
#include "xbarsim/node_profile.hpp"

namespace xbarsim::test {
namespace {

// x [2, 4, 6, 6] -> Conv -> Relu (fused) -> Conv -> Flatten -> Linear
Graph small_graph() {
    return GraphBuilder({2, 4, 6, 6}).conv(4, 3, 1, "c1", true).relu("r1").conv(3, 3, 1, "c2").flatten("f").linear(5, "fc").build();
}

TEST(NodeProfile, GroupsByOpKindWithAnalogLayersApart) {
    const Graph g = small_graph();  // nodes: c1, r1, c2, f, fc
    const std::vector<double> seconds = {0.6, 0.0, 0.2, 0.02, 0.18};  // summed over 2 passes
    const auto kinds = profile_by_op(g, seconds, 2, {2, 4});        // c2 and fc on crossbars
    ASSERT_EQ(kinds.size(), 4u);  // Conv, Conv (analog), Linear (analog), Flatten; the fused Relu in c1
    EXPECT_EQ(kinds[0].kind, "Conv");
    EXPECT_EQ(kinds[0].nodes, 1);
    EXPECT_DOUBLE_EQ(kinds[0].seconds_per_pass, 0.3);
    EXPECT_EQ(kinds[1].kind, "Conv (analog)");
    EXPECT_DOUBLE_EQ(kinds[1].seconds_per_pass, 0.1);
    EXPECT_EQ(kinds[2].kind, "Linear (analog)");
    EXPECT_EQ(kinds[3].kind, "Flatten");
    double share = 0.0;
    for (const auto& k : kinds) share += k.share;
    EXPECT_NEAR(share, 1.0, 1e-12);
    EXPECT_NEAR(kinds[0].share, 0.6 / 1.0, 1e-12);

    const auto slow = slowest_nodes(g, seconds, 2, {2, 4}, 2);
    ASSERT_EQ(slow.size(), 2u);
    EXPECT_EQ(slow[0].name, "c1");
    EXPECT_EQ(slow[1].name, "c2");
    EXPECT_EQ(slow[1].kind, "Conv (analog)");
}

TEST(NodeProfile, RefusesTimesOfAnotherGraph) {
    const Graph g = small_graph();
    EXPECT_THROW(profile_by_op(g, {1.0, 2.0}, 1, {}), Error);
    EXPECT_THROW(profile_by_op(g, std::vector<double>(g.nodes.size(), 0.0), 0, {}), Error);
}

// One entry per node after passes with timing on; the fused Relu gets none of its own; turning
// timing off leaves the figures as they were.
void expect_node_times(Backend& backend) {
    const Graph g = small_graph();
    backend.load(g);
    Tensor x({2, 4, 6, 6});
    for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<float>(i % 7) - 3.0f;
    std::vector<double> seconds;
    backend.record_node_times(&seconds);
    backend.forward(x);
    backend.forward(x);
    backend.record_node_times(nullptr);
    ASSERT_EQ(seconds.size(), g.nodes.size());
    EXPECT_EQ(seconds[1], 0.0);  // r1 runs inside c1
    EXPECT_GT(seconds[0] + seconds[2] + seconds[4], 0.0);
    for (double s : seconds) EXPECT_GE(s, 0.0);
    const std::vector<double> before = seconds;
    backend.forward(x);
    EXPECT_EQ(seconds, before);
}

TEST(NodeProfile, CpuBackendTimesEveryNode) {
    auto cpu = make_backend("cpu");
    expect_node_times(*cpu);
}

TEST(NodeProfile, CudaBackendTimesEveryNode) {
    REQUIRE_GPU();
    auto gpu = make_backend("cuda");
    expect_node_times(*gpu);
}

}  // namespace
}  // namespace xbarsim::test
