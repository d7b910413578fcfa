// Matrix-product ops of the CPU backend: convolution as im2col + GEMM, Linear, MatMul, Gemm.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "cpu_ops.hpp"
#include "xbarsim/analog/conv_columns.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::cpu {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc, std::vector<GemmShape>* log) {
    if (log) log->push_back({m, n, k});
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void dgemm(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.0, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb), 0.0, c,
                static_cast<blasint>(ldc));
}

void GroupProduct::multiply_double(int64_t, const double*, int64_t, float*, uint64_t) {
    throw Error("internal: this layer takes no double columns (takes_double_columns() is false)");
}

void GroupProduct::multiply_conv(int64_t, const analog::ConvColumns&, float*, uint64_t) {
    throw Error("internal: this layer takes no convolution columns (takes_conv_columns() is false)");
}

void GroupProduct::fill_conv_columns(const analog::ConvInput&, analog::ConvColumns&) const {
    throw Error("internal: this layer takes no convolution columns (takes_conv_columns() is false)");
}

namespace {

// Unrolls input patches of samples [b0, b0+nb) and channels [c0, c0+cg) into cols[K × nb·OH·OW],
// K ordered (c, kh, kw) to match the weight layout [N, C/g, kh, kw]. T = double: the float
// inputs converted on the way (exactly), for the analog array sums.
template <class T>
void im2col(const float* x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb, const WindowGeometry& g,
            T* cols) {
    const int64_t ohw = g.out_h * g.out_w, ncols = nb * ohw, kk = g.kernel_h * g.kernel_w;
    const int64_t rows = cg * kk;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t c = c0 + r / kk, kh = (r % kk) / g.kernel_w, kw = r % g.kernel_w;
        T* dst = cols + r * ncols;
        for (int64_t b = 0; b < nb; ++b) {
            const float* src = x + ((b0 + b) * channels + c) * g.in_h * g.in_w;
            T* d = dst + b * ohw;
            for (int64_t oh = 0; oh < g.out_h; ++oh) {
                const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                T* drow = d + oh * g.out_w;
                if (ih < 0 || ih >= g.in_h) {
                    std::fill(drow, drow + g.out_w, T{0});
                    continue;
                }
                const float* srow = src + ih * g.in_w;
                // Output columns whose input column lies inside the image: [lo, hi).
                const int64_t off = kw * g.dilation_w - g.pad_left;
                const int64_t lo = std::clamp<int64_t>((-off + g.stride_w - 1) / g.stride_w, 0, g.out_w);
                const int64_t hi = std::clamp<int64_t>((g.in_w - off + g.stride_w - 1) / g.stride_w, lo, g.out_w);
                std::fill(drow, drow + lo, T{0});
                if (g.stride_w == 1) {
                    if constexpr (std::is_same_v<T, float>) {
                        std::memcpy(drow + lo, srow + lo + off, static_cast<size_t>(hi - lo) * sizeof(float));
                    } else {
                        for (int64_t ow = lo; ow < hi; ++ow) drow[ow] = static_cast<T>(srow[ow + off]);
                    }
                } else {
                    for (int64_t ow = lo; ow < hi; ++ow) drow[ow] = static_cast<T>(srow[ow * g.stride_w + off]);
                }
                std::fill(drow + hi, drow + g.out_w, T{0});
            }
        }
    }
}

// Bounds the im2col buffer (floats): batches are processed in chunks of samples whose columns
// (about 4 MB) stay in cache between im2col writing them and the GEMM reading them.
constexpr int64_t kMaxColumnsBuffer = int64_t{1} << 20;

}  // namespace

void conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const NodeAttrs& attrs, Tensor& out,
            Workspace& ws, std::vector<GemmShape>* log, Epilogue ep, const MvmHooks& hooks) {
    const int64_t batch = x.dim(0), channels = x.dim(1), n_out = w.dim(0);
    const auto g = window_geometry(attrs, x.dim(2), x.dim(3));
    const int64_t groups = attrs.group, cg = channels / groups, ng = n_out / groups;
    const int64_t k = cg * g.kernel_h * g.kernel_w, ohw = g.out_h * g.out_w;
    // Analog layers that sum in double read the input in place (ConvColumns) or get double
    // columns (no observer watches them: calibration runs the digital network).
    const bool analog_layer = hooks.product && !hooks.observer;
    const bool in_place = analog_layer && hooks.product->takes_conv_columns() && analog::ConvColumns::supported(g);
    const bool doubles = analog_layer && !in_place && hooks.product->takes_double_columns();
    // Observers that can, see the (DAC'd) input in place rather than its unrolled columns.
    const bool observe_in_place = hooks.observer && hooks.observer->takes_conv_input(hooks.node) && analog::ConvColumns::supported(g);
    // Digital convolutions read their input in place too, in float, and write the output directly.
    const bool digital_in_place = !hooks.product && !hooks.observer && analog::FloatConvColumns::supported(g);
    // Analog layers in place: a chunk bounds the outputs held at once instead of the unrolled
    // input. Digital ones keep the unrolled path's chunks, so that bench's GEMM-only baseline (the
    // logged shapes) stays the same GEMMs.
    const int64_t chunk = std::clamp<int64_t>(kMaxColumnsBuffer / std::max<int64_t>((in_place ? ng : k) * ohw, 1), 1, batch);
    float* cols = doubles || in_place || digital_in_place ? nullptr : ws.get(0, static_cast<size_t>(k * chunk * ohw));
    double* cols64 = doubles ? ws.get_double(0, static_cast<size_t>(k * chunk * ohw)) : nullptr;
    float* prod = ws.get(1, static_cast<size_t>(ng * chunk * ohw));
    // In place, the transform (DAC) is applied while the padded input is filled.
    const float* transformed = hooks.product && !in_place ? hooks.product->transform_input(x) : nullptr;
    const float* input = transformed ? transformed : x.ptr();
    for (int64_t b0 = 0; b0 < batch; b0 += chunk) {
        const int64_t nb = std::min(chunk, batch - b0);
        for (int64_t grp = 0; grp < groups; ++grp) {
            // prod[ng × nb·OHW] = W_g[ng × k] · cols[k × nb·OHW]. With one sample per chunk its
            // layout is the output's, so the GEMM writes the output directly.
            float* dst0 = out.ptr() + (b0 * n_out + grp * ng) * ohw;
            float* target = nb == 1 ? dst0 : prod;
            const uint64_t first_column = (hooks.sample_base + static_cast<uint64_t>(b0)) * static_cast<uint64_t>(ohw);
            // This group's and chunk's part of the raw layer input, for the in-place paths.
            const analog::ConvInput part{x.ptr(), channels, grp * cg, cg, b0, nb, g};
            if (digital_in_place) {
                // Each output sum in row order (fused multiply-adds in float), into the output.
                auto& columns = ws.float_conv_columns();
                columns.assign(part);
                columns.sums_strided(w.ptr() + grp * ng * k, k, ng, 0, k, false, dst0, ohw, n_out * ohw);
                if (log) log->push_back({ng, nb * ohw, k});  // the GEMM it stands for (bench's baseline)
                target = dst0;
            } else if (in_place) {
                hooks.product->fill_conv_columns(part, ws.conv_columns());
                hooks.product->multiply_conv(grp, ws.conv_columns(), target, first_column);
            } else if (doubles) {
                im2col(input, channels, grp * cg, cg, b0, nb, g, cols64);
                hooks.product->multiply_double(grp, cols64, nb * ohw, target, first_column);
            } else {
                im2col(input, channels, grp * cg, cg, b0, nb, g, cols);
                if (observe_in_place)
                    hooks.observer->on_conv_input(hooks.node, grp, {input, channels, grp * cg, cg, b0, nb, g});
                else if (hooks.observer)
                    hooks.observer->on_mvm_input(hooks.node, grp, cols, k, nb * ohw);
                if (hooks.product)
                    hooks.product->multiply(grp, cols, nb * ohw, target, first_column);
                else
                    sgemm(false, false, ng, nb * ohw, k, 1.0f, w.ptr() + grp * ng * k, k, cols, nb * ohw, 0.0f, target,
                          nb * ohw, log);
            }
#pragma omp parallel for collapse(2) schedule(static)
            for (int64_t b = 0; b < nb; ++b)
                for (int64_t o = 0; o < ng; ++o) {
                    const int64_t oc = grp * ng + o;
                    const float bv = bias ? bias->data[static_cast<size_t>(oc)] : 0.0f;
                    float* dst = out.ptr() + ((b0 + b) * n_out + oc) * ohw;
                    // Products in the output's layout already (one sample, or written in place).
                    const float* src = target == dst0 ? dst : target + (o * nb + b) * ohw;
                    for (int64_t i = 0; i < ohw; ++i) dst[i] = ep(src[i] + bv);
                }
        }
    }
}

void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out, Workspace& ws,
            std::vector<GemmShape>* log, Epilogue ep, const MvmHooks& hooks) {
    const int64_t n = w.dim(0), k = w.dim(1), m = x.size() / k;
    if (hooks.observer || hooks.product) {
        // Hooks take input vectors as columns: cols [k x m] = x^T, products [n x m] back to [m x n].
        float* cols = ws.get(0, static_cast<size_t>(k * m));
        for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < k; ++j) cols[j * m + r] = x.data[static_cast<size_t>(r * k + j)];
        if (hooks.observer) hooks.observer->on_mvm_input(hooks.node, 0, cols, k, m);
        const float* t = hooks.product ? hooks.product->transform_input(x) : nullptr;
        if (t)
            for (int64_t r = 0; r < m; ++r)
                for (int64_t j = 0; j < k; ++j) cols[j * m + r] = t[r * k + j];
    }
    if (hooks.product) {
        float* prod = ws.get(1, static_cast<size_t>(n * m));
        const auto rows_per_sample = static_cast<uint64_t>(m / std::max<int64_t>(x.dim(0), 1));
        hooks.product->multiply(0, ws.get(0, static_cast<size_t>(k * m)), m, prod, hooks.sample_base * rows_per_sample);
        for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < n; ++j) out.data[static_cast<size_t>(r * n + j)] = prod[j * m + r];
    } else {
        sgemm(false, true, m, n, k, 1.0f, x.ptr(), k, w.ptr(), k, 0.0f, out.ptr(), n, log);
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) {
            float& v = out.data[static_cast<size_t>(r * n + j)];
            v = ep(v + (bias ? bias->data[static_cast<size_t>(j)] : 0.0f));
        }
}

void matmul(const Tensor& a, const Tensor& b, Tensor& out, std::vector<GemmShape>* log) {
    const MatMulLayout l = matmul_layout(a.shape, b.shape);
    for (size_t i = 0; i < l.operands.size(); ++i) {
        const auto [ia, ib] = l.operands[i];
        sgemm(false, false, l.m, l.n, l.k, 1.0f, a.ptr() + ia * l.m * l.k, l.k, b.ptr() + ib * l.k * l.n, l.n, 0.0f,
              out.ptr() + static_cast<int64_t>(i) * l.m * l.n, l.n, log);
    }
}

void gemm(const Tensor& a, const Tensor& b, const Tensor* c, const NodeAttrs& attrs, Tensor& out,
          std::vector<GemmShape>* log) {
    const int64_t m = out.dim(0), n = out.dim(1);
    const int64_t k = attrs.trans_a ? a.dim(0) : a.dim(1);
    float beta = 0.0f;
    if (c && attrs.beta != 0.0f) {
        // Broadcast C ([M,N], [N], [M,1], [1,N] or scalar) into out, then let sgemm add beta·C.
        Shape cs = c->shape;
        cs.insert(cs.begin(), 2 - std::min<size_t>(cs.size(), 2), 1);
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j)
                out.data[static_cast<size_t>(i * n + j)] =
                    c->data[static_cast<size_t>((cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j))];
        beta = attrs.beta;
    }
    sgemm(attrs.trans_a, attrs.trans_b, m, n, k, attrs.alpha, a.ptr(), a.dim(1), b.ptr(), b.dim(1), beta, out.ptr(), n,
          log);
}

}  // namespace xbarsim::cpu
