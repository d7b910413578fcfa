#pragma once
// Small graphs built in code for tests (cost model, CUDA against CPU).
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "xbarsim/graph.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::test {

// A chain of layers built in code, so every shape and count in a test is known. The batch is the
// input's first dimension; weights and biases are `fill` when given, else N(0, 0.3) (seed 7).
class GraphBuilder {
public:
    explicit GraphBuilder(Shape input, std::optional<float> fill = std::nullopt) : fill_(fill) {
        g_.inputs.push_back(value("x", std::move(input), false));
        g_.import_batch = g_.value(g_.inputs[0]).shape.at(0);
        last_ = g_.inputs[0];
    }
    GraphBuilder& linear(int64_t n, const std::string& name, bool bias = false) {
        const int64_t k = g_.value(last_).shape.back();
        std::vector<int> in{last_, value(name + "_w", {n, k}, true)};
        if (bias) in.push_back(value(name + "_b", {n}, true));
        last_ = node(OpType::Linear, in, {}, name);
        return *this;
    }
    GraphBuilder& conv(int64_t c_out, int64_t kernel, int64_t groups, const std::string& name, bool bias = false) {
        const int64_t c_in = g_.value(last_).shape[1];
        NodeAttrs a;
        a.kernel = {kernel, kernel};
        a.pads = {kernel / 2, kernel / 2, kernel / 2, kernel / 2};
        a.group = groups;
        std::vector<int> in{last_, value(name + "_w", {c_out, c_in / groups, kernel, kernel}, true)};
        if (bias) in.push_back(value(name + "_b", {c_out}, true));
        last_ = node(OpType::Conv, in, a, name);
        return *this;
    }
    GraphBuilder& relu(const std::string& name) {
        last_ = node(OpType::Relu, {last_}, {}, name);
        return *this;
    }
    GraphBuilder& clip(float lo, float hi, const std::string& name) {
        NodeAttrs a;
        a.min = lo;
        a.max = hi;
        last_ = node(OpType::Clip, {last_}, a, name);
        return *this;
    }
    // last op `other` (Add, Sub, Mul, Div; `other` a value id, broadcast as numpy does).
    GraphBuilder& binary(OpType op, int other, const std::string& name) {
        last_ = node(op, {last_, other}, {}, name);
        return *this;
    }
    // A constant of shape `s` (values as for weights), for binary().
    int constant(const std::string& name, Shape s) { return value(name, std::move(s), true); }
    int last() const { return last_; }
    int input() const { return g_.inputs[0]; }
    GraphBuilder& flatten(const std::string& name) {
        NodeAttrs a;
        a.axis = 1;
        last_ = node(OpType::Flatten, {last_}, a, name);
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
        n.output = value(name + "_out", infer_shape(n, shapes, g_.import_batch), false);
        g_.nodes.push_back(n);
        return n.output;
    }
    Graph g_;
    int last_ = -1;
    std::optional<float> fill_;
    std::mt19937 rng_{7};
};

// x [2, 6, 5, 5] -> Conv(6, 3x3, pad 1, bias) "conv" -> Add(x) "add" -> Relu "relu" ->
// Mul(scale [6, 1, 1], broadcast) "mul" -> Clip(-0.4, 0.5) "clip": a residual block whose Relu and
// Clip the backends fuse into the Add and the Mul (activation fusion and special-value tests).
inline Graph residual_test_network() {
    GraphBuilder b({2, 6, 5, 5});
    const int x = b.input();
    const int scale = b.constant("scale", {6, 1, 1});
    return b.conv(6, 3, 1, "conv", true).binary(OpType::Add, x, "add").relu("relu").binary(OpType::Mul, scale, "mul")
        .clip(-0.4f, 0.5f, "clip").build();
}

}  // namespace xbarsim::test
