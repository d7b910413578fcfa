// Data-movement ops of the CUDA backend: copies, Transpose, Concat, Pad (as src/host/cpu_layout.cpp).
#include "cuda_check.cuh"
#include "cuda_ops.cuh"

namespace xbarsim::cuda {

namespace {

// `src_stride[d]`: input stride of output dimension d.
__global__ void transpose_kernel(const float* __restrict__ x, Dims out, Dims src_stride, float* __restrict__ y,
                                 int64_t total) {
    for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t rem = o, src = 0;
        for (int d = out.rank - 1; d >= 0; --d) {
            src += (rem % out.size[d]) * src_stride.stride[d];
            rem /= out.size[d];
        }
        y[o] = x[src];
    }
}

struct PadParams {
    int64_t begin[kMaxRank];
    PadMode mode;
    float value;
};

// `in`: input sizes and row-major strides; `out`: output sizes.
__global__ void pad_kernel(const float* __restrict__ x, Dims in, Dims out, PadParams p, float* __restrict__ y,
                           int64_t total) {
    for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t rem = o, src = 0;
        bool outside = false;
        for (int d = out.rank - 1; d >= 0; --d) {
            const int64_t n = in.size[d];
            int64_t i = rem % out.size[d] - p.begin[d];  // negative pads crop
            rem /= out.size[d];
            if (i < 0 || i >= n) {
                switch (p.mode) {
                case PadMode::Constant: outside = true; break;
                case PadMode::Edge: i = i < 0 ? 0 : n - 1; break;
                case PadMode::Reflect: i = i < 0 ? -i : 2 * (n - 1) - i; break;
                }
            }
            src += i * in.stride[d];
        }
        y[o] = outside ? p.value : x[src];
    }
}

}  // namespace

void copy(const Context& ctx, const float* x, float* out, int64_t n) {
    if (n == 0 || x == out) return;
    XBARSIM_CUDA_CHECK(cudaMemcpyAsync(out, x, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, ctx.stream));
}

void transpose(const Context& ctx, const float* x, const Shape& in_shape, const std::vector<int64_t>& perm, float* out,
               const Shape& out_shape) {
    const Dims in = dims_of(in_shape, "Transpose");
    const Dims od = dims_of(out_shape, "Transpose");
    if (perm.size() != in_shape.size()) throw Error("cuda Transpose: perm does not match the input rank");
    Dims src = od;
    for (size_t i = 0; i < perm.size(); ++i) src.stride[i] = in.stride[static_cast<size_t>(perm[i])];
    const int64_t total = numel(out_shape);
    if (total == 0) return;
    transpose_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, od, src, out, total);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void concat_part(const Context& ctx, const float* x, float* out, int64_t outer, int64_t row, int64_t out_row, int64_t offset) {
    if (outer == 0 || row == 0) return;
    XBARSIM_CUDA_CHECK(cudaMemcpy2DAsync(out + offset, static_cast<size_t>(out_row) * sizeof(float), x,
                                         static_cast<size_t>(row) * sizeof(float), static_cast<size_t>(row) * sizeof(float),
                                         static_cast<size_t>(outer), cudaMemcpyDeviceToDevice, ctx.stream));
}

void pad(const Context& ctx, const float* x, const Shape& in_shape, float* out, const Shape& out_shape,
         const std::vector<int64_t>& pads, PadMode mode, float value) {
    const Dims in = dims_of(in_shape, "Pad");
    const Dims od = dims_of(out_shape, "Pad");
    if (pads.size() < in_shape.size()) throw Error("cuda Pad: fewer pad amounts than dimensions");
    PadParams p{};
    for (size_t d = 0; d < in_shape.size(); ++d) p.begin[d] = pads[d];
    p.mode = mode;
    p.value = value;
    const int64_t total = numel(out_shape);
    if (total == 0) return;
    pad_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, in, od, p, out, total);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

}  // namespace xbarsim::cuda
