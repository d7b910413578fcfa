// Element-wise ops of the CUDA backend: broadcasting arithmetic, activations, BatchNorm, Softmax
// and the analog DAC, each the shared per-element formula of xbarsim/elementwise_math.hpp that
// src/host/cpu_elementwise.cpp applies too.
#include "cuda_check.cuh"
#include "cuda_ops.cuh"
#include "xbarsim/analog/quantize.hpp"

namespace xbarsim::cuda {

Dims dims_of(const Shape& s, const char* what) {
    if (s.size() > static_cast<size_t>(kMaxRank))
        throw Error(std::string("cuda backend: ") + what + " of a rank-" + std::to_string(s.size()) + " tensor (at most " +
                    std::to_string(kMaxRank) + " dimensions supported)");
    Dims d;
    d.rank = static_cast<int32_t>(s.size());
    int64_t stride = 1;
    for (size_t i = s.size(); i-- > 0;) {
        d.size[i] = s[i];
        d.stride[i] = stride;
        stride *= s[i];
    }
    return d;
}

namespace {

using ew::BinaryOp;

// A fused Relu/Clip after a binary op (as cpu::binary): only when `clamps`.
__device__ inline float binary_epilogue(float v, bool clamps, Epilogue ep) { return clamps ? ep(v) : v; }

__global__ void binary_same_kernel(BinaryOp op, const float* __restrict__ a, const float* __restrict__ b,
                                   float* __restrict__ out, int64_t total, bool clamps, Epilogue ep) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        out[i] = binary_epilogue(ew::binary(op, a[i], b[i]), clamps, ep);
}

// `out.size` is the output shape; `sa`/`sb` hold each operand's stride per output dimension (0
// along broadcast dimensions).
__global__ void binary_broadcast_kernel(BinaryOp op, const float* __restrict__ a, Dims sa, const float* __restrict__ b,
                                        Dims sb, float* __restrict__ out, Dims so, int64_t total, bool clamps, Epilogue ep) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t rem = i, oa = 0, ob = 0;
        for (int d = so.rank - 1; d >= 0; --d) {
            const int64_t idx = rem % so.size[d];
            rem /= so.size[d];
            oa += idx * sa.stride[d];
            ob += idx * sb.stride[d];
        }
        out[i] = binary_epilogue(ew::binary(op, a[oa], b[ob]), clamps, ep);
    }
}

// Strides of `s` broadcast against the output shape `out` (numpy rules, leading dims added).
Dims broadcast_dims(const Shape& s, const Shape& out) {
    Dims d = dims_of(out, "broadcast");
    for (int i = 0; i < d.rank; ++i) d.stride[i] = 0;
    int64_t stride = 1;
    for (size_t i = s.size(); i-- > 0;) {
        const size_t o = i + (out.size() - s.size());
        d.stride[o] = s[i] == 1 ? 0 : stride;
        stride *= s[i];
    }
    return d;
}

struct UnaryParams {
    OpType op;
    float lo, hi, slope, hs_alpha, hs_beta;
};

__global__ void unary_kernel(UnaryParams p, const float* __restrict__ x, float* __restrict__ out, int64_t n) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float v = x[i];
        float r = v;
        switch (p.op) {
        case OpType::Relu: r = ew::relu(v); break;
        case OpType::Clip: r = ew::clamp(v, p.lo, p.hi); break;
        case OpType::LeakyRelu: r = ew::leaky_relu(v, p.slope); break;
        case OpType::Sigmoid: r = ew::sigmoid(v); break;
        case OpType::HardSigmoid: r = ew::hard_sigmoid(v, p.hs_alpha, p.hs_beta); break;
        case OpType::HardSwish: r = ew::hard_swish(v); break;
        case OpType::Tanh: r = ew::tanh(v); break;
        default: break;  // Identity
        }
        out[i] = r;
    }
}

__global__ void batchnorm_kernel(const float* __restrict__ x, const float* __restrict__ scale,
                                 const float* __restrict__ shift, float* __restrict__ out, int64_t total,
                                 int64_t channels, int64_t inner) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t c = (i / inner) % channels;
        out[i] = ew::affine(x[i], scale[c], shift[c]);
    }
}

// One thread per (outer, inner) row of `len` values, exactly the CPU loop (max, exp, double sum).
__global__ void softmax_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t outer, int64_t len,
                               int64_t inner) {
    const int64_t rows = outer * inner;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < rows;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t o = t / inner, i = t % inner;
        const float* src = x + o * len * inner + i;
        float* dst = out + o * len * inner + i;
        float mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) mx = ew::max_nan(mx, src[j * inner]);
        double sum = 0.0;
        for (int64_t j = 0; j < len; ++j) {
            const float e = expf(src[j * inner] - mx);
            dst[j * inner] = e;
            sum += e;
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < len; ++j) dst[j * inner] *= inv;
    }
}

__global__ void dac_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t n, float range, int bits,
                           bool is_signed) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        out[i] = analog::dac(x[i], range, bits, is_signed);
}

}  // namespace

void binary(const Context& ctx, OpType op, const float* a, const Shape& sa, const float* b, const Shape& sb, float* out,
            const Shape& so, Epilogue ep) {
    BinaryOp bop;
    switch (op) {
    case OpType::Add: bop = BinaryOp::Add; break;
    case OpType::Sub: bop = BinaryOp::Sub; break;
    case OpType::Mul: bop = BinaryOp::Mul; break;
    case OpType::Div: bop = BinaryOp::Div; break;
    default: throw Error(std::string("cuda binary(): not a binary op: ") + op_name(op));
    }
    const int64_t total = numel(so);
    if (total == 0) return;
    if (sa == so && sb == so) {
        binary_same_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(bop, a, b, out, total, ep.clamps(), ep);
    } else {
        binary_broadcast_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(bop, a, broadcast_dims(sa, so), b,
                                                                              broadcast_dims(sb, so), out,
                                                                              dims_of(so, "broadcast"), total, ep.clamps(), ep);
    }
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void unary(const Context& ctx, OpType op, const NodeAttrs& at, const float* x, float* out, int64_t n) {
    switch (op) {
    case OpType::Relu: case OpType::Clip: case OpType::LeakyRelu: case OpType::Sigmoid: case OpType::HardSigmoid:
    case OpType::HardSwish: case OpType::Tanh: case OpType::Identity: break;
    default: throw Error(std::string("cuda unary(): not a unary op: ") + op_name(op));
    }
    if (n == 0) return;
    const UnaryParams p{op, at.min, at.max, at.slope, at.hs_alpha, at.hs_beta};
    unary_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(p, x, out, n);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void batchnorm(const Context& ctx, const float* x, const float* scale, const float* shift, float* out, int64_t batch,
               int64_t channels, int64_t inner) {
    const int64_t total = batch * channels * inner;
    if (total == 0) return;
    batchnorm_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, scale, shift, out, total, channels, inner);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void softmax(const Context& ctx, const float* x, float* out, int64_t outer, int64_t len, int64_t inner) {
    if (outer * inner == 0 || len == 0) return;
    softmax_kernel<<<grid_for(outer * inner), kThreads, 0, ctx.stream>>>(x, out, outer, len, inner);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void dac(const Context& ctx, const float* x, float* out, int64_t n, float range, int bits, bool is_signed) {
    if (!(range > 0.0f)) throw Error("analog mvm: input range must be positive");
    if (n == 0) return;
    dac_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(x, out, n, range, bits, is_signed);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

}  // namespace xbarsim::cuda
