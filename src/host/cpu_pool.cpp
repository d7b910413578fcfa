// Pooling ops of the CPU backend (NCHW).
#include <algorithm>
#include <cmath>

#include "cpu_ops.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::cpu {

void max_pool(const Tensor& x, const NodeAttrs& at, Tensor& out) {
    const auto g = window_geometry(at, x.dim(2), x.dim(3));
    const int64_t planes = x.dim(0) * x.dim(1);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
        const float* src = x.ptr() + p * g.in_h * g.in_w;
        float* dst = out.ptr() + p * g.out_h * g.out_w;
        for (int64_t oh = 0; oh < g.out_h; ++oh)
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
                float m = -INFINITY;
                for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
                    const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                    if (ih < 0 || ih >= g.in_h) continue;
                    for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                        const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                        if (iw >= 0 && iw < g.in_w) m = ew::max_nan(m, src[ih * g.in_w + iw]);
                    }
                }
                dst[oh * g.out_w + ow] = m;
            }
    }
}

void average_pool(const Tensor& x, const NodeAttrs& at, Tensor& out) {
    const auto g = window_geometry(at, x.dim(2), x.dim(3));
    const int64_t planes = x.dim(0) * x.dim(1);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
        const float* src = x.ptr() + p * g.in_h * g.in_w;
        float* dst = out.ptr() + p * g.out_h * g.out_w;
        for (int64_t oh = 0; oh < g.out_h; ++oh)
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
                const int64_t h0 = oh * g.stride_h - g.pad_top, w0 = ow * g.stride_w - g.pad_left;
                float sum = 0.0f;
                int64_t valid = 0;
                for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + g.kernel_h, g.in_h); ++ih)
                    for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + g.kernel_w, g.in_w); ++iw) {
                        sum += src[ih * g.in_w + iw];
                        ++valid;
                    }
                // count_include_pad counts explicit padding but, as in PyTorch/ONNX Runtime, not the
                // extra cells a ceil_mode window hangs past the padded input.
                int64_t divisor = valid;
                if (at.count_include_pad) {
                    const int64_t h1 = std::min(h0 + g.kernel_h, g.in_h + g.pad_bottom);
                    const int64_t w1 = std::min(w0 + g.kernel_w, g.in_w + g.pad_right);
                    divisor = (h1 - h0) * (w1 - w0);
                }
                dst[oh * g.out_w + ow] = divisor > 0 ? sum / static_cast<float>(divisor) : 0.0f;
            }
    }
}

void global_average_pool(const Tensor& x, Tensor& out) {
    const int64_t planes = x.dim(0) * x.dim(1), inner = x.size() / planes;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
        double sum = 0.0;
        const float* src = x.ptr() + p * inner;
        for (int64_t i = 0; i < inner; ++i) sum += src[i];
        out.data[static_cast<size_t>(p)] = static_cast<float>(sum / static_cast<double>(inner));
    }
}

}  // namespace xbarsim::cpu
