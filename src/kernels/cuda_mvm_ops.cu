#include "cuda_mvm_ops.cuh"

#include <algorithm>

#include "cuda_check.cuh"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::cuda {

namespace {

// Output planes at least this wide make per-sample GEMMs of a 1x1 convolution efficient.
constexpr int64_t kWidePlane = 1024;

// Copies device columns [k x m] to the host and hands them to the observer (synchronizes the
// stream: observers are for calibration and statistics, not for timed runs).
void observe_columns(const Context& ctx, Workspace& ws, const MvmHooks& hooks, int64_t group, const float* cols, int64_t k,
                     int64_t m) {
    const auto n = static_cast<size_t>(k * m);
    float* host = ws.host_cols.grow(n);
    XBARSIM_CUDA_CHECK(cudaMemcpyAsync(host, cols, n * sizeof(float), cudaMemcpyDeviceToHost, ctx.stream));
    XBARSIM_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
    hooks.observer->on_mvm_input(hooks.node, group, host, k, m);
}

}  // namespace

void conv2d(const Context& ctx, const DeviceTensor& x, const DeviceTensor& w, const DeviceTensor* bias,
            const NodeAttrs& attrs, DeviceTensor& out, Workspace& ws, Epilogue ep, const MvmHooks& hooks) {
    const int64_t batch = x.dim(0), channels = x.dim(1), n_out = w.dim(0);
    const auto g = window_geometry(attrs, x.dim(2), x.dim(3));
    const int64_t groups = attrs.group, cg = channels / groups, ng = n_out / groups;
    const int64_t k = cg * g.kernel_h * g.kernel_w, ohw = g.out_h * g.out_w;
    const float* bias_ptr = bias ? bias->data : nullptr;

    if (!hooks.analog && !hooks.observer) {
        const bool pointwise = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 &&
                               g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
        if (pointwise && ohw >= kWidePlane) {
            // A 1x1 convolution's columns are the input itself: per-sample GEMMs out_b = W_g . x_b,
            // wide enough to be efficient, written straight into the NCHW output.
            for (int64_t grp = 0; grp < groups; ++grp)
                sgemm_strided_batched(ctx, ng, ohw, k, w.data + grp * ng * k, k, 0, x.data + grp * cg * ohw, ohw,
                                      channels * ohw, out.data + grp * ng * ohw, ohw, n_out * ohw, batch);
            bias_epilogue_nchw(ctx, out.data, bias_ptr, batch, n_out, ohw, ep);
            return;
        }
        // Otherwise the columns path below: one GEMM over the columns of every sample of a chunk
        // (per-sample GEMMs of a few hundred columns leave most of the GPU idle).
    }

    // Columns path: the CPU layout cols [k x nb*OHW] per group and chunk, products [ng x nb*OHW]
    // (digital GEMM or analog layer), scattered into the output with bias and activation.
    const float* input = x.data;
    if (hooks.analog) {
        // The DAC runs once on the input, before im2col (padding zeros are dac(0) = 0 as well).
        float* xq = ws.xq.grow(static_cast<size_t>(x.size()), "DAC'd layer input");
        hooks.analog->dac(ctx, x.data, xq, x.size());
        input = xq;
    }
    const auto analog_per_column = static_cast<int64_t>(hooks.analog ? hooks.analog->workspace_bytes_per_column() : 0);
    const int64_t per_sample = std::max<int64_t>((k + ng) * ohw * static_cast<int64_t>(sizeof(float)) + analog_per_column * ohw, 1);
    const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>(ws.budget_bytes) / per_sample, 1, batch);
    float* cols = ws.cols.grow(static_cast<size_t>(k * chunk * ohw), "im2col columns");
    float* prod = ws.prod.grow(static_cast<size_t>(ng * chunk * ohw), "group products");
    // Chunks never span two chips: each runs on its chip, its samples numbered from that chip's start.
    const int64_t per_chip = batch / std::max<int64_t>(hooks.chips, 1);
    for (int64_t b0 = 0, nb = 0; b0 < batch; b0 += nb) {
        const int64_t chip = b0 / per_chip, in_chip = b0 - chip * per_chip;
        nb = std::min(chunk, per_chip - in_chip);
        const int64_t m = nb * ohw;
        for (int64_t grp = 0; grp < groups; ++grp) {
            if (hooks.observer) {
                // Observers see the layer's raw input columns, as on the CPU (DAC'd ones for analog
                // layers there too: the CPU transforms the input before im2col).
                im2col(ctx, input, channels, grp * cg, cg, b0, nb, g, cols, m, ohw);
                observe_columns(ctx, ws, hooks, grp, cols, k, m);
            } else {
                im2col(ctx, input, channels, grp * cg, cg, b0, nb, g, cols, m, ohw);
            }
            if (hooks.analog)
                hooks.analog->multiply(ctx, grp, cols, m, prod,
                                       (hooks.sample_base + static_cast<uint64_t>(in_chip)) * static_cast<uint64_t>(ohw),
                                       static_cast<size_t>(chip));
            else
                sgemm(ctx, false, false, ng, m, k, 1.0f, w.data + grp * ng * k, k, cols, m, 0.0f, prod, m);
            scatter_group_output(ctx, prod, out.data, bias_ptr, b0, nb, n_out, grp * ng, ng, ohw, ep);
        }
    }
}

void linear(const Context& ctx, const DeviceTensor& x, const DeviceTensor& w, const DeviceTensor* bias, DeviceTensor& out,
            Workspace& ws, Epilogue ep, const MvmHooks& hooks) {
    const int64_t n = w.dim(0), k = w.dim(1), m = x.size() / k;
    const float* bias_ptr = bias ? bias->data : nullptr;
    if (hooks.observer) {
        // The observer sees the raw input vectors as columns x^T [k x m] (as on the CPU).
        float* cols = ws.cols.grow(static_cast<size_t>(k * m), "linear columns");
        transpose_2d(ctx, x.data, cols, m, k);
        observe_columns(ctx, ws, hooks, 0, cols, k, m);
    }
    if (!hooks.analog) {
        sgemm(ctx, false, true, m, n, k, 1.0f, x.data, k, w.data, k, 0.0f, out.data, n);
        linear_epilogue(ctx, nullptr, out.data, bias_ptr, m, n, ep);
        return;
    }
    float* xq = ws.xq.grow(static_cast<size_t>(x.size()), "DAC'd layer input");
    hooks.analog->dac(ctx, x.data, xq, x.size());
    const uint64_t rows_per_sample = static_cast<uint64_t>(m / std::max<int64_t>(x.dim(0), 1));
    const int64_t per_row = std::max<int64_t>((k + n) * static_cast<int64_t>(sizeof(float)) +
                                                  static_cast<int64_t>(hooks.analog->workspace_bytes_per_column()), 1);
    const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>(ws.budget_bytes) / per_row, 1, std::max<int64_t>(m, 1));
    float* cols = ws.cols.grow(static_cast<size_t>(k * chunk), "linear columns");
    float* prod = ws.prod.grow(static_cast<size_t>(n * chunk), "linear products");
    // As for Conv: chunks within one chip's rows, numbered from that chip's first sample.
    const int64_t per_chip = m / std::max<int64_t>(hooks.chips, 1);
    for (int64_t r0 = 0, mc = 0; r0 < m; r0 += mc) {
        const int64_t chip = r0 / per_chip, in_chip = r0 - chip * per_chip;
        mc = std::min(chunk, per_chip - in_chip);
        transpose_2d(ctx, xq + r0 * k, cols, mc, k);  // cols [k x mc] = xq rows r0.. transposed
        hooks.analog->multiply(ctx, 0, cols, mc, prod, hooks.sample_base * rows_per_sample + static_cast<uint64_t>(in_chip),
                               static_cast<size_t>(chip));
        linear_epilogue(ctx, prod, out.data + r0 * n, bias_ptr, mc, n, ep);
    }
}

void matmul(const Context& ctx, const DeviceTensor& a, const DeviceTensor& b, DeviceTensor& out) {
    const MatMulLayout l = matmul_layout(a.shape, b.shape);  // the same broadcasting as cpu::matmul
    for (size_t i = 0; i < l.operands.size(); ++i) {
        const auto [ia, ib] = l.operands[i];
        sgemm(ctx, false, false, l.m, l.n, l.k, 1.0f, a.data + ia * l.m * l.k, l.k, b.data + ib * l.k * l.n, l.n, 0.0f,
              out.data + static_cast<int64_t>(i) * l.m * l.n, l.n);
    }
}

void gemm(const Context& ctx, const DeviceTensor& a, const DeviceTensor& b, const DeviceTensor* c, const NodeAttrs& attrs,
          DeviceTensor& out) {
    const int64_t m = out.dim(0), n = out.dim(1);
    const int64_t k = attrs.trans_a ? a.dim(0) : a.dim(1);
    float beta = 0.0f;
    if (c && attrs.beta != 0.0f) {
        // Broadcast C ([M,N], [N], [M,1], [1,N] or scalar) into out, then let the GEMM add beta·C.
        Shape cs = c->shape;
        cs.insert(cs.begin(), 2 - std::min<size_t>(cs.size(), 2), 1);
        broadcast_2d(ctx, c->data, cs[0], cs[1], out.data, m, n);
        beta = attrs.beta;
    }
    sgemm(ctx, attrs.trans_a, attrs.trans_b, m, n, k, attrs.alpha, a.data, a.dim(1), b.data, b.dim(1), beta, out.data, n);
}

}  // namespace xbarsim::cuda
