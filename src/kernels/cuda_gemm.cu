// Matrix-product pieces of the CUDA backend: cuBLAS FP32 GEMMs (row-major wrappers), im2col, and
// the bias/activation epilogues that put GEMM results into the output layout.
#include <algorithm>

#include "cuda_check.cuh"
#include "cuda_ops.cuh"
#include "xbarsim/fast_divmod.hpp"

namespace xbarsim::cuda {

// cuBLAS is column-major: a row-major C = op(A)·op(B) is the column-major C^T = op(B)^T·op(A)^T,
// i.e. the same call with the operands swapped and m, n exchanged; leading dimensions carry over.
void sgemm(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    if (ctx.log) ctx.log->push_back({m, n, k});
    if (m == 0 || n == 0) return;
    XBARSIM_CUBLAS_CHECK(cublasSgemm_64(ctx.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                        n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

void sgemm_strided_batched(const Context& ctx, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                           int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t ldc,
                           int64_t stride_c, int64_t batch) {
    if (ctx.log) ctx.log->push_back({m, n * batch, k});
    if (m == 0 || n == 0 || batch == 0) return;
    const float one = 1.0f, zero = 0.0f;
    XBARSIM_CUBLAS_CHECK(cublasSgemmStridedBatched_64(ctx.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, ldb, stride_b,
                                                      a, lda, stride_a, &zero, c, ldc, stride_c, batch));
}

void dgemm(const Context& ctx, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b, int64_t ldb,
           double* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    const double one = 1.0, zero = 0.0;
    XBARSIM_CUBLAS_CHECK(cublasDgemm_64(ctx.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, ldb, a, lda, &zero, c, ldc));
}

void dgemm_strided_batched(const Context& ctx, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
                           int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t ldc,
                           int64_t stride_c, int64_t batch) {
    if (m == 0 || n == 0 || batch == 0) return;
    const double one = 1.0, zero = 0.0;
    XBARSIM_CUBLAS_CHECK(cublasDgemmStridedBatched_64(ctx.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, ldb, stride_b,
                                                      a, lda, stride_a, &zero, c, ldc, stride_c, batch));
}

namespace {

// Index arithmetic in 32 bits where every offset fits, with FastDivmod for the divisions: a
// 64-bit division costs many times a 32-bit one, a 32-bit one many times a multiply-high, and
// these memory-bound kernels divide several times per element.
inline bool fits_int32(int64_t largest_offset) { return largest_offset < (int64_t{1} << 31); }

// A grid-stride loop over int32_t `t` in [0, total), total < 2^31: the counter runs in 32-bit
// unsigned arithmetic, where t + stride (< 2^31 + 2^28) cannot overflow.
#define XBARSIM_GRID_STRIDE_32(t, total)                                                                           \
    for (uint32_t t##_u = blockIdx.x * blockDim.x + threadIdx.x; t##_u < static_cast<uint32_t>(total);            \
         t##_u += gridDim.x * blockDim.x)                                                                          \
        if (const auto t = static_cast<int32_t>(t##_u); true)

// The divisors of im2col's index: output pixels, samples of the chunk, kernel taps, kernel width,
// output width.
struct Im2colDividers {
    FastDivmod ohw, nb, kk, kernel_w, out_w;
};

// im2col_kernel (below) for offsets below 2^31, every division by a FastDivmod.
__global__ void im2col_fast_kernel(const float* __restrict__ x, int32_t channels, int32_t c0, int32_t b0, int32_t total,
                                   Im2colDividers dv, WindowGeometry geometry, float* __restrict__ cols, int32_t row_stride,
                                   int32_t sample_stride) {
    const auto in_h = static_cast<int32_t>(geometry.in_h), in_w = static_cast<int32_t>(geometry.in_w);
    XBARSIM_GRID_STRIDE_32(t, total) {
        int32_t p = 0, b = 0, tap = 0, kw = 0, ow = 0;
        const int32_t r = dv.nb.divmod(dv.ohw.divmod(t, p), b);  // t = (r·nb + b)·ohw + p
        const int32_t c = c0 + dv.kk.divmod(r, tap);
        const int32_t kh = dv.kernel_w.divmod(tap, kw);
        const int32_t oh = dv.out_w.divmod(p, ow);
        const int32_t ih = oh * static_cast<int32_t>(geometry.stride_h) - static_cast<int32_t>(geometry.pad_top) +
                           kh * static_cast<int32_t>(geometry.dilation_h);
        const int32_t iw = ow * static_cast<int32_t>(geometry.stride_w) - static_cast<int32_t>(geometry.pad_left) +
                           kw * static_cast<int32_t>(geometry.dilation_w);
        float v = 0.0f;
        if (ih >= 0 && ih < in_h && iw >= 0 && iw < in_w) v = x[(((b0 + b) * channels + c) * in_h + ih) * in_w + iw];
        cols[r * row_stride + b * sample_stride + p] = v;
    }
}

// One thread per element of cols; mirrors cpu_gemm.cpp's im2col (zeros outside the image).
// 64-bit indices, for layers whose offsets exceed 2^31.
__global__ void im2col_kernel(const float* __restrict__ x, int64_t channels, int64_t c0, int64_t cg, int64_t b0,
                              int64_t nb, WindowGeometry g, float* __restrict__ cols, int64_t row_stride,
                              int64_t sample_stride) {
    const int64_t ohw = g.out_h * g.out_w, kk = g.kernel_h * g.kernel_w;
    const int64_t total = cg * kk * nb * ohw;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t p = t % ohw;
        const int64_t b = (t / ohw) % nb;
        const int64_t r = t / (ohw * nb);
        const int64_t c = c0 + r / kk, kh = (r % kk) / g.kernel_w, kw = r % g.kernel_w;
        const int64_t oh = p / g.out_w, ow = p % g.out_w;
        const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
        const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
        float v = 0.0f;
        if (ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w) v = x[(((b0 + b) * channels + c) * g.in_h + ih) * g.in_w + iw];
        cols[r * row_stride + b * sample_stride + p] = v;
    }
}

// Bias and activation in place on an NCHW tensor; the channel of element i is (i / inner) % channels.
__global__ void bias_epilogue_nchw_fast_kernel(float* out, const float* __restrict__ bias, int32_t total, FastDivmod inner,
                                               FastDivmod channels, Epilogue ep) {
    XBARSIM_GRID_STRIDE_32(i, total) {
        int32_t c = 0;
        if (bias) channels.divmod(inner.div(i), c);
        out[i] = ep(out[i] + (bias ? bias[c] : 0.0f));
    }
}

__global__ void bias_epilogue_nchw_kernel(float* out, const float* __restrict__ bias, int64_t total, int64_t channels,
                                          int64_t inner, Epilogue ep) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float bv = bias ? bias[(i / inner) % channels] : 0.0f;
        out[i] = ep(out[i] + bv);
    }
}

// A group's products [ng x nb·ohw] into the NCHW output with bias and activation; element t of
// the output block is (b, o, p) with t = (b·ng + o)·ohw + p.
__global__ void scatter_group_output_fast_kernel(const float* __restrict__ prod, float* __restrict__ out,
                                                 const float* __restrict__ bias, int32_t b0, int32_t nb, int32_t n_out,
                                                 int32_t oc0, int32_t total, FastDivmod ohw, FastDivmod ng, Epilogue ep) {
    const auto plane = static_cast<int32_t>(ohw.divisor);
    XBARSIM_GRID_STRIDE_32(t, total) {
        int32_t p = 0, o = 0;
        const int32_t b = ng.divmod(ohw.divmod(t, p), o);
        const int32_t oc = oc0 + o;
        const float bv = bias ? bias[oc] : 0.0f;
        out[((b0 + b) * n_out + oc) * plane + p] = ep(prod[(o * nb + b) * plane + p] + bv);
    }
}

__global__ void scatter_group_output_kernel(const float* __restrict__ prod, float* __restrict__ out,
                                            const float* __restrict__ bias, int64_t b0, int64_t nb, int64_t n_out, int64_t oc0,
                                            int64_t ng, int64_t ohw, Epilogue ep) {
    const int64_t total = nb * ng * ohw;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t p = t % ohw;
        const int64_t o = (t / ohw) % ng;
        const int64_t b = t / (ohw * ng);
        const int64_t oc = oc0 + o;
        const float bv = bias ? bias[oc] : 0.0f;
        out[((b0 + b) * n_out + oc) * ohw + p] = ep(prod[(o * nb + b) * ohw + p] + bv);
    }
}

__global__ void linear_epilogue_kernel(const float* __restrict__ in, float* out, const float* __restrict__ bias,
                                       int64_t m, int64_t n, Epilogue ep) {
    const int64_t total = m * n;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = t / n, j = t % n;
        const float v = in ? in[j * m + r] : out[t];
        out[t] = ep(v + (bias ? bias[j] : 0.0f));
    }
}

__global__ void transpose_2d_kernel(const float* __restrict__ in, float* __restrict__ out, int64_t m, int64_t k) {
    const int64_t total = m * k;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t j = t / m, r = t % m;  // out[j·m + r], consecutive threads write consecutive r
        out[t] = in[r * k + j];
    }
}

__global__ void broadcast_2d_kernel(const float* __restrict__ c, int64_t c_rows, int64_t c_cols, float* __restrict__ out,
                                    int64_t m, int64_t n) {
    const int64_t total = m * n;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t i = t / n, j = t % n;
        out[t] = c[(c_rows == 1 ? 0 : i) * c_cols + (c_cols == 1 ? 0 : j)];
    }
}

#undef XBARSIM_GRID_STRIDE_32

}  // namespace

void im2col(const Context& ctx, const float* x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb,
            const WindowGeometry& g, float* cols, int64_t row_stride, int64_t sample_stride) {
    const int64_t total = cg * g.kernel_h * g.kernel_w * nb * g.out_h * g.out_w;
    if (total == 0) return;
    const int64_t rows = cg * g.kernel_h * g.kernel_w;
    if (fits_int32(std::max({total, (b0 + nb) * channels * g.in_h * g.in_w, rows * row_stride + nb * sample_stride}))) {
        const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
        const Im2colDividers dv{FastDivmod(i32(g.out_h * g.out_w)), FastDivmod(i32(nb)), FastDivmod(i32(g.kernel_h * g.kernel_w)),
                                FastDivmod(i32(g.kernel_w)), FastDivmod(i32(g.out_w))};
        im2col_fast_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, i32(channels), i32(c0), i32(b0), i32(total), dv, g,
                                                                         cols, i32(row_stride), i32(sample_stride));
    } else
        im2col_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, channels, c0, cg, b0, nb, g, cols, row_stride, sample_stride);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void bias_epilogue_nchw(const Context& ctx, float* out, const float* bias, int64_t batch, int64_t channels, int64_t inner,
                        Epilogue ep) {
    const int64_t total = batch * channels * inner;
    if (total == 0) return;
    if (fits_int32(total))
        bias_epilogue_nchw_fast_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(
            out, bias, static_cast<int32_t>(total), FastDivmod(static_cast<int32_t>(inner)), FastDivmod(static_cast<int32_t>(channels)), ep);
    else
        bias_epilogue_nchw_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(out, bias, total, channels, inner, ep);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void scatter_group_output(const Context& ctx, const float* prod, float* out, const float* bias, int64_t b0, int64_t nb,
                          int64_t n_out, int64_t oc0, int64_t ng, int64_t ohw, Epilogue ep) {
    const int64_t total = nb * ng * ohw;
    if (total == 0) return;
    if (fits_int32(std::max(total, (b0 + nb) * n_out * ohw)))
        scatter_group_output_fast_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(
            prod, out, bias, static_cast<int32_t>(b0), static_cast<int32_t>(nb), static_cast<int32_t>(n_out),
            static_cast<int32_t>(oc0), static_cast<int32_t>(total), FastDivmod(static_cast<int32_t>(ohw)),
            FastDivmod(static_cast<int32_t>(ng)), ep);
    else
        scatter_group_output_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(prod, out, bias, b0, nb, n_out, oc0, ng, ohw, ep);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void linear_epilogue(const Context& ctx, const float* in, float* out, const float* bias, int64_t m, int64_t n, Epilogue ep) {
    if (m * n == 0) return;
    linear_epilogue_kernel<<<grid_for(m * n), kThreads, 0, ctx.stream>>>(in, out, bias, m, n, ep);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void transpose_2d(const Context& ctx, const float* in, float* out, int64_t m, int64_t k) {
    if (m * k == 0) return;
    transpose_2d_kernel<<<grid_for(m * k), kThreads, 0, ctx.stream>>>(in, out, m, k);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void broadcast_2d(const Context& ctx, const float* c, int64_t c_rows, int64_t c_cols, float* out, int64_t m, int64_t n) {
    if (m * n == 0) return;
    broadcast_2d_kernel<<<grid_for(m * n), kThreads, 0, ctx.stream>>>(c, c_rows, c_cols, out, m, n);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

}  // namespace xbarsim::cuda
