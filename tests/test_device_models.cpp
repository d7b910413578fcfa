// Device models (ARCHITECTURE §2 "Device models") against independent expectations: the numbers
// published with each model (PCM σ_prog and drift factors from the issue, computed from the
// papers' fits), closed forms re-evaluated here in double precision, and sample statistics of the
// noisy functions with stated tolerances. Plus the YAML schema: defaults, round trip, and a clear
// error naming file, line and full key for every kind of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "xbarsim/analog/device_model.hpp"
#include "xbarsim/device_config.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::test {
namespace {

using namespace analog;

DeviceParams parse_text(const std::string& text, const std::string& section = "device") {
    const YAML::Node root = YAML::Load(text);
    return parse_device(root["device"], "dev.yaml", section);
}

// ------------------------------------------------------------------ own log/exp
// The device math uses its own log_f/exp_f (bit-identical on host and device). Their error against
// the double-precision libm value, in units of the float result's last place, over a strided sweep
// of all float inputs in range: log_f <= 1 ulp, exp_f <= 1.5 ulp (measured 0.87 and 1.14).
double ulps(double got, double want) {
    const float w = static_cast<float>(std::fabs(want));
    return std::fabs(got - want) / (static_cast<double>(std::nextafter(w, INFINITY)) - w);
}

TEST(DeviceMath, LogAndExpAccuracy) {
    double worst_log = 0, worst_exp = 0;
    for (uint32_t b = 0x00800000u; b < 0x7f800000u; b += 1021) {  // every positive normal float, strided
        float x;
        std::memcpy(&x, &b, sizeof x);
        worst_log = std::max(worst_log, ulps(log_f(x), std::log(static_cast<double>(x))));
    }
    for (uint32_t b = 0; b < 0xfffff000u; b += 1031) {
        float x;
        std::memcpy(&x, &b, sizeof x);
        if (!(x > -87.33f && x < 88.72f)) continue;
        worst_exp = std::max(worst_exp, ulps(exp_f(x), std::exp(static_cast<double>(x))));
    }
    EXPECT_LE(worst_log, 1.0);
    EXPECT_LE(worst_exp, 1.5);
    EXPECT_EQ(log_f(1.0f), 0.0f);
    EXPECT_EQ(exp_f(0.0f), 1.0f);
    EXPECT_FLOAT_EQ(log_f(0.0f), log_f(1.17549435e-38f));  // clamped to the smallest normal
    EXPECT_EQ(exp_f(-100.0f), 0.0f);
    EXPECT_TRUE(std::isinf(exp_f(100.0f)));
    EXPECT_TRUE(std::isnan(exp_f(NAN)));
}

// ------------------------------------------------------------------ PCM
TEST(DeviceModels, PcmProgrammingSigmaMatchesPublishedValues) {
    // Nandakumar 2019 polynomial at G_max = 25 µS; values quoted in the issue, tolerance 1e-3 µS.
    const DeviceParams p = default_device(DeviceKind::PCM);
    ASSERT_FLOAT_EQ(p.g_max_uS, 25.0f);
    const float rel[] = {1.0f, 0.5f, 0.25f, 0.1f};
    const double want_uS[] = {1.055, 0.953, 0.681, 0.448};
    for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(programming_sigma(p, rel[i]) * p.g_max_uS, want_uS[i], 1e-3) << "g_T/g_max = " << rel[i];
        EXPECT_NEAR(pcm_programming_sigma_uS(rel[i], 25.0f), want_uS[i], 1e-3);
    }
}

TEST(DeviceModels, PcmProgrammingSigmaScalesWithGmax) {
    // σ in µS scales with G_max/25 µS, so σ in normalized units does not depend on G_max.
    DeviceParams p50 = default_device(DeviceKind::PCM);
    p50.g_max_uS = 50.0f;
    const DeviceParams p25 = default_device(DeviceKind::PCM);
    for (float g : {0.0f, 0.1f, 0.5f, 1.0f}) {
        const double poly = 0.26348 + 1.9650 * g - 1.1731 * g * g;
        EXPECT_NEAR(pcm_programming_sigma_uS(g, 50.0f), 2.0 * poly, 1e-5);
        EXPECT_NEAR(pcm_programming_sigma_uS(g, 10.0f), 0.4 * poly, 1e-5);
        EXPECT_NEAR(programming_sigma(p50, g), poly / 25.0, 1e-7);
        EXPECT_FLOAT_EQ(programming_sigma(p50, g), programming_sigma(p25, g));
    }
}

TEST(DeviceModels, PcmMeanDriftFactorMatchesPublishedValues) {
    // (t/t0)^(-ν), t = t_inference + t0, t0 = 20 s, ν = 0.049: 1 h, 1 day, 1 year (365 d).
    const float t[] = {3600.0f, 86400.0f, 365.0f * 86400.0f};
    const double want[] = {0.775, 0.664, 0.497};
    for (int i = 0; i < 3; ++i) {
        EXPECT_NEAR(drift_factor(0.049f, t[i]), want[i], 1e-3) << "t = " << t[i] << " s";
        const double closed = std::pow((static_cast<double>(t[i]) + 20.0) / 20.0, -0.049);
        EXPECT_NEAR(drift_factor(0.049f, t[i]), closed, 1e-6);
        EXPECT_NEAR(drifted_conductance(0.8f, 0.049f, t[i]), 0.8 * closed, 1e-6);
    }
    // A different t0 enters the same way.
    EXPECT_NEAR(drift_factor(0.1f, 100.0f, 1.0f), std::pow(101.0, -0.1), 1e-6);
}

TEST(DeviceModels, DriftFactorIsOneAtTimeZero) {
    for (float nu : {0.0f, 0.049f, 0.1f, 0.5f}) {
        EXPECT_EQ(drift_factor(nu, 0.0f), 1.0f);
        EXPECT_EQ(drifted_conductance(0.37f, nu, 0.0f), 0.37f);
    }
    DeviceParams p = default_device(DeviceKind::PCM);
    p.drift.accumulated_read_noise = false;
    EXPECT_EQ(conductance_at_time(p, 0.6f, 0.08f, 0.0f, 1.5f), 0.6f);
}

TEST(DeviceModels, PcmDriftExponentStatisticsClipAtBothEnds) {
    // μ_ν = clip(-0.0155 ln g + 0.0244, 0.049, 0.1), σ_ν = clip(-0.0125 ln g - 0.0059, 0.008, 0.045).
    EXPECT_FLOAT_EQ(pcm_nu_mean(1.0f), 0.049f);  // lower clip (g > 0.2045)
    EXPECT_FLOAT_EQ(pcm_nu_mean(0.5f), 0.049f);
    EXPECT_FLOAT_EQ(pcm_nu_mean(1e-3f), 0.1f);  // upper clip (g < 0.00762)
    EXPECT_FLOAT_EQ(pcm_nu_mean(0.0f), 0.1f);   // g floored at 1e-7 before ln
    EXPECT_FLOAT_EQ(pcm_nu_std(1.0f), 0.008f);  // lower clip (g > 0.329)
    EXPECT_FLOAT_EQ(pcm_nu_std(1e-3f), 0.045f);  // upper clip (g < 0.0171)
    EXPECT_FLOAT_EQ(pcm_nu_std(0.0f), 0.045f);
    for (double g : {0.05, 0.1, 0.02}) {  // inside both ranges
        EXPECT_NEAR(pcm_nu_mean(static_cast<float>(g)), -0.0155 * std::log(g) + 0.0244, 1e-6) << g;
        EXPECT_NEAR(pcm_nu_std(static_cast<float>(g)), -0.0125 * std::log(g) - 0.0059, 1e-6) << g;
    }
    const DeviceParams p = default_device(DeviceKind::PCM);
    EXPECT_NEAR(drift_nu(p, 0.05f, 0.0f), -0.0155 * std::log(0.05) + 0.0244, 1e-6);
    EXPECT_NEAR(drift_nu(p, 1.0f, -10.0f), std::fabs(0.049 - 0.08), 1e-6);  // |μ + σ z| folds the sign
    for (float g : {0.0f, 0.01f, 0.3f, 1.0f})
        for (float z = -20.0f; z <= 20.0f; z += 0.25f) EXPECT_GE(drift_nu(p, g, z), 0.0f);
    DeviceParams scaled = p;
    scaled.drift.nu_scale = 2.0f;
    EXPECT_FLOAT_EQ(drift_nu(scaled, 0.3f, 0.7f), 2.0f * drift_nu(p, 0.3f, 0.7f));
    DeviceParams off = p;
    off.drift.enabled = false;
    EXPECT_EQ(drift_nu(off, 0.3f, 0.7f), 0.0f);
}

double closed_qs(double g_rel) { return std::min(0.0088 / std::max(std::pow(g_rel, 0.65), 1e-3), 0.2); }

TEST(DeviceModels, PcmAccumulatedReadNoiseMatchesClosedForm) {
    // σ = g(t)·Q_s·sqrt(ln((t + t_read)/(2 t_read))), t = t_inference + 20 s, t_read = 250 ns,
    // re-evaluated in double; relative tolerance 1e-4 (float evaluation).
    struct Case {
        double g_t, g_rel, t_inf;
    };
    for (const Case c : {Case{0.8, 1.0, 0.0}, Case{0.5, 0.5, 3600.0}, Case{0.09, 0.1, 86400.0},
                         Case{0.015, 0.02, 3.1536e7}, Case{0.001, 0.001, 1.0}}) {
        const double t = c.t_inf + 20.0;
        const double want = c.g_t * closed_qs(c.g_rel) * std::sqrt(std::log((t + 250e-9) / (2.0 * 250e-9)));
        const float got = pcm_read_noise_sigma(static_cast<float>(c.g_t), static_cast<float>(c.g_rel),
                                               static_cast<float>(c.t_inf));
        EXPECT_NEAR(got, want, 1e-4 * want) << "g_t " << c.g_t << " g_rel " << c.g_rel << " t " << c.t_inf;
    }
    // Q_s: 0.0088 at g_rel = 1, capped at 0.2 below g_rel = 0.044^(1/0.65) = 0.00817.
    EXPECT_NEAR(pcm_q_s(1.0f), 0.0088, 1e-7);
    EXPECT_NEAR(pcm_q_s(0.01f), closed_qs(0.01), 1e-6);
    EXPECT_LT(pcm_q_s(0.01f), 0.2f);
    EXPECT_FLOAT_EQ(pcm_q_s(1e-3f), 0.2f);
    EXPECT_FLOAT_EQ(pcm_q_s(0.0f), 0.2f);
    // In the cell read: g(t) = g_P·drift + σ·z with Q_s from g_P, clamped at 0.
    const DeviceParams p = default_device(DeviceKind::PCM);
    const float g_p = 0.6f, nu = 0.06f, t = 86400.0f;
    const double g_d = 0.6 * std::pow((86400.0 + 20.0) / 20.0, -0.06);
    const double s = g_d * closed_qs(0.6) * std::sqrt(std::log((86420.0 + 250e-9) / 500e-9));
    EXPECT_NEAR(conductance_at_time(p, g_p, nu, t, 0.0f), g_d, 1e-6);
    EXPECT_NEAR(conductance_at_time(p, g_p, nu, t, 1.5f), g_d + 1.5 * s, 1e-5);
    EXPECT_EQ(conductance_at_time(p, g_p, nu, t, -1000.0f), 0.0f);
}

TEST(DeviceModels, DriftCompensationScale) {
    DeviceParams p = default_device(DeviceKind::PCM);
    EXPECT_FLOAT_EQ(drift_compensation_scale(p, 10.0f, 8.0f), 1.25f);
    EXPECT_FLOAT_EQ(drift_compensation_scale(p, 10.0f, 0.0f), 1.0f);
    p.drift.compensation = false;
    EXPECT_FLOAT_EQ(drift_compensation_scale(p, 10.0f, 8.0f), 1.0f);
}

// ------------------------------------------------------------------ RRAM
double wan(double G) { return 1.536e-4 * G * G * G - 1.167e-2 * G * G + 0.2374 * G + 1.053; }

TEST(DeviceModels, RramWan2022SigmaMatchesCubic) {
    for (double G : {0.0, 1.0, 5.0, 14.09, 25.0, 36.56, 39.26})
        EXPECT_NEAR(rram_wan2022_sigma_uS(static_cast<float>(G)), wan(G), 1e-5) << "G = " << G;
    // Above the fit's range σ is held at σ(39.26 µS).
    EXPECT_NEAR(rram_wan2022_sigma_uS(60.0f), wan(39.26), 1e-5);
    // Normalized: σ_G(g·G_max)/G_max, default G_max = 39.26 µS.
    const DeviceParams p = default_device(DeviceKind::RRAMWan2022);
    EXPECT_FLOAT_EQ(p.g_max_uS, 39.26f);
    for (double g : {0.1, 0.5, 1.0})
        EXPECT_NEAR(programming_sigma(p, static_cast<float>(g)), wan(g * 39.26) / 39.26, 1e-6) << g;
}

TEST(DeviceModels, RramMilo2021SigmaLinearWithFloor) {
    for (double G : {50.0, 100.0, 137.5, 225.0})
        EXPECT_NEAR(rram_milo2021_sigma_uS(static_cast<float>(G)), -0.009107 * G + 4.782321, 1e-5) << G;
    EXPECT_EQ(rram_milo2021_sigma_uS(526.0f), 0.0f);  // the line crosses 0 at 525.1 µS
    EXPECT_EQ(rram_milo2021_sigma_uS(1000.0f), 0.0f);
    const DeviceParams p = default_device(DeviceKind::RRAMMilo2021);
    EXPECT_FLOAT_EQ(p.g_max_uS, 225.0f);
    EXPECT_NEAR(p.g_min * 225.0f, 50.0f, 1e-4);
    for (double g : {50.0 / 225.0, 0.5, 1.0})
        EXPECT_NEAR(programming_sigma(p, static_cast<float>(g)), (-0.009107 * g * 225.0 + 4.782321) / 225.0, 1e-7);
}

// ------------------------------------------------------------------ SONOS
TEST(DeviceModels, SonosSigmaMatchesSaturatingExponential) {
    struct Set {
        double a, b;
    };
    for (const Set s : {Set{19.88665, 176.3115}, Set{12.58037, 215.36557}})
        for (double I : {0.0, 50.0, 176.3115, 1000.0, 3200.0})
            EXPECT_NEAR(sonos_sigma_nA(static_cast<float>(I), static_cast<float>(s.a), static_cast<float>(s.b)),
                        s.a - s.a * std::exp(-I / s.b), 1e-4)
                << "A " << s.a << " I " << I;
    EXPECT_NEAR(sonos_sigma_nA(176.3115f, 19.88665f, 176.3115f), 19.88665 * (1.0 - std::exp(-1.0)), 1e-4);
    EXPECT_EQ(sonos_sigma_nA(-10.0f, 19.88665f, 176.3115f), 0.0f);  // floored at 0
    // Defaults: G_max = 16 µS, V_read = 0.2 V → I_max = 3200 nA at g = 1; σ_g = σ_I(I)/I_max.
    const DeviceParams p = default_device(DeviceKind::SONOS);
    EXPECT_NEAR(cell_current_nA(p.v_read_V, p.g_max_uS), 3200.0, 1e-3);
    for (double g : {0.0, 0.05, 0.5, 1.0}) {
        const double I = 3200.0 * g;
        EXPECT_NEAR(programming_sigma(p, static_cast<float>(g)), 19.88665 * (1 - std::exp(-I / 176.3115)) / 3200.0, 1e-7);
        EXPECT_NEAR(read_noise_sigma(p, static_cast<float>(g)), 12.58037 * (1 - std::exp(-I / 215.36557)) / 3200.0, 1e-7);
    }
    // Another V_read/G_max with the same I_max gives the same normalized σ.
    DeviceParams q = p;
    q.g_max_uS = 32.0f;
    q.v_read_V = 0.1f;
    EXPECT_NEAR(programming_sigma(q, 0.3f), programming_sigma(p, 0.3f), 1e-7);
}

// ------------------------------------------------------------------ generic
struct Moments {
    double mean, sd, max_abs_dev;
};

Moments sample(const DeviceParams& p, float g, int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    double s = 0, s2 = 0, mx = 0;
    for (int i = 0; i < n; ++i) {
        const double v = apply_programming(p, g, normal(rng), uniform(rng));
        s += v;
        s2 += v * v;
        mx = std::max(mx, std::fabs(v - g));
    }
    const double mean = s / n;
    return {mean, std::sqrt(std::max(s2 / n - mean * mean, 0.0)), mx};
}

TEST(DeviceModels, GenericProgrammingEmpiricalSigma) {
    // 200 000 draws per case. The sample sd of n normals has relative standard error 1/sqrt(2n)
    // = 0.16 % (less for uniform); tolerance 1.5 % (> 9 standard errors). Mean within 5 σ/sqrt(n).
    const int n = 200000;
    const float alpha = 0.05f;
    uint32_t seed = 1;
    for (auto dist : {NoiseDistribution::Normal, NoiseDistribution::Uniform})
        for (auto dep : {NoiseDependence::Independent, NoiseDependence::Proportional,
                         NoiseDependence::InverseProportional})
            for (float g : {0.2f, 0.7f}) {
                DeviceParams p = default_device(DeviceKind::Generic);
                p.programming.enabled = true;
                p.programming.distribution = dist;
                p.programming.dependence = dep;
                p.programming.alpha = alpha;
                p.programming.clip = ClipMode::None;
                const double want = dep == NoiseDependence::Independent    ? alpha
                                    : dep == NoiseDependence::Proportional ? alpha * g
                                                                           : alpha / g;
                EXPECT_NEAR(programming_sigma(p, g), want, 1e-7);
                const Moments m = sample(p, g, n, seed++);
                SCOPED_TRACE(::testing::Message() << "dist " << int(dist) << " dep " << int(dep) << " g " << g);
                EXPECT_NEAR(m.sd / want, 1.0, 0.015);
                EXPECT_NEAR(m.mean, g, 5.0 * want / std::sqrt(n));
                if (dist == NoiseDistribution::Uniform) {
                    EXPECT_LE(m.max_abs_dev, std::sqrt(3.0) * want * (1 + 1e-5));  // support (−√3σ, √3σ)
                    EXPECT_GT(m.max_abs_dev, 0.99 * std::sqrt(3.0) * want);
                }
            }
}

TEST(DeviceModels, GenericInverseProportionalIsZeroAtZeroConductance) {
    DeviceParams p = default_device(DeviceKind::Generic);
    p.programming.enabled = true;
    p.programming.dependence = NoiseDependence::InverseProportional;
    p.programming.alpha = 0.01f;
    EXPECT_EQ(programming_sigma(p, 0.0f), 0.0f);
    EXPECT_EQ(apply_programming(p, 0.0f, 3.0f, 0.9f), 0.0f);
    EXPECT_FLOAT_EQ(programming_sigma(p, 0.5f), 0.02f);
}

TEST(DeviceModels, ClippingModes) {
    DeviceParams p = default_device(DeviceKind::Generic);
    p.programming.enabled = true;
    p.programming.alpha = 0.5f;
    p.g_min = 0.1f;
    p.on_off_ratio = 10.0f;
    p.programming.clip = ClipMode::None;
    EXPECT_FLOAT_EQ(apply_programming(p, 0.5f, 10.0f, 0.5f), 5.5f);
    EXPECT_FLOAT_EQ(apply_programming(p, 0.5f, -10.0f, 0.5f), -4.5f);
    p.programming.clip = ClipMode::Zero;
    EXPECT_FLOAT_EQ(apply_programming(p, 0.5f, 10.0f, 0.5f), 5.5f);
    EXPECT_EQ(apply_programming(p, 0.5f, -10.0f, 0.5f), 0.0f);
    p.programming.clip = ClipMode::Range;
    EXPECT_EQ(apply_programming(p, 0.5f, 10.0f, 0.5f), 1.0f);
    EXPECT_EQ(apply_programming(p, 0.5f, -10.0f, 0.5f), 0.1f);
    EXPECT_FLOAT_EQ(apply_programming(p, 0.5f, 0.5f, 0.5f), 0.75f);  // inside the range: untouched
    // Uniform reads u, not z: u = 1 gives +√3σ, u = 0.5 gives 0.
    p.programming.clip = ClipMode::None;
    p.programming.distribution = NoiseDistribution::Uniform;
    EXPECT_FLOAT_EQ(apply_programming(p, 0.5f, 100.0f, 0.5f), 0.5f);
    EXPECT_NEAR(apply_programming(p, 0.5f, 0.0f, 1.0f), 0.5 + std::sqrt(3.0) * 0.5, 1e-6);
    EXPECT_EQ(clip_conductance(ClipMode::Range, -1.0f, 0.2f), 0.2f);
    // Disabled programming leaves the target exactly.
    p.programming.enabled = false;
    EXPECT_EQ(apply_programming(p, 0.3f, 5.0f, 0.9f), 0.3f);
    EXPECT_EQ(programming_sigma(p, 0.3f), 0.0f);
}

TEST(DeviceModels, GenericReadNoiseSigmaFamilies) {
    const DeviceParams p = parse_text(R"(
device:
  model: generic
  read_noise: {dependence: proportional, alpha: 0.02}
)");
    EXPECT_FALSE(p.programming.enabled);
    EXPECT_TRUE(p.read_noise.enabled);  // enabled because alpha is given
    EXPECT_FLOAT_EQ(read_noise_sigma(p, 0.5f), 0.01f);
    EXPECT_FLOAT_EQ(read_noise_sigma(p, -0.5f), 0.01f);
    EXPECT_EQ(programming_sigma(p, 0.5f), 0.0f);
}

// ------------------------------------------------------------------ custom
TEST(DeviceModels, CustomPolynomialInBothUnits) {
    const DeviceParams us = parse_text(R"(
device:
  model: custom
  g_max_uS: 25
  programming: {polynomial: [0.3, 0.05, -0.001]}
)");
    EXPECT_TRUE(us.programming.enabled);
    for (double g : {0.0, 0.2, 0.6, 1.0}) {
        const double G = 25.0 * g;
        EXPECT_NEAR(programming_sigma(us, static_cast<float>(g)), (0.3 + 0.05 * G - 0.001 * G * G) / 25.0, 1e-7) << g;
    }
    const DeviceParams norm = parse_text(R"(
device:
  model: custom
  read_noise: {units: normalized, polynomial: [0.01, 0.02, 0.0, 0.003]}
)");
    EXPECT_TRUE(norm.read_noise.enabled);
    for (double g : {0.0, 0.5, 1.0})
        EXPECT_NEAR(read_noise_sigma(norm, static_cast<float>(g)), 0.01 + 0.02 * g + 0.003 * g * g * g, 1e-7);
    // Negative polynomial values are floored at 0.
    const DeviceParams neg = parse_text("device: {model: custom, programming: {units: normalized, polynomial: [-1]}}");
    EXPECT_EQ(programming_sigma(neg, 0.5f), 0.0f);
}

TEST(DeviceModels, CustomTableInterpolatesAndHoldsEnds) {
    const DeviceParams p = parse_text(R"(
device:
  model: custom
  programming:
    units: normalized
    table: {g: [0.1, 0.5, 1.0], sigma: [0.01, 0.03, 0.02]}
)");
    const float g[] = {0.0f, 0.1f, 0.3f, 0.5f, 0.75f, 1.0f, 1.5f};
    const double want[] = {0.01, 0.01, 0.02, 0.03, 0.025, 0.02, 0.02};
    for (int i = 0; i < 7; ++i) EXPECT_NEAR(programming_sigma(p, g[i]), want[i], 1e-7) << "g = " << g[i];
    // The same table in µS at G_max = 25 µS.
    const DeviceParams q = parse_text(R"(
device:
  model: custom
  g_max_uS: 25
  programming: {table: {g: [2.5, 12.5, 25], sigma: [0.25, 0.75, 0.5]}}
)");
    for (int i = 0; i < 7; ++i) EXPECT_NEAR(programming_sigma(q, g[i]), want[i], 1e-7) << "g = " << g[i];
    // Helpers directly.
    const float x[] = {0.0f, 1.0f}, y[] = {2.0f, 4.0f};
    EXPECT_FLOAT_EQ(interp_table(x, y, 2, 0.25f), 2.5f);
    EXPECT_FLOAT_EQ(interp_table(x, y, 2, -1.0f), 2.0f);
    EXPECT_FLOAT_EQ(interp_table(x, y, 2, 2.0f), 4.0f);
    EXPECT_EQ(interp_table(x, y, 0, 0.5f), 0.0f);
    const float c[] = {1.0f, -2.0f, 3.0f};
    EXPECT_FLOAT_EQ(eval_polynomial(c, 3, 2.0f), 9.0f);
}

TEST(DeviceModels, CustomDriftTable) {
    const DeviceParams p = parse_text(R"(
device:
  model: custom
  g_max_uS: 25
  drift:
    time: 3600
    table: {g: [0, 10, 25], nu_mean: [0.1, 0.05, 0.02], nu_std: [0.02, 0.01, 0.0]}
)");
    EXPECT_TRUE(p.drift.enabled);
    EXPECT_TRUE(p.drift.compensation);
    EXPECT_FLOAT_EQ(p.drift.time_s, 3600.0f);
    EXPECT_FALSE(p.programming.enabled);
    EXPECT_NEAR(drift_nu(p, 0.2f, 0.0f), 0.075, 1e-7);         // G = 5 µS: halfway 0.1 → 0.05
    EXPECT_NEAR(drift_nu(p, 0.2f, 1.0f), 0.075 + 0.015, 1e-7);  // σ_ν = 0.015 there
    EXPECT_NEAR(drift_nu(p, 0.2f, -10.0f), std::fabs(0.075 - 0.15), 1e-7);
    EXPECT_NEAR(drift_nu(p, 1.0f, 3.0f), 0.02, 1e-7);  // end point, σ_ν = 0
    EXPECT_NEAR(drift_nu(p, 2.0f, 0.0f), 0.02, 1e-7);  // beyond the end: held
    // Drifted read: no accumulated 1/f noise for custom drift.
    EXPECT_NEAR(conductance_at_time(p, 0.2f, 0.075f, 3600.0f, 5.0f), 0.2 * std::pow(3620.0 / 20.0, -0.075), 1e-6);
    // nu_std omitted → 0.
    const DeviceParams q = parse_text(R"(
device:
  model: custom
  drift: {units: normalized, nu_scale: 2, table: {g: [0, 1], nu_mean: [0.1, 0.05]}}
)");
    EXPECT_NEAR(drift_nu(q, 0.5f, 7.0f), 2 * 0.075, 1e-7);
}

// ------------------------------------------------------------------ YAML
TEST(DeviceConfig, DefaultsPerModel) {
    const DeviceParams none = parse_device(YAML::Node(), "x.yaml", "device");
    EXPECT_EQ(none.kind, DeviceKind::Ideal);
    EXPECT_FALSE(none.programming.enabled || none.drift.enabled || none.read_noise.enabled);

    const DeviceParams pcm = parse_text("device: {model: pcm}");
    EXPECT_EQ(pcm.kind, DeviceKind::PCM);
    EXPECT_FLOAT_EQ(pcm.g_max_uS, 25.0f);
    EXPECT_EQ(pcm.g_min, 0.0f);
    EXPECT_TRUE(pcm.programming.enabled);
    EXPECT_EQ(pcm.programming.clip, ClipMode::Zero);
    EXPECT_TRUE(pcm.drift.enabled);
    EXPECT_TRUE(pcm.drift.compensation);
    EXPECT_TRUE(pcm.drift.accumulated_read_noise);
    EXPECT_EQ(pcm.drift.time_s, 0.0f);
    EXPECT_FLOAT_EQ(pcm.drift.t0_s, 20.0f);
    EXPECT_FLOAT_EQ(pcm.drift.t_read_s, 250e-9f);
    EXPECT_FALSE(pcm.read_noise.enabled);

    const DeviceParams sonos = parse_text("device: {model: sonos}");
    EXPECT_TRUE(sonos.programming.enabled);
    EXPECT_TRUE(sonos.read_noise.enabled);
    EXPECT_FLOAT_EQ(sonos.v_read_V, 0.2f);
    EXPECT_FLOAT_EQ(sonos.g_max_uS, 16.0f);

    const DeviceParams generic = parse_text("device: {model: generic}");
    EXPECT_FALSE(generic.programming.enabled);  // no alpha given: no noise

    const DeviceParams g2 = parse_text(R"(
device:
  model: generic
  g_max_uS: 40
  on_off_ratio: 20
  programming: {distribution: uniform, dependence: inverse_proportional, alpha: 0.01, clip: range}
  drift: {time: 86400}
)");
    EXPECT_TRUE(g2.programming.enabled);
    EXPECT_EQ(g2.programming.distribution, NoiseDistribution::Uniform);
    EXPECT_EQ(g2.programming.dependence, NoiseDependence::InverseProportional);
    EXPECT_EQ(g2.programming.clip, ClipMode::Range);
    EXPECT_FLOAT_EQ(g2.g_min, 0.05f);
    EXPECT_FALSE(g2.drift.enabled);
    EXPECT_FLOAT_EQ(g2.drift.time_s, 86400.0f);

    const DeviceParams inf = parse_text("device: {model: pcm, on_off_ratio: .inf, drift: {time: 86400, compensation: false}}");
    EXPECT_EQ(inf.g_min, 0.0f);
    EXPECT_FALSE(inf.drift.compensation);
    EXPECT_FLOAT_EQ(inf.drift.time_s, 86400.0f);
}

TEST(DeviceConfig, ResolvedYamlRoundTrips) {
    const std::vector<std::string> inputs = {
        "device: {model: ideal, on_off_ratio: 100}",
        "device: {model: generic, programming: {alpha: 0.03, dependence: proportional, distribution: uniform}}",
        "device: {model: pcm, g_max_uS: 30, drift: {time: 3600, t0: 10}, read_noise: {alpha: 0.01}}",
        "device: {model: rram_wan2022, g_max_uS: 30, on_off_ratio: 10, programming: {clip: range, scale: 0.5}}",
        "device: {model: rram_milo2021}",
        "device: {model: sonos, g_max_uS: 32, v_read_V: 0.1}",
        "device: {model: custom, programming: {units: normalized, polynomial: [0.01, 0.1]}, read_noise: {table: "
        "{g: [1, 25], sigma: [0.1, 0.3]}}, drift: {table: {g: [0, 25], nu_mean: [0.05, 0.02], nu_std: [0.01, 0.0]}}}",
    };
    for (const auto& text : inputs) {
        const DeviceParams a = parse_text(text);
        const YAML::Node resolved = device_to_yaml(a);
        const std::string dumped = YAML::Dump(resolved);
        const DeviceParams b = parse_device(YAML::Load(dumped), "resolved.yaml", "device");
        EXPECT_EQ(dumped, YAML::Dump(device_to_yaml(b))) << text;
        EXPECT_EQ(a.kind, b.kind);
        EXPECT_EQ(a.g_max_uS, b.g_max_uS);
        EXPECT_EQ(a.g_min, b.g_min);
        EXPECT_EQ(a.programming.enabled, b.programming.enabled);
        EXPECT_EQ(a.read_noise.enabled, b.read_noise.enabled);
        EXPECT_EQ(a.drift.enabled, b.drift.enabled);
        for (float g : {0.0f, 0.3f, 1.0f}) {
            EXPECT_EQ(programming_sigma(a, g), programming_sigma(b, g)) << text;
            EXPECT_EQ(read_noise_sigma(a, g), read_noise_sigma(b, g)) << text;
            EXPECT_EQ(drift_nu(a, g, 0.5f), drift_nu(b, g, 0.5f)) << text;
        }
    }
    // Every model's defaults round-trip too.
    for (auto k : {DeviceKind::Ideal, DeviceKind::Generic, DeviceKind::PCM, DeviceKind::RRAMWan2022,
                   DeviceKind::RRAMMilo2021, DeviceKind::SONOS, DeviceKind::Custom}) {
        const std::string dumped = YAML::Dump(device_to_yaml(default_device(k)));
        const DeviceParams b = parse_device(YAML::Load(dumped), "resolved.yaml", "device");
        EXPECT_EQ(YAML::Dump(device_to_yaml(b)), dumped) << device_kind_name(k);
    }
    EXPECT_EQ(device_to_yaml(parse_text("device: {model: pcm}"))["on_off_ratio"].Scalar(), ".inf");
    EXPECT_EQ(device_to_yaml(parse_text("device: {model: pcm}"))["drift"]["t_read"].Scalar(), "2.5e-07");
}

struct BadCase {
    const char* name;
    const char* yaml;
    int line;
    const char* key;
    const char* message;  // a fragment of the explanation
};

TEST(DeviceConfig, BadInputsNameFileLineAndKey) {
    const BadCase cases[] = {
        {"unknown top key", "device:\n  model: pcm\n  g_max: 25\n", 3, "device.g_max", "unknown key for model 'pcm'"},
        {"unknown model", "device:\n  model: flash\n", 2, "device.model", "unknown model 'flash'"},
        {"model not a string", "device:\n  model: [pcm]\n", 2, "device.model", "expected a string"},
        {"device not a map", "device: 5\n", 1, "device", "expected a mapping"},
        {"negative g_max", "device:\n  model: pcm\n  g_max_uS: -1\n", 3, "device.g_max_uS", "must be > 0"},
        {"g_max wrong type", "device:\n  model: pcm\n  g_max_uS: big\n", 3, "device.g_max_uS", "expected a number"},
        {"g_max nan", "device:\n  model: pcm\n  g_max_uS: .nan\n", 3, "device.g_max_uS", "finite"},
        {"g_max overflows float", "device:\n  model: pcm\n  g_max_uS: 1e300\n", 3, "device.g_max_uS", "float range"},
        {"on_off below 1", "device:\n  model: pcm\n  on_off_ratio: 0.5\n", 3, "device.on_off_ratio", "must be > 1"},
        {"on_off negative", "device:\n  on_off_ratio: -3\n", 2, "device.on_off_ratio", "must be > 1"},
        {"wan g_max above fit", "device:\n  model: rram_wan2022\n  g_max_uS: 50\n", 3, "device.g_max_uS", "39.26"},
        {"v_read for pcm", "device:\n  model: pcm\n  v_read_V: 0.2\n", 3, "device.v_read_V", "unknown key"},
        {"sonos current above data", "device:\n  model: sonos\n  v_read_V: 0.5\n", 3, "device.v_read_V", "exceeds 3200 nA"},
        {"sonos g_max above data", "device:\n  model: sonos\n  g_max_uS: 17\n", 3, "device.g_max_uS", "exceeds 3200 nA"},
        {"section not a map", "device:\n  model: pcm\n  programming: 5\n", 3, "device.programming", "expected a mapping"},
        {"negative alpha", "device:\n  model: generic\n  programming:\n    alpha: -0.1\n", 4, "device.programming.alpha", "must be >= 0"},
        {"alpha inf", "device:\n  model: generic\n  read_noise:\n    alpha: .inf\n", 4, "device.read_noise.alpha", "finite"},
        {"bad distribution", "device:\n  model: generic\n  programming: {alpha: 0.1,\n    distribution: gauss}\n", 4,
         "device.programming.distribution", "unknown distribution 'gauss'"},
        {"bad dependence", "device:\n  model: generic\n  programming:\n    alpha: 0.1\n    dependence: linear\n", 5,
         "device.programming.dependence", "unknown dependence"},
        {"bad clip", "device:\n  model: pcm\n  programming:\n    clip: both\n", 4, "device.programming.clip", "unknown clip mode"},
        {"enabled not bool", "device:\n  model: pcm\n  programming:\n    enabled: maybe\n", 4, "device.programming.enabled",
         "expected true or false"},
        {"negative scale", "device:\n  model: pcm\n  programming:\n    scale: -2\n", 4, "device.programming.scale", "must be >= 0"},
        {"generic enabled without alpha", "device:\n  model: generic\n  programming:\n    enabled: true\n", 4,
         "device.programming.alpha", "required key is missing"},
        {"distribution for pcm", "device:\n  model: pcm\n  programming:\n    distribution: uniform\n", 4,
         "device.programming.distribution", "unknown key for model 'pcm'"},
        {"ideal with programming", "device:\n  model: ideal\n  programming:\n    enabled: true\n", 4,
         "device.programming.enabled", "model 'ideal' has no programming error"},
        {"ideal with alpha", "device:\n  programming:\n    alpha: 0.1\n", 3, "device.programming.alpha", "unknown key"},
        {"negative time", "device:\n  model: pcm\n  drift:\n    time: -1\n", 4, "device.drift.time", "must be >= 0"},
        {"time wrong type", "device:\n  model: pcm\n  drift:\n    time: 1day\n", 4, "device.drift.time", "expected a number"},
        {"drift key typo", "device:\n  model: pcm\n  drift:\n    tim: 5\n", 4, "device.drift.tim", "allowed here"},
        {"drift for generic", "device:\n  model: generic\n  drift:\n    enabled: true\n", 4, "device.drift.enabled",
         "has no drift model"},
        {"t_read above t0", "device:\n  model: pcm\n  drift:\n    t0: 1\n    t_read: 2\n", 5, "device.drift.t_read",
         "less than drift.t0"},
        {"t0 zero", "device:\n  model: pcm\n  drift:\n    t0: 0\n", 4, "device.drift.t0", "must be > 0"},
        {"custom enabled without law", "device:\n  model: custom\n  programming:\n    enabled: true\n", 4,
         "device.programming", "needs 'polynomial' or 'table'"},
        {"custom drift without table", "device:\n  model: custom\n  drift:\n    enabled: true\n", 4, "device.drift.table",
         "required key is missing"},
        {"both polynomial and table",
         "device:\n  model: custom\n  programming:\n    polynomial: [1]\n    table: {g: [0, 1], sigma: [1, 2]}\n", 5,
         "device.programming.table", "not both"},
        {"polynomial too long",
         "device:\n  model: custom\n  read_noise:\n    polynomial: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]\n", 4,
         "device.read_noise.polynomial", "at most 16 coefficients"},
        {"polynomial empty", "device:\n  model: custom\n  read_noise:\n    polynomial: []\n", 4,
         "device.read_noise.polynomial", "at least one"},
        {"polynomial not a list", "device:\n  model: custom\n  read_noise:\n    polynomial: 3\n", 4,
         "device.read_noise.polynomial", "expected a list"},
        {"polynomial element type", "device:\n  model: custom\n  read_noise:\n    polynomial: [1, x]\n", 4,
         "device.read_noise.polynomial", "expected a number"},
        {"table unsorted",
         "device:\n  model: custom\n  programming:\n    table:\n      g:\n        - 0\n        - 2\n        - 1\n      sigma: [1, 1, 1]\n",
         8, "device.programming.table.g", "strictly increasing"},
        {"table duplicate", "device:\n  model: custom\n  programming:\n    table: {g: [0, 1, 1], sigma: [1, 1, 1]}\n", 4,
         "device.programming.table.g", "strictly increasing"},
        {"table single point", "device:\n  model: custom\n  programming:\n    table: {g: [0], sigma: [1]}\n", 4,
         "device.programming.table.g", "at least 2 points"},
        {"table length mismatch", "device:\n  model: custom\n  programming:\n    table:\n      g: [0, 1]\n      sigma: [1, 2, 3]\n",
         6, "device.programming.table.sigma", "has 3 entries but 'g' has 2"},
        {"table negative sigma",
         "device:\n  model: custom\n  programming:\n    table:\n      g: [0, 1]\n      sigma:\n        - 1\n        - -2\n", 8,
         "device.programming.table.sigma", "must be >= 0"},
        {"table missing sigma", "device:\n  model: custom\n  programming:\n    table:\n      g: [0, 1]\n", 5,
         "device.programming.table.sigma", "required key is missing"},
        {"table unknown column", "device:\n  model: custom\n  programming:\n    table: {g: [0, 1], sigma: [1, 2], s: [1]}\n", 4,
         "device.programming.table.s", "unknown key"},
        {"table negative g", "device:\n  model: custom\n  programming:\n    table: {g: [-1, 1], sigma: [1, 2]}\n", 4,
         "device.programming.table.g", "must be >= 0"},
        {"bad units", "device:\n  model: custom\n  read_noise:\n    units: mS\n    polynomial: [1]\n", 4,
         "device.read_noise.units", "unknown units 'mS'"},
        {"drift table negative std",
         "device:\n  model: custom\n  drift:\n    table:\n      g: [0, 1]\n      nu_mean: [0.1, 0.1]\n      nu_std: [0.1, -0.1]\n",
         7, "device.drift.table.nu_std", "must be >= 0"},
        {"sonos read noise generic keys", "device:\n  model: sonos\n  read_noise:\n    alpha: 0.1\n", 4,
         "device.read_noise.alpha", "unknown key for model 'sonos'"},
    };
    // A 65-point table (built here).
    std::string long_table = "device:\n  model: custom\n  programming:\n    table:\n      g: [";
    std::string sig = "      sigma: [";
    for (int i = 0; i < 65; ++i) {
        long_table += (i ? ", " : "") + std::to_string(i);
        sig += (i ? ", " : "") + std::string("1");
    }
    long_table += "]\n" + sig + "]\n";

    std::vector<BadCase> all(std::begin(cases), std::end(cases));
    all.push_back({"table too long", long_table.c_str(), 5, "device.programming.table.g", "at most 64 points"});
    for (const auto& c : all) {
        SCOPED_TRACE(c.name);
        try {
            parse_text(c.yaml);
            ADD_FAILURE() << "no error for:\n" << c.yaml;
        } catch (const Error& e) {
            const std::string msg = e.what();
            const std::string where = "dev.yaml:" + std::to_string(c.line) + ": key '" + std::string(c.key) + "'";
            EXPECT_NE(msg.find(where), std::string::npos) << "want '" << where << "' in: " << msg;
            EXPECT_NE(msg.find(c.message), std::string::npos) << "want '" << c.message << "' in: " << msg;
        }
    }
}

TEST(DeviceConfig, ErrorsUseTheGivenSection) {
    try {
        const YAML::Node root = YAML::Load("layers:\n  conv1:\n    device:\n      model: pcm\n      drift: {time: -5}\n");
        parse_device(root["layers"]["conv1"]["device"], "cfg.yaml", "layers.conv1.device");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cfg.yaml:5: key 'layers.conv1.device.drift.time'"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace xbarsim::test
