// An analog MVM layer with ideal devices against the quantized digital product computed here in
// double precision from its definition (W_q = W_max * round(W / W_max * n) / n, x_q likewise):
// every mapping and slicing must reproduce it, across array tiling; the ADC adds at most half a
// step per conversion.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::analog {
namespace {

struct Problem {
    int64_t n = 37, k = 300, m = 6;
    std::vector<float> w, x;
    float w_max = 0;
    explicit Problem(bool nonneg_x = false, unsigned seed = 7) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> d(0.0f, 0.5f);
        w.resize(static_cast<size_t>(n * k));
        x.resize(static_cast<size_t>(k * m));
        for (auto& v : w) {
            v = d(rng);
            w_max = std::max(w_max, std::fabs(v));
        }
        for (auto& v : x) v = nonneg_x ? std::fabs(d(rng)) : d(rng);
    }
    // y = W_q . x_q in double, W quantized to `wbits` (0: exact), x by a `xbits` DAC of range r.
    // per_column: W_max is each output's own max |W| (per-column weight scaling).
    std::vector<double> reference(int wbits, int xbits, float r, bool is_signed, bool per_column = false) const {
        std::vector<double> y(static_cast<size_t>(n * m), 0.0);
        const double nw = wbits ? std::ldexp(1.0, wbits - 1) - 1 : 0;
        const double nx = xbits ? (is_signed ? std::ldexp(1.0, xbits - 1) - 1 : std::ldexp(1.0, xbits) - 1) : 0;
        for (int64_t o = 0; o < n; ++o) {
            double scale = w_max;
            if (per_column) {
                scale = 0.0;
                for (int64_t j = 0; j < k; ++j) scale = std::max(scale, static_cast<double>(std::fabs(w[static_cast<size_t>(o * k + j)])));
            }
            for (int64_t j = 0; j < k; ++j) {
                double wq = w[static_cast<size_t>(o * k + j)];
                if (wbits) wq = std::nearbyint(wq / scale * nw) / nw * scale;
                for (int64_t c = 0; c < m; ++c) {
                    double xv = std::clamp(static_cast<double>(x[static_cast<size_t>(j * m + c)]) / r, is_signed ? -1.0 : 0.0, 1.0);
                    if (xbits) xv = std::nearbyint(xv * nx) / nx;
                    y[static_cast<size_t>(o * m + c)] += wq * xv * r;
                }
            }
        }
        return y;
    }
};

double max_rel_error(const std::vector<float>& got, const std::vector<double>& want) {
    double scale = 1e-30, err = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        scale = std::max(scale, std::fabs(want[i]));
        err = std::max(err, std::fabs(got[i] - want[i]));
    }
    return err / scale;
}

struct MappingCase {
    const char* name;
    Mapping mapping;
    int weight_bits, slices, cell_bits;
    bool per_column_scale = false, separate_differential = false, reference_column = false;
};

std::ostream& operator<<(std::ostream& os, const MappingCase& c) { return os << c.name; }

class IdealAnalog : public ::testing::TestWithParam<MappingCase> {};

TEST_P(IdealAnalog, ReproducesQuantizedDigitalProduct) {
    const auto& c = GetParam();
    Problem p;
    MatrixMapping map;
    map.mapping = c.mapping;
    map.weight_bits = c.weight_bits;
    map.slices = c.slices;
    map.cell_bits = c.cell_bits;
    map.array_rows = 128;  // 3 row blocks for K = 300
    map.array_cols = 16;
    map.g_min = 0.01f;
    map.per_column_scale = c.per_column_scale;
    map.separate_differential = c.separate_differential;
    map.reference_column = c.reference_column;
    if (c.per_column_scale)  // outputs of very different magnitude, where per-column scaling matters
        for (int64_t o = 0; o < p.n; ++o)
            for (int64_t j = 0; j < p.k; ++j) p.w[static_cast<size_t>(o * p.k + j)] *= static_cast<float>(1 + o % 5) / 5.0f;
    const AnalogMatrix a(p.w.data(), p.n, p.k, map);
    EXPECT_EQ(a.row_blocks(), 3);
    EXPECT_EQ(a.col_blocks(), 3);
    std::vector<float> y(static_cast<size_t>(p.n * p.m));
    for (int xbits : {0, 8}) {
        InputSpec in;
        in.bits = xbits;
        in.range = 1.5f;
        a.mvm(p.x.data(), p.m, in, AdcSpec{}, y.data());
        // float32 GEMM accumulation over K = 300, recombined over slices: up to ~5e-6 relative. Mapping
        // errors are far larger: a lost or misplaced slice, a wrong zero point or scale is >= 1e-3.
        EXPECT_LT(max_rel_error(y, p.reference(c.weight_bits, xbits, in.range, true, c.per_column_scale)), 1e-5) << c.name << " dac " << xbits;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Mappings, IdealAnalog,
    ::testing::Values(MappingCase{"differential_continuous", Mapping::Differential, 0, 1, 0},
                      MappingCase{"differential_8bit", Mapping::Differential, 8, 1, 0},
                      MappingCase{"differential_8bit_7bit_cells", Mapping::Differential, 8, 1, 7},
                      MappingCase{"differential_8bit_2slices", Mapping::Differential, 8, 2, 0},
                      MappingCase{"differential_8bit_7slices", Mapping::Differential, 8, 7, 0},
                      MappingCase{"differential_16bit_8slices", Mapping::Differential, 16, 8, 0},
                      MappingCase{"offset_continuous", Mapping::Offset, 0, 1, 0},
                      MappingCase{"offset_8bit_8bit_cells", Mapping::Offset, 8, 1, 8},
                      MappingCase{"offset_8bit_2slices", Mapping::Offset, 8, 2, 0},
                      MappingCase{"offset_6bit_3slices", Mapping::Offset, 6, 3, 0},
                      MappingCase{"differential_8bit_per_column", Mapping::Differential, 8, 1, 0, true},
                      MappingCase{"differential_8bit_2slices_per_column", Mapping::Differential, 8, 2, 0, true},
                      MappingCase{"offset_8bit_per_column", Mapping::Offset, 8, 1, 8, true},
                      MappingCase{"differential_8bit_separate", Mapping::Differential, 8, 1, 0, false, true},
                      MappingCase{"differential_8bit_3slices_separate", Mapping::Differential, 8, 3, 0, false, true},
                      MappingCase{"offset_8bit_reference_column", Mapping::Offset, 8, 1, 8, false, false, true},
                      MappingCase{"offset_8bit_2slices_reference_column", Mapping::Offset, 8, 2, 0, false, false, true},
                      MappingCase{"offset_continuous_reference_column", Mapping::Offset, 0, 1, 0, false, false, true}),
    [](const ::testing::TestParamInfo<MappingCase>& i) { return std::string(i.param.name); });

// Bit-serial inputs recombine exactly: with ideal ADCs the shift-add over input slices equals
// applying the whole input code at once, for signed and unsigned inputs and any slice width.
TEST(AnalogMatrix, BitSerialInputsRecombineExactly) {
    for (bool is_signed : {true, false}) {
        Problem p(!is_signed);
        MatrixMapping map;
        map.array_rows = 128;
        map.weight_bits = 8;
        map.slices = 2;
        const AnalogMatrix a(p.w.data(), p.n, p.k, map);
        InputSpec in;
        in.bits = 8;
        in.range = 1.5f;
        in.is_signed = is_signed;
        std::vector<float> whole(static_cast<size_t>(p.n * p.m)), serial(whole.size());
        a.mvm(p.x.data(), p.m, in, AdcSpec{}, whole.data());
        for (int s : {1, 2, 3, 7}) {
            in.slice_bits = s;
            a.mvm(p.x.data(), p.m, in, AdcSpec{}, serial.data());
            EXPECT_LT(max_rel_error(serial, std::vector<double>(whole.begin(), whole.end())), 1e-5) << s << is_signed;
        }
        // And both equal the quantized digital product.
        EXPECT_LT(max_rel_error(serial, p.reference(8, 8, 1.5f, is_signed)), 1e-5);
        in.slice_bits = 0;
    }
}

// Analog accumulation of input slices: with ideal ADCs it equals the whole input at once; with a
// real ADC there is one conversion per array output (not one per input slice), so the error is at
// most half a step per row block, whatever the number of input slices.
TEST(AnalogMatrix, AnalogAccumulationOfInputSlicesConvertsOnce) {
    Problem p(true);
    MatrixMapping map;
    map.array_rows = 100;  // 3 row blocks
    const AnalogMatrix a(p.w.data(), p.n, p.k, map);
    InputSpec in;
    in.bits = 8;
    in.range = 1.5f;
    in.is_signed = false;
    std::vector<float> whole(static_cast<size_t>(p.n * p.m)), serial(whole.size()), quantized(whole.size());
    a.mvm(p.x.data(), p.m, in, AdcSpec{}, whole.data());
    in.slice_bits = 1;
    in.analog_accumulation = true;
    a.mvm(p.x.data(), p.m, in, AdcSpec{}, serial.data());
    EXPECT_LT(max_rel_error(serial, std::vector<double>(whole.begin(), whole.end())), 1e-5);
    AdcSpec adc;
    adc.bits = 6;
    adc.hi = {12.0f};
    int conversions = 0;
    a.mvm(p.x.data(), p.m, in, adc, quantized.data(), [&](int, const float*, int64_t rows, int64_t cols) {
        EXPECT_EQ(rows, p.n);
        EXPECT_EQ(cols, p.m);
        ++conversions;
    });
    EXPECT_EQ(conversions, 3);  // one per row block, not 8 input slices x 3
    const double bound = 3 * (12.0 / 31.0) / 2 * p.w_max * in.range * (1 + 1e-5);
    double worst = 0;
    for (size_t i = 0; i < whole.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(quantized[i] - whole[i])));
    EXPECT_LE(worst, bound);
    EXPECT_GT(worst, 0.0);
}

// Per-column ADC ranges: equal ranges everywhere give exactly the per-slice result; a tiny range on
// one column clips that column only.
TEST(AnalogMatrix, PerColumnAdcRangesApplyToTheirColumn) {
    Problem p;
    MatrixMapping map;
    map.weight_bits = 8;
    map.slices = 2;
    const AnalogMatrix a(p.w.data(), p.n, p.k, map);
    InputSpec in;
    in.range = 2.0f;
    AdcSpec per_slice;
    per_slice.bits = 7;
    per_slice.hi = {3.0f, 9.0f};
    AdcSpec per_column = per_slice;
    per_column.hi.clear();
    for (float h : per_slice.hi) per_column.column_hi.insert(per_column.column_hi.end(), static_cast<size_t>(p.n), h);
    std::vector<float> y0(static_cast<size_t>(p.n * p.m)), y1(y0.size());
    a.mvm(p.x.data(), p.m, in, per_slice, y0.data());
    a.mvm(p.x.data(), p.m, in, per_column, y1.data());
    for (size_t i = 0; i < y0.size(); ++i) EXPECT_EQ(y0[i], y1[i]);
    const int64_t col = 5;
    for (int s = 0; s < 2; ++s) per_column.column_hi[static_cast<size_t>(s * p.n + col)] = 1e-4f;
    a.mvm(p.x.data(), p.m, in, per_column, y1.data());
    for (int64_t o = 0; o < p.n; ++o)
        for (int64_t c = 0; c < p.m; ++c) {
            const auto i = static_cast<size_t>(o * p.m + c);
            if (o == col) EXPECT_LT(std::fabs(y1[i]), 0.01f * std::fabs(y0[i]) + 1e-3f);
            else EXPECT_EQ(y1[i], y0[i]);
        }
    per_column.column_hi.pop_back();
    EXPECT_THROW(a.mvm(p.x.data(), p.m, in, per_column, y1.data()), Error);
}

TEST(AnalogMatrix, SlicedCellsHoldSliceBitsLevels) {
    Problem p;
    MatrixMapping map;
    map.weight_bits = 8;
    map.slices = 2;  // 7 magnitude bits in 2 slices of 4 bits
    const AnalogMatrix a(p.w.data(), p.n, p.k, map);
    EXPECT_EQ(a.slices(), 2);
    EXPECT_EQ(a.slice_bits(), 4);
    for (int s = 0; s < 2; ++s)
        for (double stored : a.conductance(s)) {
            const auto g = static_cast<float>(stored);
            const float level = std::fabs(g) * 15.0f;
            EXPECT_NEAR(level, std::nearbyint(level), 1e-4);  // on the 16-level grid
            EXPECT_LE(std::fabs(g), 1.0f);
        }
}

TEST(AnalogMatrix, UnsignedInputsClipNegativesLikeTheReference) {
    Problem p(false);
    MatrixMapping map;
    const AnalogMatrix a(p.w.data(), p.n, p.k, map);
    InputSpec in;
    in.bits = 8;
    in.range = 1.0f;
    in.is_signed = false;
    std::vector<float> y(static_cast<size_t>(p.n * p.m));
    a.mvm(p.x.data(), p.m, in, AdcSpec{}, y.data());
    EXPECT_LT(max_rel_error(y, p.reference(8, 8, 1.0f, false)), 2e-6);
}

TEST(AnalogMatrix, AdcErrorIsAtMostHalfAStepPerConversion) {
    Problem p;
    MatrixMapping map;
    map.array_rows = 100;  // 3 row blocks, 3 conversions per output
    const AnalogMatrix a(p.w.data(), p.n, p.k, map);
    InputSpec in;
    in.bits = 0;
    in.range = 2.0f;
    AdcSpec adc;
    adc.bits = 8;
    adc.hi = {20.0f};  // normalized array-output units
    std::vector<float> y(static_cast<size_t>(p.n * p.m)), ideal(y.size());
    a.mvm(p.x.data(), p.m, in, adc, y.data());
    a.mvm(p.x.data(), p.m, in, AdcSpec{}, ideal.data());
    // Output units per array unit: W_max * range / (1 - g_min); step = hi / 127.
    const double bound = 3 * (20.0 / 127.0) / 2 * p.w_max * in.range * (1 + 1e-5);
    double worst = 0, moved = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::fabs(y[i] - ideal[i])));
        moved += std::fabs(y[i] - ideal[i]);
    }
    EXPECT_LE(worst, bound);
    EXPECT_GT(moved, 0.0);  // the ADC did quantize
    // A range far below the signal clips every output to +-hi per conversion.
    adc.hi = {1e-3f};
    a.mvm(p.x.data(), p.m, in, adc, y.data());
    for (float v : y) EXPECT_LE(std::fabs(v), 3 * 1e-3 * p.w_max * in.range * (1 + 1e-5));
}

TEST(AnalogMatrix, GminCancelsInDifferentialPairs) {
    Problem p;
    MatrixMapping a0, a1;
    a1.g_min = 0.2f;
    const AnalogMatrix m0(p.w.data(), p.n, p.k, a0), m1(p.w.data(), p.n, p.k, a1);
    std::vector<float> y0(static_cast<size_t>(p.n * p.m)), y1(y0.size());
    m0.mvm(p.x.data(), p.m, InputSpec{}, AdcSpec{}, y0.data());
    m1.mvm(p.x.data(), p.m, InputSpec{}, AdcSpec{}, y1.data());
    for (size_t i = 0; i < y0.size(); ++i) EXPECT_NEAR(y0[i], y1[i], 1e-4);
}

TEST(AnalogMatrix, RejectsInvalidMappings) {
    Problem p;
    MatrixMapping m;
    m.slices = 2;
    m.weight_bits = 0;
    EXPECT_THROW(AnalogMatrix(p.w.data(), p.n, p.k, m), Error);
    m = MatrixMapping{};
    m.array_rows = 0;
    EXPECT_THROW(AnalogMatrix(p.w.data(), p.n, p.k, m), Error);
    m = MatrixMapping{};
    m.g_min = 1.0f;
    EXPECT_THROW(AnalogMatrix(p.w.data(), p.n, p.k, m), Error);
    m = MatrixMapping{};
    m.reference_column = true;  // differential pairs have no zero point to subtract
    EXPECT_THROW(AnalogMatrix(p.w.data(), p.n, p.k, m), Error);
    m = MatrixMapping{};
    m.mapping = Mapping::Offset;
    m.separate_differential = true;
    EXPECT_THROW(AnalogMatrix(p.w.data(), p.n, p.k, m), Error);
}

}  // namespace
}  // namespace xbarsim::analog
