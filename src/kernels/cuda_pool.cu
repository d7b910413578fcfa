// Pooling ops of the CUDA backend (NCHW): one thread per output element, the same window
// arithmetic as src/host/cpu_pool.cpp (pads, dilations, ceil_mode, count_include_pad).
#include "cuda_check.cuh"
#include "cuda_ops.cuh"

namespace xbarsim::cuda {

namespace {

__global__ void max_pool_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t planes, WindowGeometry g) {
    const int64_t ohw = g.out_h * g.out_w, total = planes * ohw;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t p = t / ohw, oh = (t % ohw) / g.out_w, ow = t % g.out_w;
        const float* src = x + p * g.in_h * g.in_w;
        float m = -INFINITY;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
            if (ih < 0 || ih >= g.in_h) continue;
            for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (iw >= 0 && iw < g.in_w) m = ew::max_nan(m, src[ih * g.in_w + iw]);
            }
        }
        out[t] = m;
    }
}

__global__ void average_pool_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t planes,
                                    WindowGeometry g, bool count_include_pad) {
    const int64_t ohw = g.out_h * g.out_w, total = planes * ohw;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t p = t / ohw, oh = (t % ohw) / g.out_w, ow = t % g.out_w;
        const float* src = x + p * g.in_h * g.in_w;
        const int64_t h0 = oh * g.stride_h - g.pad_top, w0 = ow * g.stride_w - g.pad_left;
        float sum = 0.0f;
        int64_t valid = 0;
        const int64_t ih_end = min(h0 + g.kernel_h, g.in_h), iw_end = min(w0 + g.kernel_w, g.in_w);
        for (int64_t ih = max(h0, int64_t{0}); ih < ih_end; ++ih)
            for (int64_t iw = max(w0, int64_t{0}); iw < iw_end; ++iw) {
                sum += src[ih * g.in_w + iw];
                ++valid;
            }
        // count_include_pad counts explicit padding but not the cells a ceil_mode window hangs
        // past the padded input (as the CPU backend, PyTorch and ONNX Runtime).
        int64_t divisor = valid;
        if (count_include_pad) {
            const int64_t h1 = min(h0 + g.kernel_h, g.in_h + g.pad_bottom);
            const int64_t w1 = min(w0 + g.kernel_w, g.in_w + g.pad_right);
            divisor = (h1 - h0) * (w1 - w0);
        }
        out[t] = divisor > 0 ? sum / static_cast<float>(divisor) : 0.0f;
    }
}

// One warp per plane: lanes sum strided elements in double, then a shuffle reduction.
__global__ void global_average_pool_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t planes,
                                           int64_t inner) {
    const int lane = threadIdx.x % 32;
    const int64_t warps_per_block = blockDim.x / 32;
    for (int64_t p = blockIdx.x * warps_per_block + threadIdx.x / 32; p < planes; p += static_cast<int64_t>(gridDim.x) * warps_per_block) {
        const float* src = x + p * inner;
        double sum = 0.0;
        for (int64_t i = lane; i < inner; i += 32) sum += src[i];
        for (int off = 16; off > 0; off /= 2) sum += __shfl_down_sync(0xffffffffu, sum, off);
        if (lane == 0) out[p] = static_cast<float>(sum / static_cast<double>(inner));
    }
}

}  // namespace

void max_pool(const Context& ctx, const float* x, float* out, int64_t planes, const WindowGeometry& g) {
    const int64_t total = planes * g.out_h * g.out_w;
    if (total == 0) return;
    max_pool_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, out, planes, g);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void average_pool(const Context& ctx, const float* x, float* out, int64_t planes, const WindowGeometry& g,
                  bool count_include_pad) {
    const int64_t total = planes * g.out_h * g.out_w;
    if (total == 0) return;
    average_pool_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, out, planes, g, count_include_pad);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

void global_average_pool(const Context& ctx, const float* x, float* out, int64_t planes, int64_t inner) {
    if (planes == 0) return;
    constexpr int64_t kWarpsPerBlock = kThreads / 32;
    int64_t blocks = (planes + kWarpsPerBlock - 1) / kWarpsPerBlock;
    if (blocks > 65535) blocks = 65535;  // the kernel loops over the rest
    global_average_pool_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(x, out, planes, inner);
    XBARSIM_CUDA_LAUNCH_CHECK();
}

}  // namespace xbarsim::cuda
