#include "xbarsim/graph.hpp"

#include <algorithm>

#include "xbarsim/error.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim {

const char* op_name(OpType op) {
    switch (op) {
    case OpType::Conv: return "Conv";
    case OpType::Linear: return "Linear";
    case OpType::MatMul: return "MatMul";
    case OpType::Gemm: return "Gemm";
    case OpType::Add: return "Add";
    case OpType::Sub: return "Sub";
    case OpType::Mul: return "Mul";
    case OpType::Div: return "Div";
    case OpType::Relu: return "Relu";
    case OpType::Clip: return "Clip";
    case OpType::LeakyRelu: return "LeakyRelu";
    case OpType::Sigmoid: return "Sigmoid";
    case OpType::HardSigmoid: return "HardSigmoid";
    case OpType::HardSwish: return "HardSwish";
    case OpType::Tanh: return "Tanh";
    case OpType::MaxPool: return "MaxPool";
    case OpType::AveragePool: return "AveragePool";
    case OpType::GlobalAveragePool: return "GlobalAveragePool";
    case OpType::BatchNorm: return "BatchNorm";
    case OpType::Flatten: return "Flatten";
    case OpType::Reshape: return "Reshape";
    case OpType::Transpose: return "Transpose";
    case OpType::Concat: return "Concat";
    case OpType::Softmax: return "Softmax";
    case OpType::Pad: return "Pad";
    case OpType::Identity: return "Identity";
    }
    return "?";
}

bool is_mvm_layer(OpType op) { return op == OpType::Conv || op == OpType::Linear; }
bool is_binary_arithmetic(OpType op) { return op == OpType::Add || op == OpType::Sub || op == OpType::Mul || op == OpType::Div; }

int Graph::find_value(const std::string& name) const {
    for (size_t i = 0; i < values.size(); ++i)
        if (values[i].name == name) return static_cast<int>(i);
    return -1;
}

LayerStats layer_stats(const Graph& graph, const Node& node) {
    LayerStats st;
    const Shape& out = graph.value(node.output).shape;
    const int64_t batch = out.empty() ? 1 : out[0];
    for (size_t i = 1; i < node.inputs.size(); ++i) {
        const Value& v = graph.value(node.inputs[i]);
        if (v.is_constant) st.params += numel(v.shape);
    }
    if (node.op == OpType::Conv) {
        const Shape& w = graph.value(node.inputs[1]).shape;  // [N, C/g, kh, kw]
        st.rows = w[1] * w[2] * w[3];
        st.cols = w[0];
        st.mvms = out[2] * out[3];
        st.macs = st.rows * st.cols * st.mvms;
    } else if (node.op == OpType::Linear) {
        const Shape& w = graph.value(node.inputs[1]).shape;  // [N, K]
        st.rows = w[1];
        st.cols = w[0];
        st.mvms = numel(out) / (batch * w[0]);
        st.macs = st.rows * st.cols * st.mvms;
    } else if (node.op == OpType::MatMul || node.op == OpType::Gemm) {
        const Shape& a = graph.value(node.inputs[0]).shape;
        const int64_t k = node.op == OpType::Gemm && node.attrs.trans_a ? a[0] : a.back();
        st.macs = numel(out) / batch * k;
    }
    return st;
}

void check_graph_inputs(const Graph& g, const std::vector<Tensor>& inputs) {
    if (inputs.size() != g.inputs.size())
        throw Error("the model has " + std::to_string(g.inputs.size()) + " inputs, " + std::to_string(inputs.size()) + " were given");
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Value& declared = g.value(g.inputs[i]);
        const Shape& s = inputs[i].shape;
        if (s.size() != declared.shape.size() || !std::equal(declared.shape.begin() + 1, declared.shape.end(), s.begin() + 1))
            throw Error("input '" + declared.name + "' of shape " + shape_str(s) + " does not match the model's " +
                        shape_str(declared.shape) + " (the batch dimension may differ)");
    }
}

GraphSchedule schedule_graph(const Graph& graph) {
    GraphSchedule s;
    const size_t n_nodes = graph.nodes.size();
    s.last_use.assign(graph.values.size(), -1);
    std::vector<int> readers(graph.values.size(), 0);
    for (size_t i = 0; i < n_nodes; ++i)
        for (int v : graph.nodes[i].inputs) {
            s.last_use[static_cast<size_t>(v)] = static_cast<int>(i);
            ++readers[static_cast<size_t>(v)];
        }
    for (int v : graph.outputs) {
        s.last_use[static_cast<size_t>(v)] = static_cast<int>(n_nodes);
        ++readers[static_cast<size_t>(v)];
    }
    // A Relu/Clip that is the only reader of a Conv/Linear output, or of an element-wise Add, Sub,
    // Mul or Div (a residual addition), becomes that op's epilogue: one pass over the tensor saved.
    s.fused_activation.assign(n_nodes, -1);
    for (size_t i = 0; i < n_nodes; ++i) {
        const Node& act = graph.nodes[i];
        if (act.op != OpType::Relu && act.op != OpType::Clip) continue;
        const int x = act.inputs[0];
        if (readers[static_cast<size_t>(x)] != 1) continue;
        for (size_t p = 0; p < i; ++p)
            if (graph.nodes[p].output == x && (is_mvm_layer(graph.nodes[p].op) || is_binary_arithmetic(graph.nodes[p].op)))
                s.fused_activation[p] = static_cast<int>(i);
    }
    return s;
}

}  // namespace xbarsim
