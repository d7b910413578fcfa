#include "xbarsim/analog/conv_columns.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "xbarsim/analog/quantize.hpp"
#include "xbarsim/error.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define XBARSIM_DIRECT_CONV_KERNEL 1
#define XBARSIM_AVX2 __attribute__((target("avx2,fma")))
#else
#define XBARSIM_AVX2
#endif

namespace xbarsim::analog {

namespace {

// Outputs of one kernel call along a row: two AVX2 vectors of doubles.
constexpr int64_t kTileWidth = 8;
// Output channels per kernel call: 6 x 2 accumulators, 2 input vectors and a broadcast weight
// fill the 16 vector registers.
constexpr int64_t kTileChannels = 6;

std::atomic<uint64_t> made_count{0};

bool direct_conv_disabled() {
    const char* v = std::getenv("XBARSIM_DIRECT_CONV");
    return v && std::strcmp(v, "0") == 0;
}

#if XBARSIM_DIRECT_CONV_KERNEL
// Applies M(t, low accumulator, high accumulator) to the kernel's six output channels.
#define XBARSIM_CONV_TILE_ROWS(M) M(0, l0, h0) M(1, l1, h1) M(2, l2, h2) M(3, l3, h3) M(4, l4, h4) M(5, l5, h5)

// Stores 8 sums: as they are, or each rounded to float (the same rounding as a cast).
__attribute__((target("avx2,fma"))) inline void store_sums(double* out, __m256d lo, __m256d hi) {
    _mm256_storeu_pd(out, lo);
    _mm256_storeu_pd(out + 4, hi);
}
__attribute__((target("avx2,fma"))) inline void store_sums(float* out, __m256d lo, __m256d hi) {
    _mm_storeu_ps(out, _mm256_cvtpd_ps(lo));
    _mm_storeu_ps(out + 4, _mm256_cvtpd_ps(hi));
}

// out[t][0..8) = sum over rows kk of a[t][kk] * src[taps[kk] + 0..8), for t < OT, in row order.
// The products of float values are exact in double, so the fused multiply-add rounds exactly like
// a separate add. Accumulators are named variables: GCC keeps an array of them in memory.
template <int OT, class Out>
__attribute__((target("avx2,fma"))) void conv_tile(const double* a, int64_t lda, const int64_t* taps, int64_t nr,
                                                   const double* src, Out* out, int64_t ldo) {
    __m256d l0 = _mm256_setzero_pd(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0, l4 = l0, h4 = l0,
            l5 = l0, h5 = l0;
    for (int64_t kk = 0; kk < nr; ++kk) {
        const double* s = src + taps[kk];
        const __m256d v0 = _mm256_loadu_pd(s), v1 = _mm256_loadu_pd(s + 4);
        const double* ak = a + kk;
        // Each output channel t < OT of the tile: its weight times both input vectors.
#define XBARSIM_CONV_STEP(t, lo, hi)                          \
    if constexpr (OT > t) {                                   \
        const __m256d w = _mm256_broadcast_sd(ak + t * lda);  \
        lo = _mm256_fmadd_pd(w, v0, lo);                      \
        hi = _mm256_fmadd_pd(w, v1, hi);                      \
    }
        XBARSIM_CONV_TILE_ROWS(XBARSIM_CONV_STEP)
#undef XBARSIM_CONV_STEP
    }
#define XBARSIM_CONV_STORE(t, lo, hi) \
    if constexpr (OT > t) store_sums(out + t * ldo, lo, hi);
    XBARSIM_CONV_TILE_ROWS(XBARSIM_CONV_STORE)
#undef XBARSIM_CONV_STORE
}

template <class Out>
__attribute__((target("avx2,fma"))) void conv_tile_any(int64_t channels, const double* a, int64_t lda, const int64_t* taps,
                                                       int64_t nr, const double* src, Out* out, int64_t ldo) {
    switch (channels) {
        case 6: conv_tile<6, Out>(a, lda, taps, nr, src, out, ldo); break;
        case 5: conv_tile<5, Out>(a, lda, taps, nr, src, out, ldo); break;
        case 4: conv_tile<4, Out>(a, lda, taps, nr, src, out, ldo); break;
        case 3: conv_tile<3, Out>(a, lda, taps, nr, src, out, ldo); break;
        case 2: conv_tile<2, Out>(a, lda, taps, nr, src, out, ldo); break;
        default: conv_tile<1, Out>(a, lda, taps, nr, src, out, ldo); break;
    }
}

// One output row (sample b, row y) of every output channel.
template <class Out>
__attribute__((target("avx2,fma"))) void conv_row(const double* a, int64_t lda, int64_t n, const int64_t* taps, int64_t nr,
                                                  const double* src, int64_t out_w, Out* out, int64_t ldo) {
    Out tail[kTileChannels * kTileWidth];
    for (int64_t x = 0; x < out_w; x += kTileWidth) {
        const int64_t width = std::min(kTileWidth, out_w - x);
        for (int64_t o = 0; o < n; o += kTileChannels) {
            const int64_t channels = std::min(kTileChannels, n - o);
            if (width == kTileWidth) {
                conv_tile_any(channels, a + o * lda, lda, taps, nr, src + x, out + o * ldo + x, ldo);
                continue;
            }
            // The row's last, partial tile: computed whole (its extra lanes read the padding or
            // the next row, inside the buffer) and only the valid lanes stored.
            conv_tile_any(channels, a + o * lda, lda, taps, nr, src + x, tail, kTileWidth);
            for (int64_t t = 0; t < channels; ++t)
                std::memcpy(out + (o + t) * ldo + x, tail + t * kTileWidth, static_cast<size_t>(width) * sizeof(Out));
        }
    }
}
#endif

// Slots [lo, hi) of one column phase of a padded row that hold image columns.
struct PhaseSpan {
    int64_t lo = 0, hi = 0;
};

// Slot q of phase ph holds padded column q * stride + ph, image column q * stride + ph - pad_left:
// inside the image for q in [ceil((pad_left - ph) / stride), ceil((pad_left + in_w - ph) / stride)).
PhaseSpan phase_span(const WindowGeometry& g, int64_t phase_w, int64_t ph) {
    const int64_t stride = g.stride_w;
    const auto ceil_div = [stride](int64_t a) { return a <= 0 ? -((-a) / stride) : (a + stride - 1) / stride; };
    const int64_t lo = std::clamp<int64_t>(ceil_div(g.pad_left - ph), 0, phase_w);
    return {lo, std::clamp<int64_t>(ceil_div(g.pad_left + g.in_w - ph), lo, phase_w)};
}

// out[q] = f(in[q * stride]) in double, q < count. Compiled for AVX2 (ConvColumns is only used
// where the CPU has it), so that the DAC's divisions and rounding vectorize; they are correctly
// rounded IEEE operations, the same on any vector width.
template <class F>
XBARSIM_AVX2 void fill_span(const float* in, int64_t stride, int64_t count, double* out, F f) {
    if (stride == 1) {
        for (int64_t q = 0; q < count; ++q) out[q] = static_cast<double>(f(in[q]));
    } else {
        for (int64_t q = 0; q < count; ++q) out[q] = static_cast<double>(f(in[q * stride]));
    }
}

}  // namespace

bool ConvColumns::supported(const WindowGeometry& g) {
#if XBARSIM_DIRECT_CONV_KERNEL
    const bool pads = g.pad_top >= 0 && g.pad_left >= 0 && g.pad_bottom >= 0 && g.pad_right >= 0;
    return g.stride_w >= 1 && pads && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !direct_conv_disabled();
#else
    (void)g;
    return false;
#endif
}

uint64_t ConvColumns::made() { return made_count.load(std::memory_order_relaxed); }

void ConvColumns::shape(int64_t cg, int64_t nb, const WindowGeometry& g) {
    if (!supported(g)) throw Error("internal: ConvColumns used for a geometry or CPU it does not support");
    made_count.fetch_add(1, std::memory_order_relaxed);
    g_ = g;
    nb_ = nb;
    cg_ = cg;
    // A padded row is stored split by column phase (column ix at (ix % stride) * phase width +
    // ix / stride), so that the inputs of neighbouring outputs are neighbours for every stride.
    const int64_t stride = g.stride_w;
    phase_w_ = (g.in_w + g.pad_left + g.pad_right + stride - 1) / stride;
    hp_ = g.in_h + g.pad_top + g.pad_bottom;
    wp_ = stride * phase_w_;
    const int64_t plane = hp_ * wp_, kk = g.kernel_h * g.kernel_w;
    taps_.resize(static_cast<size_t>(cg * kk));
    for (int64_t j = 0; j < cg * kk; ++j) {
        const int64_t c = j / kk, kh = (j % kk) / g.kernel_w, kw = j % g.kernel_w, dx = kw * g.dilation_w;
        taps_[static_cast<size_t>(j)] = c * plane + kh * g.dilation_h * wp_ + (dx % stride) * phase_w_ + dx / stride;
    }
    // The slack after the last image covers the extra lanes of a row's last, partial tile.
    const auto images = static_cast<size_t>(nb * cg * plane);
    padded_.resize(images + static_cast<size_t>(kTileWidth));
    std::fill(padded_.begin() + static_cast<std::ptrdiff_t>(images), padded_.end(), 0.0);
    squares_.clear();
}

template <class F>
void ConvColumns::fill(const float* x, int64_t channels, int64_t c0, int64_t b0, F f) {
    std::vector<PhaseSpan> spans(static_cast<size_t>(g_.stride_w));
    for (int64_t ph = 0; ph < g_.stride_w; ++ph) spans[static_cast<size_t>(ph)] = phase_span(g_, phase_w_, ph);
    const int64_t plane = hp_ * wp_, in_plane = g_.in_h * g_.in_w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < nb_; ++b)
        for (int64_t c = 0; c < cg_; ++c) {
            const float* src = x + ((b0 + b) * channels + c0 + c) * in_plane;
            double* dst = padded_.data() + (b * cg_ + c) * plane;
            for (int64_t r = 0; r < hp_; ++r) {
                const int64_t ih = r - g_.pad_top;
                double* row = dst + r * wp_;
                if (ih < 0 || ih >= g_.in_h) {
                    std::fill(row, row + wp_, 0.0);
                    continue;
                }
                for (int64_t ph = 0; ph < g_.stride_w; ++ph) {
                    double* part = row + ph * phase_w_;
                    const PhaseSpan span = spans[static_cast<size_t>(ph)];
                    std::fill(part, part + span.lo, 0.0);
                    if (span.hi > span.lo)
                        fill_span(src + ih * g_.in_w + (span.lo * g_.stride_w + ph - g_.pad_left), g_.stride_w, span.hi - span.lo,
                                  part + span.lo, f);
                    std::fill(part + span.hi, part + phase_w_, 0.0);
                }
            }
        }
}

void ConvColumns::assign(const float* x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb, const WindowGeometry& g) {
    shape(cg, nb, g);
    fill(x, channels, c0, b0, [](float v) { return v; });
}

void ConvColumns::assign_dac(const float* x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb,
                             const WindowGeometry& g, float range, int bits, bool is_signed) {
    shape(cg, nb, g);
    fill(x, channels, c0, b0, [range, bits, is_signed](float v) { return dac(v, range, bits, is_signed); });
}

void ConvColumns::pad_squares() const {
    if (!squares_.empty()) return;
    squares_.resize(padded_.size());
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(padded_.size()); ++i) {
        const auto v = static_cast<float>(padded_[static_cast<size_t>(i)]);
        squares_[static_cast<size_t>(i)] = static_cast<double>(v * v);
    }
}

template <class Out>
void ConvColumns::sums_into(const double* a, int64_t lda, int64_t n, int64_t r0, int64_t nr, bool squares, Out* out) const {
#if XBARSIM_DIRECT_CONV_KERNEL
    if (squares) pad_squares();
    const double* image = squares ? squares_.data() : padded_.data();
    const int64_t ohw = g_.out_h * g_.out_w, m = cols(), sample = cg_ * hp_ * wp_;
    const int64_t* taps = taps_.data() + r0;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < nb_; ++b)
        for (int64_t y = 0; y < g_.out_h; ++y)
            conv_row(a + r0, lda, n, taps, nr, image + b * sample + y * g_.stride_h * wp_, g_.out_w, out + b * ohw + y * g_.out_w, m);
#else
    (void)a, (void)lda, (void)n, (void)r0, (void)nr, (void)squares, (void)out;
    throw Error("internal: ConvColumns has no kernel on this CPU architecture");
#endif
}

void ConvColumns::sums(const double* a, int64_t lda, int64_t n, int64_t r0, int64_t nr, bool squares, double* out) const {
    sums_into(a, lda, n, r0, nr, squares, out);
}

void ConvColumns::sums(const double* a, int64_t lda, int64_t n, int64_t r0, int64_t nr, bool squares, float* out) const {
    sums_into(a, lda, n, r0, nr, squares, out);
}

void ConvColumns::column_sums(int64_t r0, int64_t nr, float* out) const {
    const int64_t ohw = g_.out_h * g_.out_w, sample = cg_ * hp_ * wp_;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < nb_; ++b)
        for (int64_t y = 0; y < g_.out_h; ++y) {
            float* o = out + b * ohw + y * g_.out_w;
            const double* src = padded_.data() + b * sample + y * g_.stride_h * wp_;
            std::fill(o, o + g_.out_w, 0.0f);
            for (int64_t j = r0; j < r0 + nr; ++j) {
                const double* s = src + taps_[static_cast<size_t>(j)];
                for (int64_t x = 0; x < g_.out_w; ++x) o[x] += static_cast<float>(s[x]);
            }
        }
}

}  // namespace xbarsim::analog
