// Element-wise ops of the CPU backend: broadcasting arithmetic, activations, BatchNorm, Softmax;
// the per-element formulas are the shared ones of xbarsim/elementwise_math.hpp.
#include <algorithm>
#include <cmath>

#include "cpu_ops.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::cpu {

namespace {

// Strides of `s` when broadcast to `out` (0 along broadcast dimensions).
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
    std::vector<int64_t> strides(out.size(), 0);
    int64_t stride = 1;
    for (size_t i = s.size(); i-- > 0;) {
        const size_t o = i + (out.size() - s.size());
        strides[o] = s[i] == 1 ? 0 : stride;
        stride *= s[i];
    }
    return strides;
}

template <typename F>
void broadcast_apply(const Tensor& a, const Tensor& b, Tensor& out, F f) {
    const int64_t total = out.size();
    if (a.shape == out.shape && b.shape == out.shape) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < total; ++i) out.data[static_cast<size_t>(i)] = f(a.data[static_cast<size_t>(i)], b.data[static_cast<size_t>(i)]);
        return;
    }
    const auto sa = broadcast_strides(a.shape, out.shape), sb = broadcast_strides(b.shape, out.shape);
    const size_t rank = out.shape.size();
    // Iterate over rows of the innermost dimension; the outer index is decoded once per row.
    const int64_t inner = rank ? out.shape.back() : 1, rows = total / std::max<int64_t>(inner, 1);
    const int64_t ia = rank ? sa.back() : 0, ib = rank ? sb.back() : 0;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
        int64_t rem = r, oa = 0, ob = 0;
        for (size_t d = rank - 1; d-- > 0;) {
            const int64_t idx = rem % out.shape[d];
            rem /= out.shape[d];
            oa += idx * sa[d];
            ob += idx * sb[d];
        }
        float* dst = out.ptr() + r * inner;
        for (int64_t j = 0; j < inner; ++j) dst[j] = f(a.data[static_cast<size_t>(oa + j * ia)], b.data[static_cast<size_t>(ob + j * ib)]);
    }
}

// broadcast_apply of ew::binary with a fused Relu/Clip, which clamps only when there is one.
template <ew::BinaryOp Op>
void broadcast_binary(const Tensor& a, const Tensor& b, Tensor& out, Epilogue ep) {
    if (!ep.clamps()) return broadcast_apply(a, b, out, [](float x, float y) { return ew::binary(Op, x, y); });
    broadcast_apply(a, b, out, [ep](float x, float y) { return ep(ew::binary(Op, x, y)); });
}

}  // namespace

void binary(OpType op, const Tensor& a, const Tensor& b, Tensor& out, Epilogue ep) {
    switch (op) {
    case OpType::Add: broadcast_binary<ew::BinaryOp::Add>(a, b, out, ep); return;
    case OpType::Sub: broadcast_binary<ew::BinaryOp::Sub>(a, b, out, ep); return;
    case OpType::Mul: broadcast_binary<ew::BinaryOp::Mul>(a, b, out, ep); return;
    case OpType::Div: broadcast_binary<ew::BinaryOp::Div>(a, b, out, ep); return;
    default: throw Error(std::string("binary(): not a binary op: ") + op_name(op));
    }
}

void unary(OpType op, const NodeAttrs& at, const Tensor& x, Tensor& out) {
    const int64_t n = x.size();
    const float* in = x.ptr();
    float* o = out.ptr();
    auto apply = [&](auto f) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i) o[i] = f(in[i]);
    };
    switch (op) {
    case OpType::Relu: apply([](float v) { return ew::relu(v); }); return;
    case OpType::Clip: apply([lo = at.min, hi = at.max](float v) { return ew::clamp(v, lo, hi); }); return;
    case OpType::LeakyRelu: apply([s = at.slope](float v) { return ew::leaky_relu(v, s); }); return;
    case OpType::Sigmoid: apply([](float v) { return ew::sigmoid(v); }); return;
    case OpType::HardSigmoid: apply([a = at.hs_alpha, b = at.hs_beta](float v) { return ew::hard_sigmoid(v, a, b); }); return;
    case OpType::HardSwish: apply([](float v) { return ew::hard_swish(v); }); return;
    case OpType::Tanh: apply([](float v) { return ew::tanh(v); }); return;
    case OpType::Identity: apply([](float v) { return v; }); return;
    default: throw Error(std::string("unary(): not a unary op: ") + op_name(op));
    }
}

void batchnorm(const Tensor& x, const Tensor& scale, const Tensor& shift, Tensor& out) {
    const int64_t batch = x.dim(0), ch = x.dim(1), inner = x.size() / (batch * ch);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t c = 0; c < ch; ++c) {
            const float s = scale.data[static_cast<size_t>(c)], t = shift.data[static_cast<size_t>(c)];
            const float* src = x.ptr() + (b * ch + c) * inner;
            float* dst = out.ptr() + (b * ch + c) * inner;
            for (int64_t i = 0; i < inner; ++i) dst[i] = ew::affine(src[i], s, t);
        }
}

void softmax(const Tensor& x, const NodeAttrs& at, const std::string& node_name, Tensor& out) {
    const int64_t rank = static_cast<int64_t>(x.rank());
    const int64_t axis = normalize_axis(at.axis, rank, node_name);
    // Opset < 13 flattens to [outer, inner] at `axis` and normalizes each row over all of `inner`;
    // opset 13+ normalizes along the single axis.
    int64_t outer = 1, len = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t s = x.shape[static_cast<size_t>(d)];
        if (d < axis) outer *= s;
        else if (d == axis || at.softmax_legacy) len *= s;
        else inner *= s;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
            const float* src = x.ptr() + o * len * inner + i;
            float* dst = out.ptr() + o * len * inner + i;
            float mx = -INFINITY;
            for (int64_t j = 0; j < len; ++j) mx = ew::max_nan(mx, src[j * inner]);
            double sum = 0.0;
            for (int64_t j = 0; j < len; ++j) {
                const float e = std::exp(src[j * inner] - mx);
                dst[j * inner] = e;
                sum += e;
            }
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t j = 0; j < len; ++j) dst[j * inner] *= inv;
        }
}

}  // namespace xbarsim::cpu
