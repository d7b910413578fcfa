// Matrix-product pieces of the CUDA backend: cuBLAS FP32 GEMMs (row-major wrappers), im2col, and
// the bias/activation epilogues that put GEMM results into the output layout.
#include "cuda_check.cuh"
#include "cuda_ops.cuh"

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

namespace {

// One thread per element of cols; mirrors cpu_gemm.cpp's im2col (zeros outside the image).
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

__device__ inline float clamp_epilogue(float v, Epilogue ep) { return fminf(fmaxf(v, ep.lo), ep.hi); }

__global__ void bias_epilogue_nchw_kernel(float* out, const float* __restrict__ bias, int64_t total, int64_t channels,
                                          int64_t inner, Epilogue ep) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float bv = bias ? bias[(i / inner) % channels] : 0.0f;
        out[i] = clamp_epilogue(out[i] + bv, ep);
    }
}

__global__ void scatter_group_output_kernel(const float* __restrict__ prod, float* __restrict__ out,
                                            const float* __restrict__ bias, int64_t b0, int64_t nb, int64_t n_out,
                                            int64_t oc0, int64_t ng, int64_t ohw, Epilogue ep) {
    const int64_t total = nb * ng * ohw;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t p = t % ohw;
        const int64_t o = (t / ohw) % ng;
        const int64_t b = t / (ohw * ng);
        const int64_t oc = oc0 + o;
        const float bv = bias ? bias[oc] : 0.0f;
        out[((b0 + b) * n_out + oc) * ohw + p] = clamp_epilogue(prod[(o * nb + b) * ohw + p] + bv, ep);
    }
}

__global__ void linear_epilogue_kernel(const float* __restrict__ in, float* out, const float* __restrict__ bias,
                                       int64_t m, int64_t n, Epilogue ep) {
    const int64_t total = m * n;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = t / n, j = t % n;
        const float v = in ? in[j * m + r] : out[t];
        out[t] = clamp_epilogue(v + (bias ? bias[j] : 0.0f), ep);
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

}  // namespace

void im2col(const Context& ctx, const float* x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb,
            const WindowGeometry& g, float* cols, int64_t row_stride, int64_t sample_stride) {
    const int64_t total = cg * g.kernel_h * g.kernel_w * nb * g.out_h * g.out_w;
    if (total == 0) return;
    im2col_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, channels, c0, cg, b0, nb, g, cols, row_stride, sample_stride);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void bias_epilogue_nchw(const Context& ctx, float* out, const float* bias, int64_t batch, int64_t channels, int64_t inner,
                        Epilogue ep) {
    const int64_t total = batch * channels * inner;
    if (total == 0) return;
    bias_epilogue_nchw_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(out, bias, total, channels, inner, ep);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void scatter_group_output(const Context& ctx, const float* prod, float* out, const float* bias, int64_t b0, int64_t nb,
                          int64_t n_out, int64_t oc0, int64_t ng, int64_t ohw, Epilogue ep) {
    const int64_t total = nb * ng * ohw;
    if (total == 0) return;
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
