#pragma once
// The input vectors of a convolution, read in place (CPU only). An analog Conv's array sums are
// double GEMMs over the unrolled input (im2col): on the CPU, writing and reading that K x M matrix
// costs as much as the sums themselves. ConvColumns keeps the DAC'd input once, zero-padded and in
// double, and computes the same sums with a direct-convolution kernel (AVX2/FMA, chosen at run
// time). The products of float-valued doubles are exact, so each sum is the double sum of the same
// terms taken in row order; it can differ from a BLAS GEMM's (which adds in its own order) only in
// the last bit, before the rounding to float. FloatConvColumns does the same in float for the
// digital engine's convolutions (each sum in row order with fused multiply-adds).
#include <stdint.h>

#include <vector>

#include "xbarsim/shape_inference.hpp"

namespace xbarsim::analog {

// The part of a convolution's input that one group and chunk read: samples [b0, b0 + nb) and
// channels [c0, c0 + cg) of x [batch, channels, H, W], with the window geometry g.
struct ConvInput {
    const float* x = nullptr;
    int64_t channels = 0, c0 = 0, cg = 0, b0 = 0, nb = 0;
    WindowGeometry g;
};

// T: the element type of the stored input and of the sums (double: analog arrays; float: the
// digital engine).
template <class T>
class BasicConvColumns {
public:
    // True when this CPU and geometry can use it: AVX2 and FMA present, no negative padding, and
    // not disabled with XBARSIM_DIRECT_CONV=0 (to compare against the im2col path).
    static bool supported(const WindowGeometry& g);

    // Columns of samples [b0, b0 + nb) and channels [c0, c0 + cg) of x [batch, channels, H, W]
    // (values already through the DAC), in im2col's order: row j = (c, kh, kw), column =
    // (sample, output row, output column).
    BasicConvColumns(const float* x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb, const WindowGeometry& g) {
        assign({x, channels, c0, cg, b0, nb, g});
    }

    BasicConvColumns() = default;  // empty, for assign() and assign_mapped()

    // The same columns in this object's storage: reused from layer to layer, it is neither
    // reallocated nor cleared first, since every stored value is written (padding: 0).
    void assign(const ConvInput& in);
    // The same with x through the DAC (analog::dac with these parameters) in the same pass as the
    // padding copy. Padding stays 0, as im2col's zeros do (dac(0) = 0).
    void assign_dac(const ConvInput& in, float range, int bits, bool is_signed);

    // These columns become `from`'s with every input value v replaced by f(v) (padding: f(0),
    // which must be 0): the input slices of bit-serial inputs.
    template <class F>
    void assign_mapped(const BasicConvColumns& from, F f) {
        g_ = from.g_;
        nb_ = from.nb_;
        cg_ = from.cg_;
        hp_ = from.hp_;
        wp_ = from.wp_;
        phase_w_ = from.phase_w_;
        taps_ = from.taps_;
        padded_.resize(from.padded_.size());
        squares_.clear();
        const auto count = static_cast<int64_t>(padded_.size());
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < count; ++i)
            padded_[static_cast<size_t>(i)] = static_cast<T>(f(static_cast<float>(from.padded_[static_cast<size_t>(i)])));
    }

    // How many of this type have been filled in this process: tests use it to check which path a
    // layer took.
    static uint64_t made();

    int64_t rows() const { return static_cast<int64_t>(taps_.size()); }
    int64_t cols() const { return nb_ * g_.out_h * g_.out_w; }

    // out [n x cols()] = a[:, r0 : r0 + nr] . X[r0 : r0 + nr, :] in T (a: n rows, row stride lda;
    // for double, float values held in double). squares: X∘X instead, each x squared in float
    // first (the read-noise variance sums). Out = T, or float for double sums rounded to float as
    // they are stored (what the ADC and read noise work on), without a double copy in memory.
    template <class Out>
    void sums(const T* a, int64_t lda, int64_t n, int64_t r0, int64_t nr, bool squares, Out* out) const {
        sums_strided(a, lda, n, r0, nr, squares, out, cols(), g_.out_h * g_.out_w);
    }
    // The same with output o of column (b, y, x) at out[o * ldo + b * sample_stride + y * out_w + x]
    // (ldo = out_h * out_w and sample_stride = n_out * ldo: straight into an NCHW tensor).
    template <class Out>
    void sums_strided(const T* a, int64_t lda, int64_t n, int64_t r0, int64_t nr, bool squares, Out* out, int64_t ldo,
                      int64_t sample_stride) const;

    // out[c] = sum over rows j in [r0, r0 + nr), in row order, of x[j][c], in float (the offset
    // zero point's current; the same arithmetic as over the unrolled matrix).
    void column_sums(int64_t r0, int64_t nr, float* out) const;

private:
    // Sets the geometry, row offsets and storage size for assign() (which writes every value but
    // the zero tail this sets); counts the construction (made()).
    void shape(int64_t cg, int64_t nb, const WindowGeometry& g);
    template <class F>
    void fill(const ConvInput& in, F f);
    void pad_squares() const;

    WindowGeometry g_;
    int64_t nb_ = 0, cg_ = 0;
    int64_t hp_ = 0, wp_ = 0;  // padded image height and stored row length (stride x phase_w_)
    int64_t phase_w_ = 0;      // columns of one phase of a padded row (ceil(padded width / stride))
    std::vector<int64_t> taps_;    // per row j: offset of its input in a sample's padded image
    std::vector<T> padded_;   // [nb][cg][hp][wp] and a zero tail the last vector may read
    mutable std::vector<T> squares_;  // the same of float(x)^2, made on first use
};

using ConvColumns = BasicConvColumns<double>;
using FloatConvColumns = BasicConvColumns<float>;

}  // namespace xbarsim::analog
