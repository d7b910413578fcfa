// The CPU's in-place analog convolution (ConvColumns): its double sums against a naive sum over the
// unrolled input taken in the same row order (bit for bit: the products of float values are exact
// in double, so the fused multiply-adds round like separate adds), its float column sums, and
// whole analog layers against the im2col + BLAS path in every analog configuration.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "analog_cases.hpp"
#include "graph_builder.hpp"
#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/analog/conv_columns.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/evaluate.hpp"

namespace xbarsim::test {
namespace {

using namespace analog_net;

using analog::ConvColumns;

// im2col of x [batch, channels, H, W] for samples [b0, b0+nb), channels [c0, c0+cg): the
// reference unrolling, one element at a time.
std::vector<float> unroll(const std::vector<float>& x, int64_t channels, int64_t c0, int64_t cg, int64_t b0, int64_t nb,
                          const WindowGeometry& g) {
    const int64_t kk = g.kernel_h * g.kernel_w, ohw = g.out_h * g.out_w, m = nb * ohw;
    std::vector<float> cols(static_cast<size_t>(cg * kk * m));
    for (int64_t j = 0; j < cg * kk; ++j) {
        const int64_t c = c0 + j / kk, kh = (j % kk) / g.kernel_w, kw = j % g.kernel_w;
        for (int64_t b = 0; b < nb; ++b)
            for (int64_t oy = 0; oy < g.out_h; ++oy)
                for (int64_t ox = 0; ox < g.out_w; ++ox) {
                    const int64_t iy = oy * g.stride_h - g.pad_top + kh * g.dilation_h;
                    const int64_t ix = ox * g.stride_w - g.pad_left + kw * g.dilation_w;
                    const bool inside = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
                    cols[static_cast<size_t>(j * m + b * ohw + oy * g.out_w + ox)] =
                        inside ? x[static_cast<size_t>((((b0 + b) * channels + c) * g.in_h + iy) * g.in_w + ix)] : 0.0f;
                }
    }
    return cols;
}

WindowGeometry geometry(int64_t in_h, int64_t in_w, int64_t kh, int64_t kw, int64_t stride_h, int64_t dilation,
                        std::array<int64_t, 4> pads, int64_t stride_w = 1) {
    WindowGeometry g;
    g.in_h = in_h;
    g.in_w = in_w;
    g.kernel_h = kh;
    g.kernel_w = kw;
    g.stride_h = stride_h;
    g.stride_w = stride_w;
    g.dilation_h = g.dilation_w = dilation;
    g.pad_top = pads[0];
    g.pad_left = pads[1];
    g.pad_bottom = pads[2];
    g.pad_right = pads[3];
    g.out_h = (in_h + pads[0] + pads[2] - dilation * (kh - 1) - 1) / stride_h + 1;
    g.out_w = (in_w + pads[1] + pads[3] - dilation * (kw - 1) - 1) / stride_w + 1;
    return g;
}

struct ConvShape {
    const char* name;
    int64_t channels, c0, cg, batch, b0, nb;
    WindowGeometry g;
};

std::vector<ConvShape> shapes() {
    return {
        {"3x3Pad1Width7", 5, 0, 5, 2, 0, 2, geometry(7, 7, 3, 3, 1, 1, {1, 1, 1, 1})},
        {"3x3Width32", 3, 0, 3, 1, 0, 1, geometry(32, 32, 3, 3, 1, 1, {1, 1, 1, 1})},
        {"1x1", 6, 0, 6, 3, 1, 2, geometry(5, 9, 1, 1, 1, 1, {0, 0, 0, 0})},
        {"5x5AsymmetricPadsStride2Rows", 4, 1, 2, 2, 0, 2, geometry(9, 13, 5, 5, 2, 1, {2, 1, 0, 3})},
        {"3x1Dilation2GroupSlice", 6, 3, 3, 3, 2, 1, geometry(10, 11, 3, 1, 1, 2, {2, 0, 2, 0})},
        {"NoPaddingWidth17", 2, 0, 2, 2, 0, 2, geometry(6, 19, 3, 3, 1, 1, {0, 0, 0, 0})},
        {"3x3Stride2", 4, 0, 4, 2, 0, 2, geometry(16, 16, 3, 3, 2, 1, {1, 1, 1, 1}, 2)},
        {"1x1Stride2OddWidth", 3, 0, 3, 1, 0, 1, geometry(9, 21, 1, 1, 2, 1, {0, 0, 0, 0}, 2)},
        {"7x7Stride2Pad3", 3, 0, 3, 1, 0, 1, geometry(23, 37, 7, 7, 2, 1, {3, 3, 3, 3}, 2)},
        {"3x2Stride3Dilation2", 2, 0, 2, 2, 1, 1, geometry(11, 29, 3, 2, 1, 2, {1, 2, 0, 1}, 3)},
    };
}

// Float-valued doubles with many mantissa bits, like DAC outputs times conductances.
std::vector<float> random_floats(size_t count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> v(count);
    for (auto& x : v) x = d(rng);
    return v;
}

// A shape's random input, read in place and unrolled by the reference.
struct ConvCase {
    std::vector<float> x;
    ConvColumns cols;
    std::vector<float> ref;
    ConvCase(const ConvShape& s, uint32_t seed)
        : x(random_floats(static_cast<size_t>(s.batch * s.channels * s.g.in_h * s.g.in_w), seed)),
          cols(x.data(), s.channels, s.c0, s.cg, s.b0, s.nb, s.g),
          ref(unroll(x, s.channels, s.c0, s.cg, s.b0, s.nb, s.g)) {}
};

TEST(ConvColumns, SumsEqualTheUnrolledSumInRowOrderBitForBit) {
    for (const auto& s : shapes()) {
        SCOPED_TRACE(s.name);
        if (!ConvColumns::supported(s.g)) GTEST_SKIP() << "no AVX2/FMA on this CPU: the im2col path is used instead";
        const ConvCase input(s, 3);
        const auto& cols = input.cols;
        const auto& ref = input.ref;
        const int64_t k = cols.rows(), m = cols.cols();
        ASSERT_EQ(k, s.cg * s.g.kernel_h * s.g.kernel_w);
        ASSERT_EQ(m, s.nb * s.g.out_h * s.g.out_w);
        // 1..13 output rows cover every remainder of the kernel's 6-row tiles; a row range that
        // starts inside a channel and stops short of the end covers the row blocks of an array.
        for (int64_t n : {1, 5, 6, 13}) {
            const auto af = random_floats(static_cast<size_t>(n * k), 11 + static_cast<uint32_t>(n));
            const std::vector<double> a(af.begin(), af.end());
            for (auto [r0, nr] : {std::pair<int64_t, int64_t>{0, k}, {std::min<int64_t>(2, k - 1), std::max<int64_t>(k - 3, 1)}}) {
                for (bool squares : {false, true}) {
                    SCOPED_TRACE("n " + std::to_string(n) + " rows " + std::to_string(r0) + "+" + std::to_string(nr) + (squares ? " squares" : ""));
                    std::vector<double> got(static_cast<size_t>(n * m), -7.0);
                    cols.sums(a.data(), k, n, r0, nr, squares, got.data());
                    int64_t wrong = 0;
                    for (int64_t o = 0; o < n; ++o)
                        for (int64_t c = 0; c < m; ++c) {
                            double want = 0.0;
                            for (int64_t j = r0; j < r0 + nr; ++j) {
                                float v = ref[static_cast<size_t>(j * m + c)];
                                if (squares) v = v * v;
                                want += a[static_cast<size_t>(o * k + j)] * static_cast<double>(v);
                            }
                            wrong += got[static_cast<size_t>(o * m + c)] != want;
                        }
                    EXPECT_EQ(wrong, 0);
                }
            }
        }
    }
}

TEST(ConvColumns, ColumnSumsEqualTheUnrolledFloatSums) {
    for (const auto& s : shapes()) {
        SCOPED_TRACE(s.name);
        if (!ConvColumns::supported(s.g)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
        const ConvCase input(s, 5);
        const auto& cols = input.cols;
        const auto& ref = input.ref;
        const int64_t k = cols.rows(), m = cols.cols(), r0 = k / 3, nr = k - k / 3;
        std::vector<float> got(static_cast<size_t>(m), -7.0f);
        cols.column_sums(r0, nr, got.data());
        for (int64_t c = 0; c < m; ++c) {
            float want = 0.0f;
            for (int64_t j = r0; j < r0 + nr; ++j) want += ref[static_cast<size_t>(j * m + c)];
            ASSERT_EQ(got[static_cast<size_t>(c)], want) << "column " << c;
        }
    }
}

// One object refilled layer after layer (as conv2d's workspace does) with the DAC applied in the
// padding pass: bit for bit the columns of the separately DAC'd input, whatever shape it held
// before (larger or smaller, other strides), the squares' cache included; and the sums stored in
// float are the double sums rounded.
TEST(ConvColumns, RefilledWithTheDacEqualsFreshColumnsOfTheDacdInput) {
    analog::InputSpec dac;
    dac.range = 0.6f;  // inputs in [-1, 1): some clip
    dac.bits = 5;
    dac.is_signed = true;
    ConvColumns reused;
    auto all = shapes();
    const auto reversed = std::vector<ConvShape>(all.rbegin(), all.rend());
    all.insert(all.end(), reversed.begin(), reversed.end());
    uint32_t seed = 40;
    for (const auto& s : all) {
        SCOPED_TRACE(s.name);
        if (!ConvColumns::supported(s.g)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
        const auto x = random_floats(static_cast<size_t>(s.batch * s.channels * s.g.in_h * s.g.in_w), ++seed);
        std::vector<float> xq(x.size());
        analog::dac_all(x.data(), static_cast<int64_t>(x.size()), dac, xq.data());
        const ConvColumns fresh(xq.data(), s.channels, s.c0, s.cg, s.b0, s.nb, s.g);
        reused.assign_dac({x.data(), s.channels, s.c0, s.cg, s.b0, s.nb, s.g}, dac.range, dac.bits, dac.is_signed);
        ASSERT_EQ(reused.rows(), fresh.rows());
        ASSERT_EQ(reused.cols(), fresh.cols());
        const int64_t k = fresh.rows(), m = fresh.cols(), n = 7;
        const auto af = random_floats(static_cast<size_t>(n * k), seed + 100);
        const std::vector<double> a(af.begin(), af.end());
        for (bool squares : {false, true}) {
            std::vector<double> want(static_cast<size_t>(n * m)), got(want.size(), -7.0);
            fresh.sums(a.data(), k, n, 0, k, squares, want.data());
            reused.sums(a.data(), k, n, 0, k, squares, got.data());
            EXPECT_EQ(got, want) << (squares ? "squares" : "sums");
            // Rounded to float as they are stored: each the float nearest the double sum.
            std::vector<float> want_f(want.begin(), want.end()), got_f(want.size(), -7.0f);
            reused.sums(a.data(), k, n, 0, k, squares, got_f.data());
            EXPECT_EQ(got_f, want_f) << (squares ? "squares" : "sums") << " in float";
        }
        std::vector<float> want_cs(static_cast<size_t>(m)), got_cs(want_cs.size(), -7.0f);
        fresh.column_sums(0, k, want_cs.data());
        reused.column_sums(0, k, got_cs.data());
        EXPECT_EQ(got_cs, want_cs);
    }
}

// The digital engine's convolution in float: each output the chain of fused multiply-adds over
// its rows in order (std::fma), bit for bit, written with NCHW strides (a channel plane apart,
// samples n_out planes apart).
TEST(FloatConvColumns, SumsAreFusedMultiplyAddsInRowOrderBitForBit) {
    for (const auto& s : shapes()) {
        SCOPED_TRACE(s.name);
        if (!analog::FloatConvColumns::supported(s.g)) GTEST_SKIP() << "no AVX2/FMA on this CPU";
        const auto x = random_floats(static_cast<size_t>(s.batch * s.channels * s.g.in_h * s.g.in_w), 21);
        const analog::FloatConvColumns cols(x.data(), s.channels, s.c0, s.cg, s.b0, s.nb, s.g);
        const auto ref = unroll(x, s.channels, s.c0, s.cg, s.b0, s.nb, s.g);
        const int64_t k = cols.rows(), m = cols.cols(), ohw = s.g.out_h * s.g.out_w;
        ASSERT_EQ(k, s.cg * s.g.kernel_h * s.g.kernel_w);
        for (int64_t n : {1, 6, 13}) {
            SCOPED_TRACE("n " + std::to_string(n));
            const auto a = random_floats(static_cast<size_t>(n * k), 31 + static_cast<uint32_t>(n));
            const int64_t n_out = n + 2;  // the output tensor has more channels than this group
            std::vector<float> got(static_cast<size_t>(s.nb * n_out * ohw), -7.0f);
            cols.sums_strided(a.data(), k, n, 0, k, false, got.data(), ohw, n_out * ohw);
            int64_t wrong = 0, untouched = 0;
            for (int64_t o = 0; o < n_out; ++o)
                for (int64_t c = 0; c < m; ++c) {
                    const float value = got[static_cast<size_t>((c / ohw) * n_out * ohw + o * ohw + c % ohw)];
                    if (o >= n) {
                        untouched += value == -7.0f;
                        continue;
                    }
                    float want = 0.0f;
                    for (int64_t j = 0; j < k; ++j) want = std::fma(a[static_cast<size_t>(o * k + j)], ref[static_cast<size_t>(j * m + c)], want);
                    wrong += value != want;
                }
            EXPECT_EQ(wrong, 0);
            EXPECT_EQ(untouched, 2 * m) << "wrote outside its channels";
        }
    }
}

// The CPU backend's digital convolutions (grouped, strided, with bias and a fused Relu) in place
// against im2col + SGEMM: the same products summed in another order, so equal to float rounding.
TEST(FloatConvColumns, DigitalConvolutionsMatchTheIm2colPath) {
    const Graph g = GraphBuilder({3, 12, 9, 9}).conv(8, 3, 1, "c1", true).relu("r1").conv(8, 3, 2, "c2", true).conv(6, 1, 1, "c3").build();
    std::mt19937 rng(4);
    std::normal_distribution<float> d(0.0f, 1.0f);
    Tensor x({3, 12, 9, 9});
    for (auto& v : x.data) v = d(rng);
    auto run = [&](bool in_place) {
        if (!in_place) ::setenv("XBARSIM_DIRECT_CONV", "0", 1);
        auto cpu = make_backend("cpu");
        cpu->load(g, nullptr);
        Tensor y = cpu->forward(std::vector<Tensor>{x}, {g.outputs.at(0)}).at(0);
        ::unsetenv("XBARSIM_DIRECT_CONV");
        return y;
    };
    const uint64_t before = analog::FloatConvColumns::made();
    const Tensor unrolled = run(false);
    ASSERT_EQ(analog::FloatConvColumns::made(), before) << "switched off, yet used";
    const Tensor direct = run(true);
    if (!analog::FloatConvColumns::supported(geometry(9, 9, 3, 3, 1, 1, {1, 1, 1, 1}))) GTEST_SKIP() << "no AVX2/FMA on this CPU";
    EXPECT_EQ(analog::FloatConvColumns::made() - before, 1 + 2 + 1) << "one fill per convolution and group";
    ASSERT_EQ(direct.shape, unrolled.shape);
    const auto [fraction, worst] = disagreement(direct, unrolled, 1e-5);
    EXPECT_EQ(fraction, 0.0) << "worst " << worst << first_differences(direct, unrolled);
}

TEST(ConvColumns, RefusesNegativePaddingAndCanBeSwitchedOff) {
    auto g = geometry(8, 8, 3, 3, 1, 1, {1, 1, 1, 1});
    const bool cpu_can = ConvColumns::supported(g);
    g.pad_left = -1;
    EXPECT_FALSE(ConvColumns::supported(g));
    g.pad_left = 1;
    ::setenv("XBARSIM_DIRECT_CONV", "0", 1);
    EXPECT_FALSE(ConvColumns::supported(g));
    ::unsetenv("XBARSIM_DIRECT_CONV");
    EXPECT_EQ(ConvColumns::supported(g), cpu_can);
}

// Runs the small network's Conv on the CPU with the in-place convolution, then with it switched
// off (im2col + BLAS): the same draws and the same sums up to the order of the additions.
class ConvColumnsNetwork : public ::testing::TestWithParam<AnalogCase> {};

TEST_P(ConvColumnsNetwork, MatchesTheIm2colPath) {
    const Graph g = small_network();
    const Config config = config_from_yaml(GetParam().yaml);
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    ASSERT_FALSE(plan.needs_calibration());
    const Tensor x = random_input(2, 3);
    const int conv_out = g.nodes[0].output;
    auto run = [&](bool in_place) {
        if (!in_place) ::setenv("XBARSIM_DIRECT_CONV", "0", 1);
        auto cpu = make_backend("cpu");
        cpu->load(g, &plan);
        cpu->program(2);
        std::vector<Tensor> out;
        for (int pass = 0; pass < 2; ++pass) out.push_back(cpu->forward(std::vector<Tensor>{x}, {conv_out}).at(0));
        ::unsetenv("XBARSIM_DIRECT_CONV");
        return out;
    };
    const uint64_t before = ConvColumns::made();
    const auto im2col = run(false);
    ASSERT_EQ(ConvColumns::made(), before) << "switched off, yet used";
    const auto direct = run(true);
    // Per-cell read noise needs the unrolled input; the rest read in place.
    const bool whole = GetParam().yaml.find("per_cell") == std::string::npos;
    if (ConvColumns::supported(geometry(7, 7, 3, 3, 1, 1, {1, 1, 1, 1}))) {
        EXPECT_EQ(ConvColumns::made() > before, whole);
    }
    for (size_t pass = 0; pass < im2col.size(); ++pass) {
        SCOPED_TRACE("pass " + std::to_string(pass));
        // A sum can differ from BLAS's only in its last bit, which changes the float it rounds to
        // (and then an ADC decision) only for a sum within ~1e-16 of a rounding point.
        const auto [fraction, worst] = disagreement(direct[pass], im2col[pass], GetParam().exact ? 2e-6 : 1e-4);
        EXPECT_LE(fraction, GetParam().exact ? 0.0 : 0.01) << "worst " << worst << first_differences(direct[pass], im2col[pass]);
    }
}

// An observer that counts the inputs it is handed.
class CountingObserver final : public MvmObserver {
public:
    explicit CountingObserver(bool watch) : watch_(watch) {}
    void on_mvm_input(size_t, int64_t, const float*, int64_t, int64_t) override { ++calls; }
    bool watching(size_t) const override { return watch_; }
    int calls = 0;

private:
    bool watch_;
};

// A watching observer gets the unrolled input (so the layer unrolls it); one that has seen enough
// is not called, and the layer reads its input in place again, with the same outputs.
TEST(ConvColumnsObserver, ThoseThatStopWatchingGiveBackTheInPlacePath) {
    if (!ConvColumns::supported(geometry(7, 7, 3, 3, 1, 1, {1, 1, 1, 1}))) GTEST_SKIP() << "no AVX2/FMA on this CPU";
    const Graph g = small_network();
    const Config config = config_from_yaml(analog_cases().front().yaml);
    AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
    const Tensor x = random_input(2, 3);
    auto cpu = make_backend("cpu");
    cpu->load(g, &plan);
    cpu->program(0);
    const uint64_t before = ConvColumns::made();
    const Tensor plain = cpu->forward(x).at(0);
    EXPECT_GT(ConvColumns::made(), before);
    for (bool watch : {true, false}) {
        SCOPED_TRACE(watch ? "watching" : "not watching");
        CountingObserver obs(watch);
        cpu->observe(&obs);
        const uint64_t start = ConvColumns::made();
        const Tensor seen = cpu->forward(x).at(0);
        cpu->observe(nullptr);
        EXPECT_EQ(obs.calls > 0, watch);
        EXPECT_EQ(ConvColumns::made() > start, !watch);
        // The same read-noise-free outputs either way (up to BLAS's order of additions).
        EXPECT_LE(disagreement(seen, plain, 1e-4).first, 0.01);
    }
}

// Calibration sees the ideal arrays' outputs of each convolution's input in place: the same
// ranges as from the unrolled columns, for inputs applied at once and for bit-serial ones.
TEST(ConvColumnsObserver, CalibrationInPlaceGivesTheUnrolledRanges) {
    if (!ConvColumns::supported(geometry(8, 8, 3, 3, 1, 1, {1, 1, 1, 1}))) GTEST_SKIP() << "no AVX2/FMA on this CPU";
    const Graph g = load_onnx(repo("models/resnet20v1_cifar10.onnx"));
    for (const char* name : {"configs/pcm.yaml", "configs/prime.yaml"}) {
        SCOPED_TRACE(name);
        const Config config = load_config(repo(name));
        auto calibrated = [&](bool in_place) {
            if (!in_place) ::setenv("XBARSIM_DIRECT_CONV", "0", 1);
            AnalogPlan plan = make_analog_plan(g, config.analog, config.run.seed);
            auto calib = open_dataset(repo("data/cifar10-calib"));
            CalibrationOptions co;
            co.images = 32;
            co.batch = 16;
            co.progress = false;
            calibrate(g, plan, *calib, resolve_preprocess(g, calib->info()), co);
            ::unsetenv("XBARSIM_DIRECT_CONV");
            return plan;
        };
        const uint64_t before = ConvColumns::made();
        const AnalogPlan unrolled = calibrated(false);
        ASSERT_EQ(ConvColumns::made(), before);
        const AnalogPlan in_place = calibrated(true);
        EXPECT_GT(ConvColumns::made(), before);
        ASSERT_EQ(in_place.layers.size(), unrolled.layers.size());
        for (size_t l = 0; l < unrolled.layers.size(); ++l) {
            SCOPED_TRACE(unrolled.layers[l].name);
            // Input ranges come from the digital pass, the same either way. An ADC range could
            // move only if a sum's last bit (BLAS adds in its own order) crossed a histogram bin
            // edge; on the development machine they are identical.
            EXPECT_EQ(in_place.layers[l].input_range, unrolled.layers[l].input_range);
            ASSERT_EQ(in_place.layers[l].adc_range.size(), unrolled.layers[l].adc_range.size());
            for (size_t r = 0; r < unrolled.layers[l].adc_range.size(); ++r)
                EXPECT_NEAR(in_place.layers[l].adc_range[r], unrolled.layers[l].adc_range[r], 1e-4 * unrolled.layers[l].adc_range[r]);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(EveryConfiguration, ConvColumnsNetwork, ::testing::ValuesIn(analog_cases()),
                         [](const ::testing::TestParamInfo<AnalogCase>& p) { return p.param.name; });

}  // namespace
}  // namespace xbarsim::test
