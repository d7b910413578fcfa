// ONNX ModelProto → Graph: one translation function per ONNX op family, strict validation of
// inputs and attributes, then shape inference and BatchNorm folding.
#include "xbarsim/onnx_import.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "dataset_impl.hpp"
#include "onnx_tensor.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim {

namespace {

// Strict UTF-8 (RFC 3629): no overlong forms, surrogates or code points past U+10FFFF.
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        size_t len = 0;
        uint32_t cp = 0;
        if (b < 0x80) { ++i; continue; }
        if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
        else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
        else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
        else return false;
        if (i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (c & 0x3F);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

constexpr int64_t kMinOpset = 11;
constexpr int64_t kMaxOpset = 17;

class Importer {
public:
    Importer(const onnx::ModelProto& model, std::string origin) : model_(model), origin_(std::move(origin)) {}

    Graph run() {
        read_opset();
        const auto& g = model_.graph();
        graph_.producer = model_.producer_name() + (model_.producer_version().empty() ? "" : " " + model_.producer_version());
        graph_.source = origin_;
        for (const auto& p : model_.metadata_props()) graph_.metadata[p.key()] = p.value();
        for (const auto& init : g.initializer()) add_constant(decode_tensor(init, where_initializer(init.name())));
        read_inputs();
        for (int i = 0; i < g.node_size(); ++i) translate(g.node(i), i);
        if (g.output_size() == 0) throw Error(origin_ + ": the graph declares no outputs");
        for (const auto& out : g.output()) {
            const int id = lookup(out.name(), "graph output");
            graph_.outputs.push_back(id);
        }
        return std::move(graph_);
    }

private:
    const onnx::ModelProto& model_;
    std::string origin_;
    Graph graph_;
    std::unordered_map<std::string, int> ids_;  // tensor name → value id (aliases included)
    int64_t opset_ = 0;

    std::string where_initializer(const std::string& name) const { return origin_ + ": initializer '" + name + "'"; }

    void read_opset() {
        for (const auto& o : model_.opset_import()) {
            if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
        }
        if (opset_ == 0) throw Error(origin_ + ": the model imports no default-domain (ai.onnx) opset");
        if (opset_ < kMinOpset || opset_ > kMaxOpset)
            throw Error(origin_ + ": opset " + std::to_string(opset_) + " is not supported (xbarsim reads opsets " +
                        std::to_string(kMinOpset) + "-" + std::to_string(kMaxOpset) +
                        "); re-export with opset_version between them");
        graph_.opset = opset_;
    }

    int add_value(Value v) {
        graph_.values.push_back(std::move(v));
        const int id = static_cast<int>(graph_.values.size() - 1);
        ids_[graph_.values.back().name] = id;
        return id;
    }

    int add_constant(Value v) { return add_value(std::move(v)); }

    // Runtime inputs are the graph inputs that no initializer defines (older exporters list
    // initializers as inputs too). Only dimension 0, the batch, may be symbolic.
    void read_inputs() {
        for (const auto& in : model_.graph().input()) {
            if (ids_.count(in.name())) continue;
            const auto& type = in.type();
            if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT)
                throw Error(origin_ + ": graph input '" + in.name() + "' must be a float32 tensor");
            Value v;
            v.name = in.name();
            const auto& dims = type.tensor_type().shape().dim();
            for (int i = 0; i < dims.size(); ++i) {
                const auto& d = dims[i];
                if (d.has_dim_value() && d.dim_value() > 0) {
                    v.shape.push_back(d.dim_value());
                } else if (i == 0) {
                    v.shape.push_back(1);  // symbolic batch
                } else {
                    throw Error(origin_ + ": graph input '" + in.name() + "' has a symbolic dimension '" + d.dim_param() +
                                "' at position " + std::to_string(i) +
                                "; xbarsim needs a fixed sample shape (only the batch may be symbolic)");
                }
            }
            if (v.shape.empty()) throw Error(origin_ + ": graph input '" + in.name() + "' has no shape");
            if (graph_.inputs.empty()) graph_.import_batch = v.shape[0];
            graph_.inputs.push_back(add_value(std::move(v)));
        }
        if (graph_.inputs.empty()) throw Error(origin_ + ": the graph has no runtime input");
    }

    int lookup(const std::string& name, const std::string& user) const {
        auto it = ids_.find(name);
        if (it == ids_.end())
            throw Error(origin_ + ": " + user + " uses tensor '" + name +
                        "', which no earlier node, initializer or input produces");
        return it->second;
    }

    // ---------------------------------------------------------------- per-node helpers
    struct Ctx {
        const onnx::NodeProto& proto;
        std::string name;
        std::string where() const { return "node '" + name + "' (" + proto.op_type() + ")"; }
    };

    [[noreturn]] void fail(const Ctx& c, const std::string& msg) const { throw Error(origin_ + ": " + c.where() + ": " + msg); }

    const onnx::AttributeProto* attr(const Ctx& c, const char* name) const {
        for (const auto& a : c.proto.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }

    void check_attrs(const Ctx& c, std::initializer_list<const char*> allowed) const {
        for (const auto& a : c.proto.attribute()) {
            bool ok = false;
            for (const char* n : allowed) ok = ok || a.name() == n;
            if (!ok) fail(c, "attribute '" + a.name() + "' is not supported");
        }
    }

    int64_t attr_int(const Ctx& c, const char* name, int64_t fallback) const {
        const auto* a = attr(c, name);
        if (!a) return fallback;
        if (a->type() != onnx::AttributeProto::INT) fail(c, std::string("attribute '") + name + "' must be an int");
        return a->i();
    }
    float attr_float(const Ctx& c, const char* name, float fallback) const {
        const auto* a = attr(c, name);
        if (!a) return fallback;
        if (a->type() != onnx::AttributeProto::FLOAT) fail(c, std::string("attribute '") + name + "' must be a float");
        return a->f();
    }
    std::vector<int64_t> attr_ints(const Ctx& c, const char* name) const {
        const auto* a = attr(c, name);
        if (!a) return {};
        if (a->type() != onnx::AttributeProto::INTS) fail(c, std::string("attribute '") + name + "' must be a list of ints");
        return {a->ints().begin(), a->ints().end()};
    }
    std::string attr_string(const Ctx& c, const char* name, const std::string& fallback) const {
        const auto* a = attr(c, name);
        if (!a) return fallback;
        if (a->type() != onnx::AttributeProto::STRING) fail(c, std::string("attribute '") + name + "' must be a string");
        return a->s();
    }

    // Inputs actually given (ONNX marks skipped optional inputs with an empty name).
    size_t input_count(const Ctx& c) const {
        size_t n = static_cast<size_t>(c.proto.input_size());
        while (n > 0 && c.proto.input(static_cast<int>(n - 1)).empty()) --n;
        return n;
    }
    void require_inputs(const Ctx& c, size_t lo, size_t hi) const {
        const size_t n = input_count(c);
        if (n < lo || n > hi)
            fail(c, "has " + std::to_string(n) + " inputs, expected " +
                        (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)));
    }
    bool has_input(const Ctx& c, int i) const { return c.proto.input_size() > i && !c.proto.input(i).empty(); }
    int input_id(const Ctx& c, int i) const { return lookup(c.proto.input(i), c.where()); }
    const Value& constant_input(const Ctx& c, int i, const char* role) const {
        const Value& v = graph_.value(input_id(c, i));
        if (!v.is_constant) fail(c, std::string(role) + " '" + c.proto.input(i) + "' must be a constant (initializer)");
        return v;
    }

    // A trained layer's parameters are finite: a NaN or infinite weight (a diverged training, a
    // corrupt file) would make every accuracy figure meaningless without any other sign.
    void require_finite(const Ctx& c, const Tensor& t, const std::string& what) const {
        for (size_t k = 0; k < t.data.size(); ++k)
            if (!std::isfinite(t.data[k]))
                fail(c, what + " holds " + (std::isnan(t.data[k]) ? "NaN" : "an infinity") + " (element " + std::to_string(k) +
                            " of " + shape_str(t.shape) + ")");
    }
    const Value& finite_constant_input(const Ctx& c, int i, const char* role) const {
        const Value& v = constant_input(c, i, role);
        require_finite(c, v.data, std::string(role) + " '" + c.proto.input(i) + "'");
        return v;
    }

    int emit(const Ctx& c, OpType op, std::vector<int> inputs, NodeAttrs attrs = {}) {
        if (c.proto.output_size() < 1 || c.proto.output(0).empty()) fail(c, "has no output");
        for (int i = 1; i < c.proto.output_size(); ++i)
            if (!c.proto.output(i).empty()) fail(c, "optional output '" + c.proto.output(i) + "' is not supported");
        Node n;
        n.op = op;
        n.name = c.name;
        n.onnx_op = c.proto.op_type();
        n.inputs = std::move(inputs);
        n.attrs = std::move(attrs);
        std::vector<Shape> shapes;
        for (int id : n.inputs) shapes.push_back(graph_.value(id).shape);
        Value out;
        out.name = c.proto.output(0);
        try {
            out.shape = infer_shape(n, shapes, graph_.import_batch);
        } catch (const Error& e) {
            throw Error(origin_ + ": " + e.what());  // the message names the node already
        }
        n.output = add_value(std::move(out));
        graph_.nodes.push_back(std::move(n));
        return graph_.nodes.back().output;
    }

    // Makes the node's output another name for value `id`. Extra outputs (Dropout's mask) are
    // accepted only when nothing reads them.
    void alias(const Ctx& c, int id) {
        for (int i = 1; i < c.proto.output_size(); ++i)
            if (!c.proto.output(i).empty() && is_read(c.proto.output(i)))
                fail(c, "optional output '" + c.proto.output(i) + "' is used, which is not supported");
        ids_[c.proto.output(0)] = id;
    }

    bool is_read(const std::string& name) const {
        const auto& g = model_.graph();
        for (const auto& n : g.node())
            for (const auto& in : n.input())
                if (in == name) return true;
        for (const auto& out : g.output())
            if (out.name() == name) return true;
        return false;
    }

    // Window attributes shared by Conv, MaxPool and AveragePool.
    void window_attrs(const Ctx& c, NodeAttrs& a, bool needs_kernel) const {
        auto two = [&](const char* name, std::array<int64_t, 2>& dst) {
            auto v = attr_ints(c, name);
            if (v.empty()) return;
            if (v.size() != 2)
                fail(c, std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                            " entries; only 2-D windows are supported");
            if (v[0] <= 0 || v[1] <= 0) fail(c, std::string("attribute '") + name + "' must be positive");
            dst = {v[0], v[1]};
        };
        if (needs_kernel && attr_ints(c, "kernel_shape").empty()) fail(c, "attribute 'kernel_shape' is required");
        two("kernel_shape", a.kernel);
        two("strides", a.strides);
        two("dilations", a.dilations);
        auto pads = attr_ints(c, "pads");
        if (!pads.empty()) {
            if (pads.size() != 4)
                fail(c, "attribute 'pads' has " + std::to_string(pads.size()) + " entries; only 2-D windows are supported");
            for (auto p : pads)
                if (p < 0) fail(c, "attribute 'pads' must not be negative");
            a.pads = {pads[0], pads[1], pads[2], pads[3]};  // ONNX: h_begin, w_begin, h_end, w_end
        }
        const std::string ap = attr_string(c, "auto_pad", "NOTSET");
        if (ap == "NOTSET") a.auto_pad = AutoPad::NotSet;
        else if (ap == "SAME_UPPER") a.auto_pad = AutoPad::SameUpper;
        else if (ap == "SAME_LOWER") a.auto_pad = AutoPad::SameLower;
        else if (ap == "VALID") a.auto_pad = AutoPad::Valid;
        else fail(c, "attribute 'auto_pad' value '" + ap + "' is not supported");
    }

    void require_rank4_input(const Ctx& c) const {
        const Shape& s = graph_.value(input_id(c, 0)).shape;
        if (s.size() != 4)
            fail(c, "input '" + c.proto.input(0) + "' has shape " + shape_str(s) + "; only 2-D (NCHW) windows are supported");
    }

    // ---------------------------------------------------------------- translation
    void translate(const onnx::NodeProto& p, int index) {
        Ctx c{p, p.name().empty() ? p.op_type() + "_" + std::to_string(index) : p.name()};
        // Node names become keys of ranges files and reports (YAML and JSON, both UTF-8 only).
        if (!valid_utf8(c.name))
            throw Error(origin_ + ": node " + std::to_string(index) + " (" + p.op_type() + ") has a name that is not valid UTF-8");
        if (!p.domain().empty() && p.domain() != "ai.onnx")
            fail(c, "op domain '" + p.domain() + "' is not supported (only the default ONNX domain is)");
        using Handler = void (Importer::*)(const Ctx&);
        static const std::unordered_map<std::string, Handler> handlers = {
            {"Conv", &Importer::conv},           {"Gemm", &Importer::gemm},
            {"MatMul", &Importer::matmul},       {"Add", &Importer::binary},
            {"Sub", &Importer::binary},          {"Mul", &Importer::binary},
            {"Div", &Importer::binary},          {"Relu", &Importer::unary},
            {"Sigmoid", &Importer::unary},       {"Tanh", &Importer::unary},
            {"HardSwish", &Importer::unary},     {"LeakyRelu", &Importer::leaky_relu},
            {"HardSigmoid", &Importer::hard_sigmoid}, {"Clip", &Importer::clip},
            {"MaxPool", &Importer::max_pool},    {"AveragePool", &Importer::average_pool},
            {"GlobalAveragePool", &Importer::global_average_pool},
            {"BatchNormalization", &Importer::batch_norm},
            {"Flatten", &Importer::flatten},     {"Reshape", &Importer::reshape},
            {"Transpose", &Importer::transpose}, {"Concat", &Importer::concat},
            {"Softmax", &Importer::softmax},     {"Pad", &Importer::pad},
            {"Identity", &Importer::identity},   {"Dropout", &Importer::dropout},
            {"Constant", &Importer::constant},
        };
        auto it = handlers.find(p.op_type());
        if (it == handlers.end())
            throw Error(origin_ + ": unsupported op '" + p.op_type() + "' in node '" + c.name +
                        "' (supported: Conv, Gemm, MatMul, Add, Sub, Mul, Div, Relu, Clip, LeakyRelu, Sigmoid, "
                        "HardSigmoid, HardSwish, Tanh, MaxPool, AveragePool, GlobalAveragePool, "
                        "BatchNormalization, Flatten, Reshape, Transpose, Concat, Softmax, Pad, Identity, "
                        "Dropout, Constant)");
        // ONNX graphs are single-assignment: a second producer of a name would silently replace
        // the first one's value for every later reader.
        for (const auto& out : p.output())
            if (!out.empty() && ids_.count(out))
                fail(c, "its output '" + out + "' is already produced by an earlier node, initializer or input");
        (this->*(it->second))(c);
    }

    void conv(const Ctx& c) {
        check_attrs(c, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
        require_inputs(c, 2, 3);
        NodeAttrs a;
        window_attrs(c, a, false);  // first, so a 1-D/3-D conv is reported by its attribute
        const Value& w = finite_constant_input(c, 1, "weight");
        if (w.shape.size() != 4)
            fail(c, "weight has shape " + shape_str(w.shape) + "; only 2-D convolutions are supported (attribute 'kernel_shape')");
        require_rank4_input(c);
        if (attr_ints(c, "kernel_shape").empty()) a.kernel = {w.shape[2], w.shape[3]};
        if (a.kernel[0] != w.shape[2] || a.kernel[1] != w.shape[3])
            fail(c, "attribute 'kernel_shape' does not match the weight shape " + shape_str(w.shape));
        a.group = attr_int(c, "group", 1);
        if (a.group < 1 || w.shape[0] % a.group) fail(c, "attribute 'group' = " + std::to_string(a.group) + " does not divide the output channels");
        std::vector<int> in{input_id(c, 0), input_id(c, 1)};
        if (has_input(c, 2)) {
            const Value& b = finite_constant_input(c, 2, "bias");
            if (numel(b.shape) != w.shape[0]) fail(c, "bias has shape " + shape_str(b.shape) + ", expected [" + std::to_string(w.shape[0]) + "]");
            in.push_back(input_id(c, 2));
        }
        emit(c, OpType::Conv, in, a);
    }

    // A constant-weight matrix product becomes a Linear layer with W [N, K] and bias [N].
    int linear(const Ctx& c, int x, Tensor weight_nk, const Tensor* bias) {
        require_finite(c, weight_nk, "weight '" + c.proto.input(1) + "'");
        if (bias) require_finite(c, *bias, "bias");
        Value w;
        w.name = c.name + ".weight";
        w.is_constant = true;
        w.shape = weight_nk.shape;
        w.data = std::move(weight_nk);
        std::vector<int> in{x, add_constant(std::move(w))};
        if (bias) {
            Value b;
            b.name = c.name + ".bias";
            b.is_constant = true;
            b.shape = bias->shape;
            b.data = *bias;
            in.push_back(add_constant(std::move(b)));
        }
        return emit(c, OpType::Linear, in);
    }

    static Tensor transpose2d(const Tensor& t) {
        const int64_t r = t.shape[0], k = t.shape[1];
        Tensor out({k, r});
        for (int64_t i = 0; i < r; ++i)
            for (int64_t j = 0; j < k; ++j) out.data[static_cast<size_t>(j * r + i)] = t.data[static_cast<size_t>(i * k + j)];
        return out;
    }

    void gemm(const Ctx& c) {
        check_attrs(c, {"alpha", "beta", "transA", "transB"});
        require_inputs(c, 2, 3);
        NodeAttrs a;
        a.alpha = attr_float(c, "alpha", 1.0f);
        a.beta = attr_float(c, "beta", 1.0f);
        a.trans_a = attr_int(c, "transA", 0) != 0;
        a.trans_b = attr_int(c, "transB", 0) != 0;
        const Value& b = graph_.value(input_id(c, 1));
        const Value* cv = has_input(c, 2) ? &graph_.value(input_id(c, 2)) : nullptr;
        // A Linear layer needs a bias that is the same for every row: shape [N], [1, N] or scalar.
        const int64_t n_out = b.shape.size() == 2 ? b.shape[a.trans_b ? 0 : 1] : -1;
        const int64_t c_count = cv ? numel(cv->shape) : 0;
        const bool per_col = cv && c_count == n_out && (cv->shape.size() == 1 || (cv->shape.size() == 2 && cv->shape[0] == 1));
        const bool row_independent_bias = !cv || (cv->is_constant && (per_col || c_count == 1));
        if (b.is_constant && !a.trans_a && b.shape.size() == 2 && row_independent_bias) {
            Tensor w = a.trans_b ? b.data : transpose2d(b.data);  // → [N, K]
            const int64_t n = w.shape[0];
            for (auto& x : w.data) x *= a.alpha;
            if (cv) {
                Tensor bias({n});
                for (int64_t i = 0; i < n; ++i) bias.data[static_cast<size_t>(i)] = a.beta * cv->data.data[static_cast<size_t>(per_col ? i : 0)];
                linear(c, input_id(c, 0), std::move(w), &bias);
            } else {
                linear(c, input_id(c, 0), std::move(w), nullptr);
            }
            return;
        }
        std::vector<int> in{input_id(c, 0), input_id(c, 1)};
        if (cv) in.push_back(input_id(c, 2));
        emit(c, OpType::Gemm, in, a);
    }

    void matmul(const Ctx& c) {
        check_attrs(c, {});
        require_inputs(c, 2, 2);
        const Value& b = graph_.value(input_id(c, 1));
        const Value& x = graph_.value(input_id(c, 0));
        if (b.is_constant && b.shape.size() == 2 && !x.is_constant && x.shape.size() >= 2) {
            linear(c, input_id(c, 0), transpose2d(b.data), nullptr);
            return;
        }
        emit(c, OpType::MatMul, {input_id(c, 0), input_id(c, 1)});
    }

    void binary(const Ctx& c) {
        check_attrs(c, {});
        require_inputs(c, 2, 2);
        static const std::unordered_map<std::string, OpType> ops = {
            {"Add", OpType::Add}, {"Sub", OpType::Sub}, {"Mul", OpType::Mul}, {"Div", OpType::Div}};
        emit(c, ops.at(c.proto.op_type()), {input_id(c, 0), input_id(c, 1)});
    }

    void unary(const Ctx& c) {
        check_attrs(c, {});
        require_inputs(c, 1, 1);
        static const std::unordered_map<std::string, OpType> ops = {
            {"Relu", OpType::Relu}, {"Sigmoid", OpType::Sigmoid}, {"Tanh", OpType::Tanh}, {"HardSwish", OpType::HardSwish}};
        emit(c, ops.at(c.proto.op_type()), {input_id(c, 0)});
    }

    void leaky_relu(const Ctx& c) {
        check_attrs(c, {"alpha"});
        require_inputs(c, 1, 1);
        NodeAttrs a;
        a.slope = attr_float(c, "alpha", 0.01f);
        emit(c, OpType::LeakyRelu, {input_id(c, 0)}, a);
    }

    void hard_sigmoid(const Ctx& c) {
        check_attrs(c, {"alpha", "beta"});
        require_inputs(c, 1, 1);
        NodeAttrs a;
        a.hs_alpha = attr_float(c, "alpha", 0.2f);
        a.hs_beta = attr_float(c, "beta", 0.5f);
        emit(c, OpType::HardSigmoid, {input_id(c, 0)}, a);
    }

    float scalar_input(const Ctx& c, int i, const char* role) const {
        const Value& v = constant_input(c, i, role);
        if (numel(v.shape) != 1) fail(c, std::string(role) + " must be a scalar, got shape " + shape_str(v.shape));
        return v.data.data.at(0);
    }

    void clip(const Ctx& c) {
        check_attrs(c, {});
        require_inputs(c, 1, 3);
        NodeAttrs a;
        if (has_input(c, 1)) a.min = scalar_input(c, 1, "min");
        if (has_input(c, 2)) a.max = scalar_input(c, 2, "max");
        emit(c, OpType::Clip, {input_id(c, 0)}, a);
    }

    void max_pool(const Ctx& c) {
        check_attrs(c, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
        require_inputs(c, 1, 1);
        require_rank4_input(c);
        if (attr_int(c, "storage_order", 0) != 0) fail(c, "attribute 'storage_order' = 1 (column-major indices) is not supported");
        NodeAttrs a;
        window_attrs(c, a, true);
        a.ceil_mode = attr_int(c, "ceil_mode", 0) != 0;
        emit(c, OpType::MaxPool, {input_id(c, 0)}, a);
    }

    void average_pool(const Ctx& c) {
        check_attrs(c, {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"});
        require_inputs(c, 1, 1);
        require_rank4_input(c);
        NodeAttrs a;
        window_attrs(c, a, true);
        if (a.dilations[0] != 1 || a.dilations[1] != 1) fail(c, "attribute 'dilations' other than 1 is not supported for AveragePool");
        a.ceil_mode = attr_int(c, "ceil_mode", 0) != 0;
        a.count_include_pad = attr_int(c, "count_include_pad", 0) != 0;
        emit(c, OpType::AveragePool, {input_id(c, 0)}, a);
    }

    void global_average_pool(const Ctx& c) {
        check_attrs(c, {});
        require_inputs(c, 1, 1);
        emit(c, OpType::GlobalAveragePool, {input_id(c, 0)});
    }

    void batch_norm(const Ctx& c) {
        check_attrs(c, {"epsilon", "momentum", "training_mode", "spatial"});
        require_inputs(c, 5, 5);
        if (attr_int(c, "training_mode", 0) != 0) fail(c, "attribute 'training_mode' = 1 is not supported (inference only)");
        if (attr_int(c, "spatial", 1) != 1) fail(c, "attribute 'spatial' = 0 is not supported");
        const float eps = attr_float(c, "epsilon", 1e-5f);
        const Value& gamma = finite_constant_input(c, 1, "scale");
        const Value& beta = finite_constant_input(c, 2, "B");
        const Value& mean = finite_constant_input(c, 3, "mean");
        const Value& var = finite_constant_input(c, 4, "var");
        const int64_t ch = numel(gamma.shape);
        for (const Value* v : {&beta, &mean, &var})
            if (numel(v->shape) != ch) fail(c, "parameter '" + v->name + "' has " + std::to_string(numel(v->shape)) + " values, scale has " + std::to_string(ch));
        for (size_t k = 0; k < var.data.data.size(); ++k)
            if (!(static_cast<double>(var.data.data[k]) + eps > 0.0))
                fail(c, "variance '" + var.name + "' is " + std::to_string(var.data.data[k]) + " at channel " + std::to_string(k) +
                            ": variance + epsilon must be positive");
        // Precompute y = x * scale + shift once; folding and the standalone op both use it.
        Tensor scale({ch}), shift({ch});
        for (int64_t i = 0; i < ch; ++i) {
            const auto k = static_cast<size_t>(i);
            const double s = gamma.data.data[k] / std::sqrt(static_cast<double>(var.data.data[k]) + eps);
            scale.data[k] = static_cast<float>(s);
            shift.data[k] = static_cast<float>(beta.data.data[k] - mean.data.data[k] * s);
        }
        Value sv, hv;
        sv.name = c.name + ".scale";
        hv.name = c.name + ".shift";
        sv.is_constant = hv.is_constant = true;
        sv.shape = hv.shape = {ch};
        sv.data = std::move(scale);
        hv.data = std::move(shift);
        const Shape& xs = graph_.value(input_id(c, 0)).shape;
        if (xs.size() < 2 || xs[1] != ch) fail(c, "input " + shape_str(xs) + " does not have " + std::to_string(ch) + " channels on axis 1");
        emit(c, OpType::BatchNorm, {input_id(c, 0), add_constant(std::move(sv)), add_constant(std::move(hv))});
    }

    void flatten(const Ctx& c) {
        check_attrs(c, {"axis"});
        require_inputs(c, 1, 1);
        NodeAttrs a;
        a.axis = attr_int(c, "axis", 1);
        emit(c, OpType::Flatten, {input_id(c, 0)}, a);
    }

    void reshape(const Ctx& c) {
        check_attrs(c, {"allowzero"});
        require_inputs(c, 2, 2);
        const Value& s = constant_input(c, 1, "shape");
        if (s.ints.empty() && numel(s.shape) != 0) fail(c, "shape input '" + s.name + "' must be an int64 tensor");
        NodeAttrs a;
        a.shape = s.ints;
        a.allow_zero = attr_int(c, "allowzero", 0) != 0;
        emit(c, OpType::Reshape, {input_id(c, 0)}, a);
    }

    void transpose(const Ctx& c) {
        check_attrs(c, {"perm"});
        require_inputs(c, 1, 1);
        NodeAttrs a;
        a.perm = attr_ints(c, "perm");
        if (a.perm.empty()) {  // ONNX default: reverse the dimensions
            const auto rank = static_cast<int64_t>(graph_.value(input_id(c, 0)).shape.size());
            for (int64_t i = rank - 1; i >= 0; --i) a.perm.push_back(i);
        }
        emit(c, OpType::Transpose, {input_id(c, 0)}, a);
    }

    void concat(const Ctx& c) {
        check_attrs(c, {"axis"});
        if (input_count(c) < 1) fail(c, "has no inputs");
        if (!attr(c, "axis")) fail(c, "attribute 'axis' is required");
        NodeAttrs a;
        a.axis = attr_int(c, "axis", 0);
        std::vector<int> in;
        for (int i = 0; i < c.proto.input_size(); ++i) in.push_back(input_id(c, i));
        emit(c, OpType::Concat, in, a);
    }

    void softmax(const Ctx& c) {
        check_attrs(c, {"axis"});
        require_inputs(c, 1, 1);
        NodeAttrs a;
        a.softmax_legacy = opset_ < 13;
        a.axis = attr_int(c, "axis", a.softmax_legacy ? 1 : -1);
        emit(c, OpType::Softmax, {input_id(c, 0)}, a);
    }

    void pad(const Ctx& c) {
        check_attrs(c, {"mode"});
        require_inputs(c, 2, 3);
        NodeAttrs a;
        const std::string mode = attr_string(c, "mode", "constant");
        if (mode == "constant") a.pad_mode = PadMode::Constant;
        else if (mode == "reflect") a.pad_mode = PadMode::Reflect;
        else if (mode == "edge") a.pad_mode = PadMode::Edge;
        else fail(c, "attribute 'mode' value '" + mode + "' is not supported (constant, reflect, edge)");
        const Value& pads = constant_input(c, 1, "pads");
        a.pad_amounts = pads.ints;
        if (has_input(c, 2)) a.pad_value = scalar_input(c, 2, "constant_value");
        emit(c, OpType::Pad, {input_id(c, 0)}, a);
    }

    void identity(const Ctx& c) {
        check_attrs(c, {});
        require_inputs(c, 1, 1);
        alias(c, input_id(c, 0));
    }

    void dropout(const Ctx& c) {
        check_attrs(c, {"seed", "ratio", "is_test"});
        require_inputs(c, 1, 3);
        if (has_input(c, 2)) {
            const Value& t = constant_input(c, 2, "training_mode");
            if (!t.data.data.empty() && t.data.data[0] != 0.0f) fail(c, "training_mode = true is not supported (inference only)");
        }
        alias(c, input_id(c, 0));  // inference: identity
    }

    void constant(const Ctx& c) {
        if (c.proto.attribute_size() != 1) fail(c, "must have exactly one value attribute");
        const auto& at = c.proto.attribute(0);
        Value v;
        if (at.name() == "value") {
            v = decode_tensor(at.t(), origin_ + ": " + c.where());
        } else if (at.name() == "value_float") {
            v.is_constant = true;
            v.data = Tensor({}, {at.f()});
        } else if (at.name() == "value_floats") {
            v.is_constant = true;
            v.shape = {at.floats_size()};
            v.data = Tensor(v.shape, {at.floats().begin(), at.floats().end()});
        } else if (at.name() == "value_int") {
            v.is_constant = true;
            v.ints = {at.i()};
            v.data = Tensor({}, {static_cast<float>(at.i())});
        } else if (at.name() == "value_ints") {
            v.is_constant = true;
            v.shape = {at.ints_size()};
            v.ints.assign(at.ints().begin(), at.ints().end());
            v.data = Tensor(v.shape, std::vector<float>(v.ints.begin(), v.ints.end()));
        } else {
            fail(c, "attribute '" + at.name() + "' is not supported");
        }
        v.name = c.proto.output(0);
        add_constant(std::move(v));
    }
};

}  // namespace

Graph parse_onnx(const std::string& bytes, const std::string& origin, const ImportOptions& options) {
    onnx::ModelProto model;
    if (bytes.empty()) throw Error(origin + ": file is empty, not an ONNX model");
    if (!model.ParseFromString(bytes))
        throw Error(origin + ": not a valid ONNX model (protobuf parsing failed; the file may be truncated or of another format)");
    if (!model.has_graph() || model.graph().node_size() == 0)
        throw Error(origin + ": not a valid ONNX model (it has no graph nodes; the file may be truncated or of another format)");
    Graph g = Importer(model, origin).run();
    if (options.fold_batchnorm) fold_batchnorm(g);
    return g;
}

Graph load_onnx(const std::string& path, const ImportOptions& options) {
    if (!std::ifstream(path, std::ios::binary)) throw Error(path + ": cannot open model file");
    // Plain .onnx, or gzip-compressed (.onnx.gz: models whose weights compress well stay small
    // in the working tree); zlib reads uncompressed files as they are.
    const std::vector<uint8_t> bytes = detail::read_file_maybe_gz(path);
    return parse_onnx(std::string(bytes.begin(), bytes.end()), path, options);
}

}  // namespace xbarsim
