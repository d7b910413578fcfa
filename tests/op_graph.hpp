#pragma once
// A graph of a few arbitrary nodes built by hand (any op, any attributes), for op-level tests.
#include <random>
#include <string>
#include <vector>

#include "xbarsim/graph.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::test {

// Runtime inputs, constants and nodes (shapes inferred); random() draws uniform values.
struct OpGraph {
    Graph g;
    std::mt19937 rng{1234};

    Tensor random(const Shape& s, float lo = -1.0f, float hi = 1.0f) {
        std::uniform_real_distribution<float> d(lo, hi);
        Tensor t(s);
        for (auto& v : t.data) v = d(rng);
        return t;
    }
    int input(const Shape& s) {
        Value v;
        v.name = "in" + std::to_string(g.inputs.size());
        v.shape = s;
        g.values.push_back(v);
        g.inputs.push_back(static_cast<int>(g.values.size()) - 1);
        return g.inputs.back();
    }
    int constant(const Tensor& t) {
        Value v;
        v.name = "c" + std::to_string(g.values.size());
        v.shape = t.shape;
        v.is_constant = true;
        v.data = t;
        g.values.push_back(v);
        return static_cast<int>(g.values.size()) - 1;
    }
    int node(OpType op, const std::vector<int>& inputs, NodeAttrs attrs = {}) {
        Node n;
        n.op = op;
        n.name = std::string(op_name(op)) + std::to_string(g.nodes.size());
        n.onnx_op = op_name(op);
        n.inputs = inputs;
        n.attrs = attrs;
        std::vector<Shape> shapes;
        for (int id : inputs) shapes.push_back(g.value(id).shape);
        Value v;
        v.name = n.name + "_out";
        v.shape = infer_shape(n, shapes, 1);
        g.values.push_back(v);
        n.output = static_cast<int>(g.values.size()) - 1;
        g.nodes.push_back(n);
        return n.output;
    }
    void output(int id) { g.outputs.push_back(id); }
    std::vector<Tensor> random_inputs() {
        std::vector<Tensor> xs;
        for (int id : g.inputs) xs.push_back(random(g.value(id).shape));
        return xs;
    }
};

}  // namespace xbarsim::test
