#pragma once
// The op kernels of the CUDA backend, one launcher per op, each mirroring the CPU reference of
// src/host/cpu_*.cpp element by element. Pointers are device memory; every launcher enqueues on
// ctx.stream and never synchronizes. Shapes are the ones infer_shape gives the CPU backend.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "xbarsim/backend.hpp"
#include "xbarsim/elementwise_math.hpp"
#include "xbarsim/graph.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::cuda {

struct Context {
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
    std::vector<GemmShape>* log = nullptr;  // every GEMM issued is appended when set
};

// A clamp applied after the bias: a fused Relu/Clip, the same one as cpu::Epilogue.
using Epilogue = ew::ClampEpilogue;

// Tensors of rank up to kMaxRank go through the generic index kernels (broadcast, transpose, pad).
inline constexpr int kMaxRank = 8;
struct Dims {
    int32_t rank = 0;
    int64_t size[kMaxRank] = {};
    int64_t stride[kMaxRank] = {};  // meaning depends on the kernel (documented there)
};

// ------------------------------------------------------------------ matrix products (cuda_gemm.cu)
// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C (as cpu::sgemm), FP32 without TF32; logged.
void sgemm(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// `batch` row-major products C_i = A_i·B_i with element strides between consecutive matrices;
// logged as one GEMM of m × (batch·n) × k (the same work).
void sgemm_strided_batched(const Context& ctx, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                           int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t ldc,
                           int64_t stride_c, int64_t batch);
// The same two in double, without logging: the analog arrays' column sums (cpu::dgemm).
void dgemm(const Context& ctx, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b, int64_t ldb,
           double* c, int64_t ldc);
void dgemm_strided_batched(const Context& ctx, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
                           int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t ldc,
                           int64_t stride_c, int64_t batch);

// Unrolls input patches of samples [b0, b0+nb), channels [c0, c0+cg) of x [batch, channels, H, W]:
// cols[r·row_stride + b·sample_stride + p] for row r = (c, kh, kw), sample b, output pixel p.
// row_stride = nb·OHW, sample_stride = OHW gives the CPU layout [K × nb·OHW].
void im2col(const Context& ctx, const float* x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb,
            const WindowGeometry& g, float* cols, int64_t row_stride, int64_t sample_stride);

// out[b, c, i] = clamp(out[b, c, i] + bias[c]) over [batch, channels, inner] (bias may be null).
void bias_epilogue_nchw(const Context& ctx, float* out, const float* bias, int64_t batch, int64_t channels,
                        int64_t inner, Epilogue ep);
// Conv group products prod[ng × nb·OHW] to out[b0+b, oc0+o, p] = clamp(prod + bias[oc0+o]).
void scatter_group_output(const Context& ctx, const float* prod, float* out, const float* bias, int64_t b0, int64_t nb,
                          int64_t n_out, int64_t oc0, int64_t ng, int64_t ohw, Epilogue ep);
// out[r, j] = clamp(in[j·ld_in + r] + bias[j]) for r < m, j < n: products [n × m] back to [m × n]
// (in == nullptr: in place on out[r·n + j]).
void linear_epilogue(const Context& ctx, const float* in, float* out, const float* bias, int64_t m, int64_t n, Epilogue ep);
// out[j·m + r] = in[r·k + j]: [m × k] to [k × m].
void transpose_2d(const Context& ctx, const float* in, float* out, int64_t m, int64_t k);
// Gemm's C broadcast ([M,N], [N], [M,1], [1,N] or scalar, given as c_rows × c_cols) into out[m × n].
void broadcast_2d(const Context& ctx, const float* c, int64_t c_rows, int64_t c_cols, float* out, int64_t m, int64_t n);

// ------------------------------------------------------------------ element-wise (cuda_elementwise.cu)
// out = a op b with numpy broadcasting; a fused Relu/Clip (`ep`) clamps the result.
void binary(const Context& ctx, OpType op, const float* a, const Shape& sa, const float* b, const Shape& sb, float* out,
            const Shape& so, Epilogue ep = {});
void unary(const Context& ctx, OpType op, const NodeAttrs& attrs, const float* x, float* out, int64_t n);
void batchnorm(const Context& ctx, const float* x, const float* scale, const float* shift, float* out, int64_t batch,
               int64_t channels, int64_t inner);
void softmax(const Context& ctx, const float* x, float* out, int64_t outer, int64_t len, int64_t inner);
// The analog DAC of every element (analog::dac).
void dac(const Context& ctx, const float* x, float* out, int64_t n, float range, int bits, bool is_signed);

// ------------------------------------------------------------------ pooling (cuda_pool.cu)
void max_pool(const Context& ctx, const float* x, float* out, int64_t planes, const WindowGeometry& g);
void average_pool(const Context& ctx, const float* x, float* out, int64_t planes, const WindowGeometry& g,
                  bool count_include_pad);
void global_average_pool(const Context& ctx, const float* x, float* out, int64_t planes, int64_t inner);

// ------------------------------------------------------------------ data movement (cuda_layout.cu)
void copy(const Context& ctx, const float* x, float* out, int64_t n);
void transpose(const Context& ctx, const float* x, const Shape& in_shape, const std::vector<int64_t>& perm, float* out,
               const Shape& out_shape);
// One input of a Concat: rows of `row` floats into rows of `out_row` floats at `offset`.
void concat_part(const Context& ctx, const float* x, float* out, int64_t outer, int64_t row, int64_t out_row, int64_t offset);
void pad(const Context& ctx, const float* x, const Shape& in_shape, float* out, const Shape& out_shape,
         const std::vector<int64_t>& pads, PadMode mode, float value);

// Dims with row-major strides of `s` (rank checked against kMaxRank, `what` names the op).
Dims dims_of(const Shape& s, const char* what);

}  // namespace xbarsim::cuda
