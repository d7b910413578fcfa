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

// Output channels per kernel call: 6 x 2 accumulators, 2 input vectors and a broadcast weight
// fill the 16 vector registers.
constexpr int64_t kTileChannels = 6;
// Outputs of one kernel call along a row: two AVX2 vectors (8 doubles or 16 floats).
template <class T>
constexpr int64_t kTileWidth = 2 * 32 / static_cast<int64_t>(sizeof(T));

template <class T>
std::atomic<uint64_t>& made_count() {
    static std::atomic<uint64_t> count{0};
    return count;
}

bool direct_conv_disabled() {
    const char* v = std::getenv("XBARSIM_DIRECT_CONV");
    return v && std::strcmp(v, "0") == 0;
}

#if XBARSIM_DIRECT_CONV_KERNEL
// The AVX2 vector of T: 4 doubles or 8 floats, and the operations the kernel needs.
template <class T>
struct Avx2;
template <>
struct Avx2<double> {
    using V = __m256d;
    static constexpr int kLanes = 4;
    XBARSIM_AVX2 static V zero() { return _mm256_setzero_pd(); }
    XBARSIM_AVX2 static V load(const double* p) { return _mm256_loadu_pd(p); }
    XBARSIM_AVX2 static V broadcast(const double* p) { return _mm256_broadcast_sd(p); }
    XBARSIM_AVX2 static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
    XBARSIM_AVX2 static void store(double* out, V v) { _mm256_storeu_pd(out, v); }
    // Rounded to float: the same rounding as a cast.
    XBARSIM_AVX2 static void store(float* out, V v) { _mm_storeu_ps(out, _mm256_cvtpd_ps(v)); }
};
template <>
struct Avx2<float> {
    using V = __m256;
    static constexpr int kLanes = 8;
    XBARSIM_AVX2 static V zero() { return _mm256_setzero_ps(); }
    XBARSIM_AVX2 static V load(const float* p) { return _mm256_loadu_ps(p); }
    XBARSIM_AVX2 static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    XBARSIM_AVX2 static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    XBARSIM_AVX2 static void store(float* out, V v) { _mm256_storeu_ps(out, v); }
};

// Applies M(t, low accumulator, high accumulator) to the kernel's six output channels.
#define XBARSIM_CONV_TILE_ROWS(M) M(0, l0, h0) M(1, l1, h1) M(2, l2, h2) M(3, l3, h3) M(4, l4, h4) M(5, l5, h5)

// out[t][0..W) = sum over rows kk of a[t][kk] * src[taps[kk] + 0..W), for t < OT, in row order (W =
// kTileWidth<T>). In double, the products of float values are exact, so the fused multiply-add
// rounds exactly like a separate add. Accumulators are named variables: GCC keeps an array of them
// in memory.
template <int OT, class T, class Out>
XBARSIM_AVX2 void conv_tile(const T* a, int64_t lda, const int64_t* taps, int64_t nr, const T* src, Out* out, int64_t ldo) {
    using A = Avx2<T>;
    using V = typename A::V;
    V l0 = A::zero(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0, l4 = l0, h4 = l0, l5 = l0, h5 = l0;
    for (int64_t kk = 0; kk < nr; ++kk) {
        const T* s = src + taps[kk];
        const V v0 = A::load(s), v1 = A::load(s + A::kLanes);
        const T* ak = a + kk;
        // Each output channel t < OT of the tile: its weight times both input vectors.
#define XBARSIM_CONV_STEP(t, lo, hi)             \
    if constexpr (OT > t) {                      \
        const V w = A::broadcast(ak + t * lda);  \
        lo = A::fmadd(w, v0, lo);                \
        hi = A::fmadd(w, v1, hi);                \
    }
        XBARSIM_CONV_TILE_ROWS(XBARSIM_CONV_STEP)
#undef XBARSIM_CONV_STEP
    }
#define XBARSIM_CONV_STORE(t, lo, hi)        \
    if constexpr (OT > t) {                  \
        A::store(out + t * ldo, lo);         \
        A::store(out + t * ldo + A::kLanes, hi); \
    }
    XBARSIM_CONV_TILE_ROWS(XBARSIM_CONV_STORE)
#undef XBARSIM_CONV_STORE
}

template <class T, class Out>
XBARSIM_AVX2 void conv_tile_any(int64_t channels, const T* a, int64_t lda, const int64_t* taps, int64_t nr, const T* src, Out* out,
                                int64_t ldo) {
    switch (channels) {
        case 6: conv_tile<6>(a, lda, taps, nr, src, out, ldo); break;
        case 5: conv_tile<5>(a, lda, taps, nr, src, out, ldo); break;
        case 4: conv_tile<4>(a, lda, taps, nr, src, out, ldo); break;
        case 3: conv_tile<3>(a, lda, taps, nr, src, out, ldo); break;
        case 2: conv_tile<2>(a, lda, taps, nr, src, out, ldo); break;
        default: conv_tile<1>(a, lda, taps, nr, src, out, ldo); break;
    }
}

// One output row (sample b, row y) of every output channel.
template <class T, class Out>
XBARSIM_AVX2 void conv_row(const T* a, int64_t lda, int64_t n, const int64_t* taps, int64_t nr, const T* src, int64_t out_w, Out* out,
                           int64_t ldo) {
    constexpr int64_t width_max = kTileWidth<T>;
    Out tail[kTileChannels * width_max];
    for (int64_t x = 0; x < out_w; x += width_max) {
        const int64_t width = std::min(width_max, out_w - x);
        for (int64_t o = 0; o < n; o += kTileChannels) {
            const int64_t channels = std::min(kTileChannels, n - o);
            if (width == width_max) {
                conv_tile_any(channels, a + o * lda, lda, taps, nr, src + x, out + o * ldo + x, ldo);
                continue;
            }
            // The row's last, partial tile: computed whole (its extra lanes read the padding or
            // the next row, inside the buffer) and only the valid lanes stored.
            conv_tile_any(channels, a + o * lda, lda, taps, nr, src + x, tail, width_max);
            for (int64_t t = 0; t < channels; ++t)
                std::memcpy(out + (o + t) * ldo + x, tail + t * width_max, static_cast<size_t>(width) * sizeof(Out));
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

// out[q] = f(in[q * stride]) as T, q < count. Compiled for AVX2 (the columns are only used where
// the CPU has it), so that the DAC's divisions and rounding vectorize; they are correctly rounded
// IEEE operations, the same on any vector width.
template <class T, class F>
XBARSIM_AVX2 void fill_span(const float* in, int64_t stride, int64_t count, T* out, F f) {
    if (stride == 1) {
        for (int64_t q = 0; q < count; ++q) out[q] = static_cast<T>(f(in[q]));
    } else {
        for (int64_t q = 0; q < count; ++q) out[q] = static_cast<T>(f(in[q * stride]));
    }
}

}  // namespace

template <class T>
bool BasicConvColumns<T>::supported(const WindowGeometry& g) {
#if XBARSIM_DIRECT_CONV_KERNEL
    const bool pads = g.pad_top >= 0 && g.pad_left >= 0 && g.pad_bottom >= 0 && g.pad_right >= 0;
    return g.stride_w >= 1 && pads && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !direct_conv_disabled();
#else
    (void)g;
    return false;
#endif
}

template <class T>
uint64_t BasicConvColumns<T>::made() {
    return made_count<T>().load(std::memory_order_relaxed);
}

template <class T>
void BasicConvColumns<T>::shape(int64_t cg, int64_t nb, const WindowGeometry& g) {
    if (!supported(g)) throw Error("internal: ConvColumns used for a geometry or CPU it does not support");
    made_count<T>().fetch_add(1, std::memory_order_relaxed);
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
    padded_.resize(images + static_cast<size_t>(kTileWidth<T>));
    std::fill(padded_.begin() + static_cast<std::ptrdiff_t>(images), padded_.end(), T{0});
    squares_.clear();
}

template <class T>
template <class F>
void BasicConvColumns<T>::fill(const ConvInput& in, F f) {
    std::vector<PhaseSpan> spans(static_cast<size_t>(g_.stride_w));
    for (int64_t ph = 0; ph < g_.stride_w; ++ph) spans[static_cast<size_t>(ph)] = phase_span(g_, phase_w_, ph);
    const int64_t plane = hp_ * wp_, in_plane = g_.in_h * g_.in_w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < nb_; ++b)
        for (int64_t c = 0; c < cg_; ++c) {
            const float* src = in.x + ((in.b0 + b) * in.channels + in.c0 + c) * in_plane;
            T* dst = padded_.data() + (b * cg_ + c) * plane;
            for (int64_t r = 0; r < hp_; ++r) {
                const int64_t ih = r - g_.pad_top;
                T* row = dst + r * wp_;
                if (ih < 0 || ih >= g_.in_h) {
                    std::fill(row, row + wp_, T{0});
                    continue;
                }
                for (int64_t ph = 0; ph < g_.stride_w; ++ph) {
                    T* part = row + ph * phase_w_;
                    const PhaseSpan span = spans[static_cast<size_t>(ph)];
                    std::fill(part, part + span.lo, T{0});
                    if (span.hi > span.lo)
                        fill_span(src + ih * g_.in_w + (span.lo * g_.stride_w + ph - g_.pad_left), g_.stride_w, span.hi - span.lo,
                                  part + span.lo, f);
                    std::fill(part + span.hi, part + phase_w_, T{0});
                }
            }
        }
}

template <class T>
void BasicConvColumns<T>::assign(const ConvInput& in) {
    shape(in.cg, in.nb, in.g);
    fill(in, [](float v) { return v; });
}

template <class T>
void BasicConvColumns<T>::assign_dac(const ConvInput& in, float range, int bits, bool is_signed) {
    shape(in.cg, in.nb, in.g);
    fill(in, [range, bits, is_signed](float v) { return dac(v, range, bits, is_signed); });
}

template <class T>
void BasicConvColumns<T>::pad_squares() const {
    if (!squares_.empty()) return;
    squares_.resize(padded_.size());
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(padded_.size()); ++i) {
        const auto v = static_cast<float>(padded_[static_cast<size_t>(i)]);
        squares_[static_cast<size_t>(i)] = static_cast<T>(v * v);
    }
}

template <class T>
template <class Out>
void BasicConvColumns<T>::sums_strided(const T* a, int64_t lda, int64_t n, int64_t r0, int64_t nr, bool squares, Out* out, int64_t ldo,
                                       int64_t sample_stride) const {
#if XBARSIM_DIRECT_CONV_KERNEL
    if (squares) pad_squares();
    const T* image = squares ? squares_.data() : padded_.data();
    const int64_t sample = cg_ * hp_ * wp_;
    const int64_t* taps = taps_.data() + r0;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < nb_; ++b)
        for (int64_t y = 0; y < g_.out_h; ++y)
            conv_row(a + r0, lda, n, taps, nr, image + b * sample + y * g_.stride_h * wp_, g_.out_w,
                     out + b * sample_stride + y * g_.out_w, ldo);
#else
    (void)a, (void)lda, (void)n, (void)r0, (void)nr, (void)squares, (void)out, (void)ldo, (void)sample_stride;
    throw Error("internal: ConvColumns has no kernel on this CPU architecture");
#endif
}

template <class T>
void BasicConvColumns<T>::column_sums(int64_t r0, int64_t nr, float* out) const {
    const int64_t ohw = g_.out_h * g_.out_w, sample = cg_ * hp_ * wp_;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < nb_; ++b)
        for (int64_t y = 0; y < g_.out_h; ++y) {
            float* o = out + b * ohw + y * g_.out_w;
            const T* src = padded_.data() + b * sample + y * g_.stride_h * wp_;
            std::fill(o, o + g_.out_w, 0.0f);
            for (int64_t j = r0; j < r0 + nr; ++j) {
                const T* s = src + taps_[static_cast<size_t>(j)];
                for (int64_t x = 0; x < g_.out_w; ++x) o[x] += static_cast<float>(s[x]);
            }
        }
}

template class BasicConvColumns<double>;
template class BasicConvColumns<float>;
template void ConvColumns::sums_strided(const double*, int64_t, int64_t, int64_t, int64_t, bool, double*, int64_t, int64_t) const;
template void ConvColumns::sums_strided(const double*, int64_t, int64_t, int64_t, int64_t, bool, float*, int64_t, int64_t) const;
template void FloatConvColumns::sums_strided(const float*, int64_t, int64_t, int64_t, int64_t, bool, float*, int64_t, int64_t) const;

}  // namespace xbarsim::analog
