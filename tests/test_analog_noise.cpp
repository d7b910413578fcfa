// Device noise in analog matrices: read-noise variance against the analytic sum over cells,
// programming-error spread against the model's sigma, drift and its compensation, and
// reproducibility (same ids, any batch split, give the same draws).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/device_config.hpp"

namespace xbarsim::analog {
namespace {

struct NoiseProblem {
    int64_t n = 8, k = 64;
    std::vector<float> w;
    MatrixMapping map;
    NoiseProblem() {
        std::mt19937 rng(11);
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        w.resize(static_cast<size_t>(n * k));
        for (auto& v : w) v = d(rng);
        w[0] = 1.0f;  // W_max = 1: conductances equal |w|
        map.weight_bits = 0;
        map.array_rows = 32;  // two row blocks
    }
};

DeviceParams generic(float prog_alpha, float read_alpha) {
    DeviceParams p = default_device(DeviceKind::Generic);
    p.programming.enabled = prog_alpha > 0;
    p.programming.law = SigmaLaw::Generic;
    p.programming.dependence = NoiseDependence::Independent;
    p.programming.alpha = prog_alpha;
    p.programming.clip = ClipMode::None;
    p.read_noise.enabled = read_alpha > 0;
    p.read_noise.law = SigmaLaw::Generic;
    p.read_noise.dependence = NoiseDependence::Independent;
    p.read_noise.alpha = read_alpha;
    return p;
}

struct NoiseCase {
    const char* name;
    bool per_cell;
    Mapping mapping;
    bool separate = false, reference = false;
    // Output variance in units of alpha^2 sum_j x_j^2 (W_max = 1, range 1, g_min = 0): 2 for a
    // differential pair (both cells read, subtracted in analog or after two conversions); offset
    // cells weigh 2 / Δg, so 4 per cell; with a reference column its cells add as much again.
    double cells_factor;
};

std::ostream& operator<<(std::ostream& os, const NoiseCase& c) { return os << c.name; }

class ReadNoiseMode : public ::testing::TestWithParam<NoiseCase> {};

// Lumped (one Gaussian per output) and per-cell (one draw per cell) read noise both give the
// output variance sum_j sigma^2(g_j) x_j^2, for every readout of the cells.
TEST_P(ReadNoiseMode, OutputVarianceIsTheCellSum) {
    const NoiseCase& nc = GetParam();
    NoiseProblem s;
    s.map.per_cell_read_noise = nc.per_cell;
    s.map.mapping = nc.mapping;
    s.map.separate_differential = nc.separate;
    s.map.reference_column = nc.reference;
    AnalogMatrix a(s.w.data(), s.n, s.k, s.map);
    const float alpha = 0.05f;
    a.program(generic(0.0f, alpha), {3, 0, 0, 0});
    // One input vector repeated in m columns: every column is a distinct sample with fresh draws.
    const int64_t m = nc.per_cell ? 8000 : 20000;
    std::vector<float> x(static_cast<size_t>(s.k * m));
    std::vector<float> one(static_cast<size_t>(s.k));
    for (int64_t j = 0; j < s.k; ++j) one[static_cast<size_t>(j)] = std::sin(static_cast<float>(j)) * 0.9f;
    for (int64_t j = 0; j < s.k; ++j)
        for (int64_t c = 0; c < m; ++c) x[static_cast<size_t>(j * m + c)] = one[static_cast<size_t>(j)];
    InputSpec in;
    in.bits = 0;
    std::vector<float> y(static_cast<size_t>(s.n * m)), clean(y.size());
    a.mvm_quantized(x.data(), m, in, AdcSpec{}, y.data());
    AnalogMatrix ideal(s.w.data(), s.n, s.k, s.map);
    ideal.mvm_quantized(x.data(), m, in, AdcSpec{}, clean.data());
    double expected = 0;
    for (float v : one) expected += nc.cells_factor * alpha * alpha * v * v;
    for (int64_t o = 0; o < s.n; ++o) {
        double mean = 0, var = 0;
        for (int64_t c = 0; c < m; ++c) mean += y[static_cast<size_t>(o * m + c)] - clean[static_cast<size_t>(o * m + c)];
        mean /= static_cast<double>(m);
        for (int64_t c = 0; c < m; ++c) {
            const double d = y[static_cast<size_t>(o * m + c)] - clean[static_cast<size_t>(o * m + c)] - mean;
            var += d * d;
        }
        var /= static_cast<double>(m - 1);
        // Standard error of a variance estimate: sqrt(2/(m-1)) = 1-1.6 %; allow 6 %.
        EXPECT_NEAR(var / expected, 1.0, 0.06) << "output " << o;
        EXPECT_NEAR(mean, 0.0, 5.0 * std::sqrt(expected / static_cast<double>(m))) << "output " << o;
    }
}

INSTANTIATE_TEST_SUITE_P(
    LumpedAndPerCell, ReadNoiseMode,
    ::testing::Values(NoiseCase{"lumped", false, Mapping::Differential, false, false, 2.0},
                      NoiseCase{"per_cell", true, Mapping::Differential, false, false, 2.0},
                      NoiseCase{"lumped_separate_pairs", false, Mapping::Differential, true, false, 2.0},
                      NoiseCase{"per_cell_separate_pairs", true, Mapping::Differential, true, false, 2.0},
                      NoiseCase{"lumped_offset", false, Mapping::Offset, false, false, 4.0},
                      NoiseCase{"lumped_offset_reference_column", false, Mapping::Offset, false, true, 8.0},
                      NoiseCase{"per_cell_offset_reference_column", true, Mapping::Offset, false, true, 8.0}),
    [](const ::testing::TestParamInfo<NoiseCase>& p) { return std::string(p.param.name); });

TEST(AnalogNoise, ProgrammingErrorSpreadMatchesSigma) {
    NoiseProblem s;
    s.n = 64;
    s.k = 256;
    s.w.assign(static_cast<size_t>(s.n * s.k), 0.5f);
    AnalogMatrix a(s.w.data(), s.n, s.k, s.map);
    const float alpha = 0.03f;
    a.program(generic(alpha, 0.0f), {9, 0, 0, 0});
    const auto& g = a.conductance(0);  // g+ - g- with both cells programmed independently
    double mean = 0, var = 0;
    for (double v : g) mean += v;
    mean /= static_cast<double>(g.size());
    for (double v : g) var += (v - mean) * (v - mean);
    var /= static_cast<double>(g.size() - 1);
    // Every weight equals W_max: g+ targets 1, g- targets g_min = 0 (no clipping here).
    EXPECT_NEAR(mean, 1.0, 5 * alpha * std::sqrt(2.0 / static_cast<double>(g.size())));
    EXPECT_NEAR(std::sqrt(var), alpha * std::sqrt(2.0), alpha * std::sqrt(2.0) * 0.03);
}

TEST(AnalogNoise, SameIdsSameDrawsWhateverTheBatchSplit) {
    NoiseProblem s;
    AnalogMatrix a(s.w.data(), s.n, s.k, s.map);
    a.program(generic(0.02f, 0.05f), {5, 2, 7, 0});
    const int64_t m = 10;
    std::vector<float> x(static_cast<size_t>(s.k * m));
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i));
    InputSpec in;
    in.bits = 0;
    std::vector<float> all(static_cast<size_t>(s.n * m));
    a.mvm_quantized(x.data(), m, in, AdcSpec{}, all.data(), nullptr, 100);
    // Columns 100..104 and 105..109 computed separately (as two batches would be).
    for (int64_t half = 0; half < 2; ++half) {
        std::vector<float> xs(static_cast<size_t>(s.k * 5)), ys(static_cast<size_t>(s.n * 5));
        for (int64_t j = 0; j < s.k; ++j)
            for (int64_t c = 0; c < 5; ++c) xs[static_cast<size_t>(j * 5 + c)] = x[static_cast<size_t>(j * m + half * 5 + c)];
        a.mvm_quantized(xs.data(), 5, in, AdcSpec{}, ys.data(), nullptr, 100 + static_cast<uint64_t>(half) * 5);
        // The same draws; only the GEMM's float summation order may differ with the batch width.
        for (int64_t o = 0; o < s.n; ++o)
            for (int64_t c = 0; c < 5; ++c)
                EXPECT_NEAR(ys[static_cast<size_t>(o * 5 + c)], all[static_cast<size_t>(o * m + half * 5 + c)], 1e-5);
    }
    // Programming the same instance again reproduces it; another trial differs.
    AnalogMatrix b(s.w.data(), s.n, s.k, s.map);
    b.program(generic(0.02f, 0.05f), {5, 2, 7, 0});
    EXPECT_EQ(a.conductance(0), b.conductance(0));
    b.program(generic(0.02f, 0.05f), {5, 3, 7, 0});
    EXPECT_NE(a.conductance(0), b.conductance(0));
}

TEST(AnalogNoise, PcmDriftShrinksOutputsAndCompensationRestoresThem) {
    NoiseProblem s;
    s.n = 32;
    s.k = 256;
    std::mt19937 rng(2);
    std::uniform_real_distribution<float> d(0.2f, 1.0f);
    s.w.resize(static_cast<size_t>(s.n * s.k));
    for (auto& v : s.w) v = d(rng);  // positive weights: outputs far from zero
    s.map.array_rows = 256;
    DeviceParams pcm = default_device(DeviceKind::PCM);
    pcm.programming.enabled = false;
    pcm.drift.accumulated_read_noise = false;
    pcm.drift.time_s = 86400.0f;
    const int64_t m = 4;
    std::vector<float> x(static_cast<size_t>(s.k * m), 0.5f), y0(static_cast<size_t>(s.n * m)), y1(y0.size()), y2(y0.size());
    InputSpec in;
    in.bits = 0;
    AnalogMatrix a(s.w.data(), s.n, s.k, s.map);
    a.mvm_quantized(x.data(), m, in, AdcSpec{}, y0.data());
    pcm.drift.compensation = false;
    a.program(pcm, {1, 0, 0, 0});
    a.mvm_quantized(x.data(), m, in, AdcSpec{}, y1.data());
    pcm.drift.compensation = true;
    a.program(pcm, {1, 0, 0, 0});
    a.mvm_quantized(x.data(), m, in, AdcSpec{}, y2.data());
    double r1 = 0, r2 = 0;
    for (size_t i = 0; i < y0.size(); ++i) {
        r1 += y1[i] / y0[i];
        r2 += y2[i] / y0[i];
    }
    r1 /= static_cast<double>(y0.size());
    r2 /= static_cast<double>(y0.size());
    // After one day, nu ~ 0.05-0.06 at these conductances: ((86400 + 20)/20)^-nu ~ 0.6-0.7.
    EXPECT_LT(r1, 0.75);
    EXPECT_GT(r1, 0.55);
    EXPECT_NEAR(r2, 1.0, 0.02);  // one scale per array undoes the mean drift
}

}  // namespace
}  // namespace xbarsim::analog

namespace xbarsim::analog {
namespace {

TEST(AnalogNoise, StochasticAdcRoundingIsUnbiased) {
    const int64_t n = 4, k = 16, m = 20000;
    std::vector<float> w(static_cast<size_t>(n * k));
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i) * 0.7f);
    MatrixMapping map;
    map.weight_bits = 0;
    AnalogMatrix a(w.data(), n, k, map);
    a.program(DeviceParams{}, {4, 0, 0, 0});
    std::vector<float> x(static_cast<size_t>(k * m));
    for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < m; ++c) x[static_cast<size_t>(j * m + c)] = 0.3f + 0.03f * static_cast<float>(j);
    InputSpec in;
    in.bits = 0;
    AdcSpec coarse;
    coarse.bits = 4;  // step hi/7: far coarser than the outputs' fractional parts
    coarse.hi = {8.0f};
    std::vector<float> clean(static_cast<size_t>(n * m)), det(clean.size()), sto(clean.size());
    a.mvm_quantized(x.data(), m, in, AdcSpec{}, clean.data());
    a.mvm_quantized(x.data(), m, in, coarse, det.data());
    coarse.stochastic = true;
    a.mvm_quantized(x.data(), m, in, coarse, sto.data());
    const double step = 8.0 / 7.0 * a.w_max();
    for (int64_t o = 0; o < n; ++o) {
        double mean = 0;
        for (int64_t c = 0; c < m; ++c) mean += sto[static_cast<size_t>(o * m + c)];
        mean /= static_cast<double>(m);
        const double want = clean[static_cast<size_t>(o * m)];
        EXPECT_NEAR(mean, want, 5 * step / std::sqrt(static_cast<double>(m)) + 1e-6) << o;  // unbiased
        EXPECT_LE(std::fabs(det[static_cast<size_t>(o * m)] - want), step / 2 + 1e-5);     // deterministic: nearest level
    }
}

}  // namespace
}  // namespace xbarsim::analog
