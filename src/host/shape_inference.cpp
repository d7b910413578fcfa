#include "xbarsim/shape_inference.hpp"

#include <algorithm>
#include <optional>

#include "xbarsim/error.hpp"

namespace xbarsim {

namespace {

[[noreturn]] void fail(const Node& node, const std::string& msg) {
    throw Error("node '" + node.name + "' (" + node.onnx_op + "): " + msg);
}

void require_rank(const Node& node, const Shape& s, size_t rank, const char* what) {
    if (s.size() != rank)
        fail(node, std::string(what) + " must have rank " + std::to_string(rank) + ", got " + shape_str(s));
}

// ONNX output size of one pooled/convolved dimension, explicit pads.
int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pad_begin, int64_t pad_end,
                   bool ceil_mode) {
    const int64_t eff = (k - 1) * dil + 1;
    const int64_t span = in + pad_begin + pad_end - eff;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    // ONNX/PyTorch: with ceil_mode the last window must start inside the input or its begin padding.
    if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
    return out;
}

}  // namespace

WindowGeometry window_geometry(const NodeAttrs& a, int64_t in_h, int64_t in_w) {
    WindowGeometry g;
    g.in_h = in_h;
    g.in_w = in_w;
    g.kernel_h = a.kernel[0];
    g.kernel_w = a.kernel[1];
    g.stride_h = a.strides[0];
    g.stride_w = a.strides[1];
    g.dilation_h = a.dilations[0];
    g.dilation_w = a.dilations[1];
    if (a.auto_pad == AutoPad::SameUpper || a.auto_pad == AutoPad::SameLower) {
        // Output = ceil(in / stride); total padding split with the extra pixel at the end
        // (SAME_UPPER, TensorFlow's convention) or at the beginning (SAME_LOWER).
        auto split = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t& begin, int64_t& end, int64_t& out) {
            out = (in + s - 1) / s;
            const int64_t total = std::max<int64_t>((out - 1) * s + (k - 1) * d + 1 - in, 0);
            const int64_t small = total / 2;
            begin = a.auto_pad == AutoPad::SameUpper ? small : total - small;
            end = total - begin;
        };
        split(in_h, g.kernel_h, g.stride_h, g.dilation_h, g.pad_top, g.pad_bottom, g.out_h);
        split(in_w, g.kernel_w, g.stride_w, g.dilation_w, g.pad_left, g.pad_right, g.out_w);
        return g;
    }
    if (a.auto_pad == AutoPad::NotSet) {
        g.pad_top = a.pads[0];
        g.pad_left = a.pads[1];
        g.pad_bottom = a.pads[2];
        g.pad_right = a.pads[3];
    }
    g.out_h = window_out(in_h, g.kernel_h, g.stride_h, g.dilation_h, g.pad_top, g.pad_bottom, a.ceil_mode);
    g.out_w = window_out(in_w, g.kernel_w, g.stride_w, g.dilation_w, g.pad_left, g.pad_right, a.ceil_mode);
    return g;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& node_name) {
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= std::max<int64_t>(rank, 1))
        throw Error("node '" + node_name + "': axis " + std::to_string(axis) + " out of range for rank " +
                    std::to_string(rank));
    return a;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& node_name) {
    const size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1)
            throw Error("node '" + node_name + "': shapes " + shape_str(a) + " and " + shape_str(b) +
                        " cannot be broadcast");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

namespace {

Shape infer_shape_unchecked(const Node& node, const std::vector<Shape>& in, int64_t import_batch) {
    const auto& a = node.attrs;
    switch (node.op) {
    case OpType::Conv: {
        require_rank(node, in[0], 4, "input");
        require_rank(node, in[1], 4, "weight");
        const int64_t channels = in[0][1];
        if (channels != in[1][1] * a.group)
            fail(node, "input has " + std::to_string(channels) + " channels but weight " + shape_str(in[1]) +
                           " with group " + std::to_string(a.group) + " expects " +
                           std::to_string(in[1][1] * a.group));
        const auto g = window_geometry(a, in[0][2], in[0][3]);
        if (g.out_h <= 0 || g.out_w <= 0) fail(node, "input " + shape_str(in[0]) + " is smaller than the kernel");
        return {in[0][0], in[1][0], g.out_h, g.out_w};
    }
    case OpType::MaxPool:
    case OpType::AveragePool: {
        require_rank(node, in[0], 4, "input");
        const auto g = window_geometry(a, in[0][2], in[0][3]);
        // As ONNX Runtime and PyTorch: a pad as wide as the (dilated) kernel would give windows
        // that see only padding (-inf for MaxPool).
        const int64_t eff_h = (g.kernel_h - 1) * g.dilation_h + 1, eff_w = (g.kernel_w - 1) * g.dilation_w + 1;
        if (std::max(g.pad_top, g.pad_bottom) >= eff_h || std::max(g.pad_left, g.pad_right) >= eff_w)
            fail(node, "pads [" + std::to_string(g.pad_top) + ", " + std::to_string(g.pad_left) + ", " + std::to_string(g.pad_bottom) +
                           ", " + std::to_string(g.pad_right) + "] must be smaller than the kernel [" + std::to_string(eff_h) + ", " +
                           std::to_string(eff_w) + "]");
        if (g.out_h <= 0 || g.out_w <= 0) fail(node, "input " + shape_str(in[0]) + " is smaller than the window");
        return {in[0][0], in[0][1], g.out_h, g.out_w};
    }
    case OpType::GlobalAveragePool: {
        if (in[0].size() < 3) fail(node, "input must have rank >= 3, got " + shape_str(in[0]));
        Shape out = in[0];
        std::fill(out.begin() + 2, out.end(), 1);
        return out;
    }
    case OpType::Linear: {
        if (in[0].empty()) fail(node, "input must have rank >= 1");
        if (in[0].back() != in[1][1])
            fail(node, "input " + shape_str(in[0]) + " has " + std::to_string(in[0].back()) +
                           " features but the weight expects " + std::to_string(in[1][1]));
        Shape out = in[0];
        out.back() = in[1][0];
        return out;
    }
    case OpType::Gemm: {
        require_rank(node, in[0], 2, "A");
        require_rank(node, in[1], 2, "B");
        const int64_t m = a.trans_a ? in[0][1] : in[0][0], ka = a.trans_a ? in[0][0] : in[0][1];
        const int64_t kb = a.trans_b ? in[1][1] : in[1][0], n = a.trans_b ? in[1][0] : in[1][1];
        if (ka != kb) fail(node, "inner dimensions differ: " + shape_str(in[0]) + " x " + shape_str(in[1]));
        if (in.size() > 2) broadcast_shapes(in[2], {m, n}, node.name);
        return {m, n};
    }
    case OpType::MatMul: {
        Shape x = in[0], y = in[1];
        if (x.empty() || y.empty()) fail(node, "operands must have rank >= 1");
        const bool x_vec = x.size() == 1, y_vec = y.size() == 1;
        if (x_vec) x.insert(x.begin(), 1);
        if (y_vec) y.push_back(1);
        if (x.back() != y[y.size() - 2])
            fail(node, "inner dimensions differ: " + shape_str(in[0]) + " x " + shape_str(in[1]));
        Shape bx(x.begin(), x.end() - 2), by(y.begin(), y.end() - 2);
        Shape out = broadcast_shapes(bx, by, node.name);
        if (!x_vec) out.push_back(x[x.size() - 2]);
        if (!y_vec) out.push_back(y.back());
        return out;
    }
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul:
    case OpType::Div:
        return broadcast_shapes(in[0], in[1], node.name);
    case OpType::Relu:
    case OpType::Clip:
    case OpType::LeakyRelu:
    case OpType::Sigmoid:
    case OpType::HardSigmoid:
    case OpType::HardSwish:
    case OpType::Tanh:
    case OpType::Identity:
        return in[0];
    case OpType::Softmax:
        normalize_axis(a.axis, static_cast<int64_t>(in[0].size()), node.name);  // checked here, not at run time
        return in[0];
    case OpType::BatchNorm:
        if (in[0].size() < 2) fail(node, "input must have rank >= 2, got " + shape_str(in[0]));
        return in[0];
    case OpType::Flatten: {
        const int64_t rank = static_cast<int64_t>(in[0].size());
        const int64_t axis = a.axis < 0 ? a.axis + rank : a.axis;
        if (axis < 0 || axis > rank) fail(node, "axis " + std::to_string(a.axis) + " out of range");
        int64_t outer = 1, inner = 1;
        for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[0][static_cast<size_t>(i)];
        return {outer, inner};
    }
    case OpType::Reshape: {
        const int64_t total = numel(in[0]);
        auto resolve = [&](Shape target) -> std::optional<Shape> {
            int64_t known = 1, infer = -1;
            for (size_t i = 0; i < target.size(); ++i) {
                if (target[i] == 0 && !a.allow_zero) {
                    if (i >= in[0].size()) return std::nullopt;
                    target[i] = in[0][i];
                }
                if (target[i] == -1) {
                    if (infer >= 0) return std::nullopt;
                    infer = static_cast<int64_t>(i);
                } else {
                    known *= target[i];
                }
            }
            if (infer >= 0) {
                if (known == 0 || total % known) return std::nullopt;
                target[static_cast<size_t>(infer)] = total / known;
            }
            if (numel(target) != total) return std::nullopt;
            return target;
        };
        if (auto s = resolve(a.shape)) return *s;
        // Exporters often bake the export-time batch into the target ("[1, 512]"). The first
        // dimension is the batch everywhere in xbarsim, so such a target keeps the runtime batch.
        if (!a.shape.empty() && a.shape[0] == import_batch && !in[0].empty()) {
            Shape t = a.shape;
            t[0] = in[0][0];
            if (auto s = resolve(t)) return *s;
        }
        fail(node, "cannot reshape " + shape_str(in[0]) + " to " + shape_str(a.shape));
    }
    case OpType::Transpose: {
        const size_t rank = in[0].size();
        const std::vector<int64_t>& perm = a.perm;  // the importer fills in the default
        if (perm.size() != rank) fail(node, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
        Shape out(rank);
        std::vector<bool> used(rank, false);
        for (size_t i = 0; i < rank; ++i) {
            if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(rank)) fail(node, "perm entry out of range");
            if (used[static_cast<size_t>(perm[i])]) fail(node, "perm names axis " + std::to_string(perm[i]) + " twice");
            used[static_cast<size_t>(perm[i])] = true;
            out[i] = in[0][static_cast<size_t>(perm[i])];
        }
        return out;
    }
    case OpType::Concat: {
        const int64_t rank = static_cast<int64_t>(in[0].size());
        const auto axis = static_cast<size_t>(normalize_axis(a.axis, rank, node.name));
        Shape out = in[0];
        out[axis] = 0;
        for (const auto& s : in) {
            if (s.size() != in[0].size()) fail(node, "inputs have different ranks");
            for (size_t i = 0; i < s.size(); ++i)
                if (i != axis && s[i] != in[0][i])
                    fail(node, "inputs " + shape_str(in[0]) + " and " + shape_str(s) + " differ outside the axis");
            out[axis] += s[axis];
        }
        return out;
    }
    case OpType::Pad: {
        const size_t rank = in[0].size();
        if (a.pad_amounts.size() != 2 * rank)
            fail(node, "pads has " + std::to_string(a.pad_amounts.size()) + " entries for rank " + std::to_string(rank));
        Shape out = in[0];
        for (size_t i = 0; i < rank; ++i) {
            out[i] += a.pad_amounts[i] + a.pad_amounts[i + rank];
            if (out[i] < 0) fail(node, "negative output size");
            if (a.pad_mode == PadMode::Reflect &&
                (a.pad_amounts[i] >= in[0][i] || a.pad_amounts[i + rank] >= in[0][i]))
                fail(node, "reflect padding must be smaller than the dimension");
        }
        return out;
    }
    }
    fail(node, "no shape rule");
}

}  // namespace

Shape infer_shape(const Node& node, const std::vector<Shape>& in, int64_t import_batch) {
    Shape out = infer_shape_unchecked(node, in, import_batch);
    // A tensor without elements (a layer of 0 units, a Reshape to 0) is never part of a
    // meaningful network, and every op below would divide by its size.
    if (std::any_of(out.begin(), out.end(), [](int64_t d) { return d <= 0; })) {
        std::string inputs;
        for (const Shape& x : in) inputs += (inputs.empty() ? "" : ", ") + shape_str(x);
        fail(node, "output " + shape_str(out) + " would be empty (inputs " + inputs + ")");
    }
    return out;
}

MatMulLayout matmul_layout(const Shape& a, const Shape& b) {
    Shape sa = a, sb = b;
    if (sa.size() == 1) sa.insert(sa.begin(), 1);
    if (sb.size() == 1) sb.push_back(1);
    MatMulLayout l;
    l.m = sa[sa.size() - 2];
    l.k = sa.back();
    l.n = sb.back();
    Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    const Shape batch = broadcast_shapes(ba, bb, "MatMul");
    const size_t rank = batch.size();
    ba.insert(ba.begin(), rank - ba.size(), 1);
    bb.insert(bb.begin(), rank - bb.size(), 1);
    const int64_t count = numel(batch);
    for (int64_t i = 0; i < count; ++i) {
        int64_t rem = i, off_a = 0, off_b = 0, stride_a = 1, stride_b = 1;
        for (size_t d = rank; d-- > 0;) {
            const int64_t idx = rem % batch[d];
            rem /= batch[d];
            off_a += (ba[d] == 1 ? 0 : idx) * stride_a;
            off_b += (bb[d] == 1 ? 0 : idx) * stride_b;
            stride_a *= ba[d];
            stride_b *= bb[d];
        }
        l.operands.emplace_back(off_a, off_b);
    }
    return l;
}

}  // namespace xbarsim
