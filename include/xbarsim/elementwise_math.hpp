#pragma once
// The per-element formulas of the digital ops (activations, arithmetic, BatchNorm, MaxPool), one
// definition compiled by both backends, so that a CUDA run and a CPU run of a network agree on
// every special value as well as on ordinary ones.
//
// Special values follow PyTorch (and IEEE-754 max/min with NaN propagation): a NaN input gives a
// NaN output (Relu, Clip, HardSigmoid, HardSwish, MaxPool, Softmax), +inf survives a Relu, and
// a Clip clamps ±inf to its bounds. A NaN must never turn into a plausible number on its way
// through the network, or a diverging device model would show up as a mere accuracy loss.
// A fused Relu/Clip (the epilogue of the op before it) is the very same clamp as the standalone
// op, so fusing changes no bit; this is why Relu is written as a clamp to [0, +inf] here, which
// keeps -0.0 as -0.0.
#include "xbarsim/analog/hd.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim::ew {

// +inf without <cmath>'s INFINITY, in a form that every host and device compiler folds.
XBARSIM_HD constexpr float infinity() { return __builtin_huge_valf(); }

// min(max(v, lo), hi) as ONNX Clip, numpy and PyTorch define it (lo > hi gives hi everywhere),
// except that a NaN v passes through (fminf/fmaxf and std::min/max would drop it or keep it
// depending on the argument order).
XBARSIM_HD float clamp(float v, float lo, float hi) {
    const float at_least_lo = v < lo ? lo : v;
    return at_least_lo > hi ? hi : at_least_lo;
}

XBARSIM_HD float relu(float v) { return clamp(v, 0.0f, infinity()); }

XBARSIM_HD float leaky_relu(float v, float slope) { return v >= 0.0f ? v : hd::mul(slope, v); }

// alpha·v + beta clamped to [0, 1], rounded twice (never one FMA), as ONNX HardSigmoid.
XBARSIM_HD float hard_sigmoid(float v, float alpha, float beta) { return clamp(hd::add(hd::mul(alpha, v), beta), 0.0f, 1.0f); }

// v · clamp(v/6 + 1/2, 0, 1), as ONNX HardSwish (HardSigmoid with alpha = 1/6 written as a division).
XBARSIM_HD float hard_swish(float v) { return hd::mul(v, clamp(hd::add(hd::div(v, 6.0f), 0.5f), 0.0f, 1.0f)); }

// The transcendental ones use each side's libm (expf/tanhf on the device, std:: on the host):
// they agree to an ulp or two, not bit for bit.
XBARSIM_HD float sigmoid(float v) {
#if defined(__CUDA_ARCH__)
    return 1.0f / (1.0f + expf(-v));
#else
    return 1.0f / (1.0f + std::exp(-v));
#endif
}

XBARSIM_HD float tanh(float v) {
#if defined(__CUDA_ARCH__)
    return tanhf(v);
#else
    return std::tanh(v);
#endif
}

// The larger of a running maximum m and v, NaN as soon as either is (MaxPool, Softmax's shift).
XBARSIM_HD float max_nan(float m, float v) { return (v > m || v != v) ? v : m; }

// BatchNorm's per-channel affine map x·scale + shift, rounded twice on both backends.
XBARSIM_HD float affine(float x, float scale, float shift) { return hd::add(hd::mul(x, scale), shift); }

enum class BinaryOp : int { Add, Sub, Mul, Div };

XBARSIM_HD float binary(BinaryOp op, float x, float y) {
    switch (op) {
    case BinaryOp::Add: return hd::add(x, y);
    case BinaryOp::Sub: return hd::sub(x, y);
    case BinaryOp::Mul: return hd::mul(x, y);
    case BinaryOp::Div: return hd::div(x, y);
    }
    return 0.0f;
}

// What a matrix-product or binary op applies to each output after adding the bias: a clamp to
// [lo, hi], which is how a following Relu or Clip is fused into the op (one pass over the output
// saved). The default clamps nothing (every value, infinities and NaN included, passes).
struct ClampEpilogue {
    float lo = -infinity();
    float hi = infinity();

    // False for the default (no activation fused): ops that clamp only when fused test this.
    XBARSIM_HD bool clamps() const { return lo != -infinity() || hi != infinity(); }
    XBARSIM_HD float operator()(float v) const { return clamp(v, lo, hi); }

    // The epilogue that stands for the activation node `act` (a Relu or a Clip).
    static ClampEpilogue of(const Node& act) {
        ClampEpilogue e;
        if (act.op == OpType::Relu) {
            e.lo = 0.0f;
        } else {
            e.lo = act.attrs.min;
            e.hi = act.attrs.max;
        }
        return e;
    }
};

}  // namespace xbarsim::ew
