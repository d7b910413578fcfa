#pragma once
// The graph IR every backend executes. ONNX is imported into it (onnx_import.hpp), BatchNorm is
// folded into the Conv/Linear before it, and matrix products with constant weights become the
// two "MVM layer" kinds (Conv, Linear) that the analog model maps onto crossbars later.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xbarsim/tensor.hpp"

namespace xbarsim {

enum class OpType {
    Conv,                // 2-D convolution, constant weights [N, C/group, kh, kw] (MVM layer)
    Linear,              // y[..., n] = sum_k W[n, k] x[..., k] + b[n], constant W [N, K] (MVM layer)
    MatMul,              // numpy-style matmul of two runtime tensors (digital)
    Gemm,                // ONNX Gemm with a runtime B operand (digital)
    Add, Sub, Mul, Div,  // numpy broadcasting
    Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh,
    MaxPool, AveragePool, GlobalAveragePool,
    BatchNorm,           // only where it could not be folded: y = x * scale[c] + shift[c]
    Flatten, Reshape, Transpose, Concat, Softmax, Pad, Identity,
};

const char* op_name(OpType op);
bool is_mvm_layer(OpType op);  // Conv or Linear: the layers an analog backend maps to arrays
bool is_binary_arithmetic(OpType op);  // Add, Sub, Mul or Div (broadcasting, element-wise)

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };
enum class PadMode { Constant, Reflect, Edge };

// All attributes, resolved to plain values at import. Only the fields of the node's op are used.
struct NodeAttrs {
    // Conv / pooling (2-D): kernel, strides, pads {top, left, bottom, right}, dilations.
    std::array<int64_t, 2> kernel{1, 1};
    std::array<int64_t, 2> strides{1, 1};
    std::array<int64_t, 4> pads{0, 0, 0, 0};
    std::array<int64_t, 2> dilations{1, 1};
    AutoPad auto_pad = AutoPad::NotSet;
    int64_t group = 1;
    bool ceil_mode = false;
    bool count_include_pad = false;
    // Gemm (runtime operands only; constant-weight Gemms become Linear)
    float alpha = 1.0f, beta = 1.0f;
    bool trans_a = false, trans_b = false;
    // Clip / LeakyRelu / HardSigmoid
    float min = -3.402823466e38f, max = 3.402823466e38f;
    float slope = 0.01f;           // LeakyRelu alpha
    float hs_alpha = 0.2f, hs_beta = 0.5f;
    // Flatten / Concat / Softmax axis (may be negative until resolved against a rank)
    int64_t axis = 1;
    bool softmax_legacy = false;   // opset < 13: coerce to 2-D at `axis`
    // Transpose
    std::vector<int64_t> perm;
    // Reshape target (ONNX semantics: 0 copies, -1 infers)
    std::vector<int64_t> shape;
    bool allow_zero = false;
    // Pad: ONNX order {x1_begin, x2_begin, ..., x1_end, x2_end, ...}
    std::vector<int64_t> pad_amounts;
    PadMode pad_mode = PadMode::Constant;
    float pad_value = 0.0f;
};

struct Node {
    OpType op;
    std::string name;        // ONNX node name (made unique at import when empty)
    std::string onnx_op;     // original ONNX op type, e.g. "Gemm" for a Linear
    std::vector<int> inputs; // value ids (runtime inputs; for Conv/Linear: x, W, optional b)
    int output = -1;         // value id
    NodeAttrs attrs;
    std::vector<std::string> folded;  // names of nodes folded into this one (e.g. BatchNormalization)
};

struct Value {
    std::string name;
    Shape shape;                  // inferred with the model's declared batch (1 when symbolic)
    bool is_constant = false;
    Tensor data;                  // constants (float) only
    std::vector<int64_t> ints;    // int64 constants (shapes, pads) when the initializer is integral
};

struct Graph {
    std::vector<Value> values;
    std::vector<Node> nodes;      // topologically ordered
    std::vector<int> inputs;      // runtime graph inputs; inputs[0] is the one datasets feed
    std::vector<int> outputs;     // graph outputs
    int64_t opset = 0;
    int64_t import_batch = 1;     // batch the model declares (1 when the batch dim is symbolic)
    std::string producer;
    std::string source;           // file it was loaded from
    std::map<std::string, std::string> metadata;  // ONNX metadata_props

    int find_value(const std::string& name) const;  // -1 when absent
    const Value& value(int id) const { return values.at(static_cast<size_t>(id)); }
    Value& value(int id) { return values.at(static_cast<size_t>(id)); }
    int input() const { return inputs.at(0); }
    const Shape& input_shape() const { return value(input()).shape; }
};

// How a backend walks a graph, the same for every backend: when each value can be freed, and
// which Relu/Clip become the epilogue of the Conv/Linear before them.
struct GraphSchedule {
    std::vector<int> last_use;          // per value: index of the last node reading it (nodes.size()
                                        // for graph outputs, kept to the end; -1 when never read)
    std::vector<int> fused_activation;  // per node: the Relu/Clip fused into it (Conv, Linear, Add,
                                        // Sub, Mul, Div), or -1
};
GraphSchedule schedule_graph(const Graph& graph);

// Throws Error unless `inputs` are one tensor per graph input, each of the declared shape except
// for the batch dimension: what every backend's forward() checks first.
void check_graph_inputs(const Graph& graph, const std::vector<Tensor>& inputs);

// Per-layer figures for `inspect` and, later, the cost model.
struct LayerStats {
    int64_t macs = 0;        // multiply-accumulates per sample
    int64_t params = 0;      // weights + biases
    int64_t rows = 0;        // MVM layers: K (inputs per output, per group)
    int64_t cols = 0;        // MVM layers: N (outputs)
    int64_t mvms = 0;        // MVM layers: matrix-vector products per sample (output pixels)
};
LayerStats layer_stats(const Graph& graph, const Node& node);

}  // namespace xbarsim
