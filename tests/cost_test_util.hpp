#pragma once
// Shared by the cost-model tests: small graphs built in code (so every count is known), configs
// from YAML text, and the bundled technology files.
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "test_util.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/cost/cost_model.hpp"
#include "xbarsim/graph.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::test {

// A chain of layers on a graph with batch 1; weights are `fill` when given, else N(0, 0.3).
class GraphBuilder {
public:
    explicit GraphBuilder(Shape input, std::optional<float> fill = std::nullopt) : fill_(fill) {
        g_.inputs.push_back(value("x", std::move(input), false));
        g_.import_batch = 1;
        last_ = g_.inputs[0];
    }
    GraphBuilder& linear(int64_t n, const std::string& name) {
        const int64_t k = g_.value(last_).shape.back();
        last_ = node(OpType::Linear, {last_, value(name + "_w", {n, k}, true)}, {}, name);
        return *this;
    }
    GraphBuilder& conv(int64_t c_out, int64_t kernel, int64_t groups, const std::string& name) {
        const int64_t c_in = g_.value(last_).shape[1];
        NodeAttrs a;
        a.kernel = {kernel, kernel};
        a.pads = {kernel / 2, kernel / 2, kernel / 2, kernel / 2};
        a.group = groups;
        last_ = node(OpType::Conv, {last_, value(name + "_w", {c_out, c_in / groups, kernel, kernel}, true)}, a, name);
        return *this;
    }
    GraphBuilder& relu(const std::string& name) {
        last_ = node(OpType::Relu, {last_}, {}, name);
        return *this;
    }
    Graph build() {
        g_.outputs = {last_};
        return g_;
    }

private:
    int value(const std::string& name, Shape s, bool constant) {
        Value v;
        v.name = name;
        v.shape = s;
        if (constant) {
            v.is_constant = true;
            v.data = Tensor(s);
            std::normal_distribution<float> d(0.0f, 0.3f);
            for (auto& x : v.data.data) x = fill_ ? *fill_ : d(rng_);
        }
        g_.values.push_back(v);
        return static_cast<int>(g_.values.size()) - 1;
    }
    int node(OpType op, std::vector<int> in, NodeAttrs a, const std::string& name) {
        Node n;
        n.op = op;
        n.name = name;
        n.onnx_op = op_name(op);
        n.inputs = in;
        n.attrs = a;
        std::vector<Shape> shapes;
        for (int id : in) shapes.push_back(g_.value(id).shape);
        n.output = value(name + "_out", infer_shape(n, shapes, 1), false);
        g_.nodes.push_back(n);
        return n.output;
    }
    Graph g_;
    int last_ = -1;
    std::optional<float> fill_;
    std::mt19937 rng_{7};
};

inline Config config_from_yaml(const std::string& yaml) {
    TempDir dir;
    const std::string path = dir.file("c.yaml");
    std::ofstream(path) << "name: t\n" << yaml;
    return load_config(path);
}

inline const cost::TechParams& tech_node(const std::string& name) {
    static std::map<std::string, cost::TechParams> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, cost::load_tech(repo("configs/tech/" + name + ".yaml"))).first;
    return it->second;
}

// |got / want - 1| <= rel
#define EXPECT_REL(got, want, rel) \
    EXPECT_NEAR((got) / (want), 1.0, (rel)) << #got " = " << (got) << ", expected " << (want)

}  // namespace xbarsim::test
