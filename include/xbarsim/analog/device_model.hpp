#pragma once
// Device models of the analog crossbar (ARCHITECTURE §2 "Device models"), written once for the CPU
// backend and the CUDA kernels: plain-data parameter structs and pure inline functions (no
// allocation, no exceptions, no virtual calls). docs/devices.md documents every parameter, its
// unit, default and source; src/host/device_config.cpp fills the structs from YAML.
//
// Units. Conductance is normalized, g = G / G_max in [g_min, 1] (g_min = 1/on_off_ratio, 0 for an
// infinite ratio). Every function below takes and returns normalized quantities unless its name
// says otherwise (_uS: microsiemens, _nA: nanoamperes, _s: seconds). A standard deviation in
// normalized units is σ_G / G_max.
//
// Randomness. No function draws random numbers: the caller passes the variates, produced by the
// counter-based generator (ARCHITECTURE §3), so CPU and GPU see the same draws. Every noisy
// function takes `z` (standard normal) and, where a uniform law is possible, `u` (uniform in
// (0,1)); only the one the configured distribution needs is read (see unit_variate), so the
// caller may pass 0 for the other: `uses_uniform(noise)` says which one to generate.
//
// Order of effects for one chip instance (trial) and one evaluation time t (seconds after the end
// of programming), per cell with target g_T:
//   g_P  = apply_programming(p, g_T, z1, u1)              // once per trial
//   nu   = drift_nu(p, g_T, z2)                            // once per trial
//   g(t) = conductance_at_time(p, g_P, nu, t, z3)          // once per trial and time t
//   per MVM: + read_noise_sigma(p, g(t)) · z               // fresh draw every MVM
// Global drift compensation multiplies the array output by drift_compensation_scale(ref, now),
// with the two array-level reads done by the layer code.
//
// Bit-identical backends. All float arithmetic goes through the exactly rounded hd:: primitives
// (no compiler can fuse or reorder it), and the transcendental functions are our own (log_f,
// exp_f below, about 1 ulp, built from the same primitives) instead of libm/CUDA expf/logf/powf,
// which differ between glibc and the CUDA math library. So host and device compute bit-identical
// conductances, exponents and σ's from the same variates.
#include <math.h>
#include <stdint.h>

#include "xbarsim/analog/hd.hpp"

namespace xbarsim::analog {

// ------------------------------------------------------------------ capacities and constants
inline constexpr int32_t kMaxTablePoints = 64;  // points of a user σ(g) or ν(g) table
inline constexpr int32_t kMaxPolyCoeffs = 16;   // coefficients of a user σ(g) polynomial (degree 15)

// PCM: Nandakumar et al., ICECS 2019 / Joshi et al., Nat. Commun. 2020, as in IBM aihwkit's
// PCMLikeNoiseModel. Programming σ polynomial in µS, fitted at G_max = 25 µS.
inline constexpr float kPcmProgC0_uS = 0.26348f;
inline constexpr float kPcmProgC1_uS = 1.9650f;
inline constexpr float kPcmProgC2_uS = -1.1731f;
inline constexpr float kPcmGmaxRef_uS = 25.0f;
inline constexpr float kPcmT0_s = 20.0f;       // first read after programming (drift reference)
inline constexpr float kPcmTRead_s = 250e-9f;  // read duration of the 1/f noise integral
inline constexpr float kPcmMinGRel = 1e-7f;    // g_rel floor before ln() (aihwkit _ZERO_CLIP)

// RRAM, Wan et al., Nature 2022 (cubic fit to Extended Data Fig. 3 at t = 1 s, as in CrossSim).
inline constexpr float kWanC3 = 1.536e-4f, kWanC2 = -1.167e-2f, kWanC1 = 0.2374f, kWanC0_uS = 1.053f;
inline constexpr float kWanGMaxFit_uS = 39.26f;  // upper end of the fit's range

// RRAM, Milo et al., IRPS 2021 (linear fit to Fig. 4, IGVVA-100, 50-225 µS, as in CrossSim).
inline constexpr float kMiloSlope = -0.009107f, kMiloIntercept_uS = 4.782321f;

// SONOS, Agrawal et al., IEDM 2022 (saturating exponential σ_I(I), as in CrossSim), t = 0.
inline constexpr float kSonosProgA_nA = 19.88665f, kSonosProgB_nA = 176.3115f;
inline constexpr float kSonosReadA_nA = 12.58037f, kSonosReadB_nA = 215.36557f;
inline constexpr float kSonosImaxFit_nA = 3200.0f;  // largest cell current covered by the data

// ------------------------------------------------------------------ enums
enum class DeviceKind : uint8_t { Ideal, Generic, PCM, RRAMWan2022, RRAMMilo2021, SONOS, Custom };
enum class NoiseDistribution : uint8_t { Normal, Uniform };
// σ(g) = α, α·|g|, α/g (0 where g <= 0), all in normalized units.
enum class NoiseDependence : uint8_t { Independent, Proportional, InverseProportional };
// None: no clipping; Zero: g >= 0; Range: g in [g_min, 1].
enum class ClipMode : uint8_t { None, Zero, Range };
// Which σ(g) law a noise section uses (set by the device model; Polynomial/Table are user laws).
enum class SigmaLaw : uint8_t { None, Generic, PCM, RRAMWan2022, RRAMMilo2021, SONOS, Polynomial, Table };
enum class DriftLaw : uint8_t { None, PCM, Table };
// Units of user polynomials and tables: x = G in µS and y = σ in µS, or x = g and y = σ normalized.
enum class TableUnits : uint8_t { MicroSiemens, Normalized };

// ------------------------------------------------------------------ parameter structs (POD)
// One noise source: programming error (drawn once per trial) or per-MVM read noise.
struct NoiseParams {
    bool enabled = false;
    SigmaLaw law = SigmaLaw::None;
    NoiseDistribution distribution = NoiseDistribution::Normal;  // programming only; read noise is Normal
    NoiseDependence dependence = NoiseDependence::Independent;   // law Generic
    ClipMode clip = ClipMode::Zero;                              // programming only
    TableUnits units = TableUnits::MicroSiemens;                 // laws Polynomial and Table
    float alpha = 0.0f;                                          // law Generic, normalized units
    float scale = 1.0f;                                          // multiplies σ (any law)
    float sonos_a_nA = 0.0f, sonos_b_nA = 1.0f;                  // law SONOS
    int32_t n_coeffs = 0;                                        // law Polynomial: Σ c_i x^i
    float coeffs[kMaxPolyCoeffs] = {};
    int32_t n_points = 0;                                        // law Table: strictly increasing x
    float table_x[kMaxTablePoints] = {};
    float table_y[kMaxTablePoints] = {};
};

// Conductance drift g(t) = g_P·((t + t0)/t0)^(−ν) and, for PCM, the accumulated 1/f read noise.
struct DriftParams {
    bool enabled = false;
    DriftLaw law = DriftLaw::None;
    bool compensation = false;            // global drift compensation (one scalar per array)
    bool accumulated_read_noise = false;  // PCM 1/f noise accumulated up to the read at t
    float time_s = 0.0f;                  // t_inference: seconds after programming (run parameter)
    float t0_s = kPcmT0_s;
    float t_read_s = kPcmTRead_s;
    float nu_scale = 1.0f;                // multiplies ν (aihwkit drift_scale)
    TableUnits units = TableUnits::MicroSiemens;  // units of table_g (law Table)
    int32_t n_points = 0;
    float table_g[kMaxTablePoints] = {};
    float nu_mean[kMaxTablePoints] = {};
    float nu_std[kMaxTablePoints] = {};
};

struct DeviceParams {
    DeviceKind kind = DeviceKind::Ideal;
    float g_max_uS = 25.0f;     // G_max, µS
    float on_off_ratio = 0.0f;  // G_max/G_min; 0 = infinite
    float g_min = 0.0f;         // 1/on_off_ratio (0 for infinite), normalized
    float v_read_V = 0.0f;      // read voltage (SONOS: cell current I = V_read·G)
    NoiseParams programming;
    DriftParams drift;
    NoiseParams read_noise;
};

// ------------------------------------------------------------------ small helpers
namespace device_detail {
XBARSIM_HD float clip_lo_hi(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }
XBARSIM_HD float nonneg(float x) { return x > 0.0f ? x : 0.0f; }
inline constexpr float kLn2Hi = 0.693145751953125f;  // 16 significant bits: k * kLn2Hi exact for |k| <= 256
inline constexpr float kLn2Lo = 1.42860682e-6f;      // ln 2 - kLn2Hi
inline constexpr float kFltMin = 1.17549435e-38f;    // smallest normal float
}  // namespace device_detail

// Natural logarithm, about 1 ulp, identical on host and device (hd::log_from_bits). Arguments
// below the smallest normal float (0, negatives, subnormals) are raised to it (ln = -87.34);
// +inf gives +inf.
XBARSIM_HD float log_f(float x) {
    if (!(x >= device_detail::kFltMin)) x = device_detail::kFltMin;  // also maps NaN
    if (x > 3.40282347e38f) return x;                                // +inf
    return hd::log_from_bits(hd::float_bits(x), 0);
}

// e^x, about 1 ulp, identical on host and device. Results below the smallest normal float
// (x < −87.3) are 0; x > 88.72 gives +inf; NaN propagates. x = k·ln 2 + r (k = rint(x/ln 2),
// Cody-Waite), e^r by its Taylor series to degree 8 (|r| <= 0.347: truncation < 2e-10), times 2^k.
XBARSIM_HD float exp_f(float x) {
    if (x != x) return x;
    if (x > 88.7228394f) return hd::float_from_bits(0x7f800000u);
    if (x < -87.3365479f) return 0.0f;
    const float k = rintf(hd::mul(x, 1.44269504f));
    const float r = hd::sub(hd::sub(x, hd::mul(k, device_detail::kLn2Hi)), hd::mul(k, device_detail::kLn2Lo));
    float p = 2.48015873e-5f;                    // 1/8!
    p = hd::add(1.98412698e-4f, hd::mul(r, p));  // 1/7!
    p = hd::add(1.38888889e-3f, hd::mul(r, p));  // 1/6!
    p = hd::add(8.33333333e-3f, hd::mul(r, p));  // 1/5!
    p = hd::add(4.16666667e-2f, hd::mul(r, p));  // 1/4!
    p = hd::add(0.166666667f, hd::mul(r, p));    // 1/3!
    p = hd::add(0.5f, hd::mul(r, p));
    p = hd::add(1.0f, hd::mul(r, p));
    p = hd::add(1.0f, hd::mul(r, p));
    const int32_t ki = static_cast<int32_t>(k);  // in [-126, 128]
    if (ki < -126) return 0.0f;
    if (ki > 127) return hd::mul(hd::mul(p, 0x1p127f), 2.0f);
    return hd::mul(p, hd::float_from_bits(static_cast<uint32_t>(ki + 127) << 23));
}

// Normalized ↔ physical units.
XBARSIM_HD float g_to_uS(const DeviceParams& p, float g) { return hd::mul(g, p.g_max_uS); }
XBARSIM_HD float uS_to_g(const DeviceParams& p, float G_uS) { return hd::div(G_uS, p.g_max_uS); }
// Cell current in nA at read voltage V_read: I = V_read·G (1 V·1 µS = 1000 nA).
XBARSIM_HD float cell_current_nA(float v_read_V, float G_uS) { return hd::mul(hd::mul(1000.0f, v_read_V), G_uS); }

// A zero-mean, unit-variance variate of the chosen distribution: Normal → z; Uniform → √3·(2u−1),
// uniform on (−√3, √3). Hence σ always means the standard deviation, for both distributions
// (CrossSim's UniformError uses its magnitude as the full width, i.e. σ = magnitude/√12).
XBARSIM_HD float unit_variate(NoiseDistribution d, float z, float u) {
    return d == NoiseDistribution::Uniform ? hd::mul(1.73205081f, hd::sub(hd::mul(2.0f, u), 1.0f)) : z;
}
XBARSIM_HD bool uses_uniform(const NoiseParams& n) { return n.enabled && n.distribution == NoiseDistribution::Uniform; }

// Σ c_i x^i (Horner).
XBARSIM_HD float eval_polynomial(const float* c, int32_t n, float x) {
    float acc = 0.0f;
    for (int32_t i = n - 1; i >= 0; --i) acc = hd::add(hd::mul(acc, x), c[i]);
    return acc;
}

// Piecewise-linear interpolation over strictly increasing x[0..n-1]; constant beyond the ends
// (like numpy.interp). n = 0 gives 0.
XBARSIM_HD float interp_table(const float* x, const float* y, int32_t n, float v) {
    if (n <= 0) return 0.0f;
    if (!(v > x[0])) return y[0];  // also maps NaN to the first point
    if (v >= x[n - 1]) return y[n - 1];
    int32_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        const int32_t mid = (lo + hi) / 2;
        if (x[mid] <= v) lo = mid;
        else hi = mid;
    }
    const float t = hd::div(hd::sub(v, x[lo]), hd::sub(x[hi], x[lo]));
    return hd::add(y[lo], hd::mul(t, hd::sub(y[hi], y[lo])));
}

// ------------------------------------------------------------------ published σ laws (physical units)
// Generic: σ in normalized units.
XBARSIM_HD float generic_sigma(NoiseDependence d, float alpha, float g) {
    switch (d) {
    case NoiseDependence::Proportional: return hd::mul(alpha, fabsf(g));
    case NoiseDependence::InverseProportional: return g > 0.0f ? hd::div(alpha, g) : 0.0f;  // CrossSim: no error at g = 0
    case NoiseDependence::Independent: break;
    }
    return alpha;
}

// PCM programming σ in µS at g_rel = g_T/G_max, scaled by G_max/25 µS (aihwkit
// prog_coeff_g_max_reference). Evaluated at max(g_rel, 0).
XBARSIM_HD float pcm_programming_sigma_uS(float g_rel, float g_max_uS) {
    const float x = device_detail::nonneg(g_rel);
    const float s = hd::add(kPcmProgC0_uS, hd::mul(x, hd::add(kPcmProgC1_uS, hd::mul(x, kPcmProgC2_uS))));
    return hd::mul(s, hd::div(g_max_uS, kPcmGmaxRef_uS));
}

// RRAM Wan 2022 σ in µS. The cubic is fitted for G <= 39.26 µS; above that (outside the data, where
// the cubic rises steeply) σ is held at σ(39.26 µS) = 1.681 µS. The parser rejects G_max > 39.26 µS,
// so this only matters for noisy values. Negative G is evaluated at 0; σ floored at 0.
XBARSIM_HD float rram_wan2022_sigma_uS(float G_uS) {
    const float G = device_detail::clip_lo_hi(G_uS, 0.0f, kWanGMaxFit_uS);
    const float s = hd::add(hd::mul(hd::add(hd::mul(hd::add(hd::mul(kWanC3, G), kWanC2), G), kWanC1), G), kWanC0_uS);
    return device_detail::nonneg(s);
}

// RRAM Milo 2021 σ in µS: max(−0.009107·G + 4.782321, 0); fitted on 50-225 µS (linear extrapolation
// outside; σ reaches 0 at G = 525.1 µS).
XBARSIM_HD float rram_milo2021_sigma_uS(float G_uS) {
    return device_detail::nonneg(hd::add(hd::mul(kMiloSlope, G_uS), kMiloIntercept_uS));
}

// SONOS σ_I in nA on the cell current I (nA): max(A − A·e^(−I/B), 0).
XBARSIM_HD float sonos_sigma_nA(float I_nA, float A_nA, float B_nA) {
    return device_detail::nonneg(hd::sub(A_nA, hd::mul(A_nA, exp_f(-hd::div(I_nA, B_nA)))));
}

// ------------------------------------------------------------------ σ(g) of a noise section
// σ in normalized units of the section's law at conductance g, ignoring `enabled` but applying
// `scale`. Physical laws evaluate at G = max(g, 0)·G_max. User laws are floored at 0.
XBARSIM_HD float noise_law_sigma(const NoiseParams& n, const DeviceParams& p, float g) {
    const float G = hd::mul(device_detail::nonneg(g), p.g_max_uS);
    float s = 0.0f;
    switch (n.law) {
    case SigmaLaw::None: s = 0.0f; break;
    case SigmaLaw::Generic: s = generic_sigma(n.dependence, n.alpha, g); break;
    case SigmaLaw::PCM: s = hd::div(pcm_programming_sigma_uS(g, p.g_max_uS), p.g_max_uS); break;
    case SigmaLaw::RRAMWan2022: s = hd::div(rram_wan2022_sigma_uS(G), p.g_max_uS); break;
    case SigmaLaw::RRAMMilo2021: s = hd::div(rram_milo2021_sigma_uS(G), p.g_max_uS); break;
    case SigmaLaw::SONOS: {
        // σ_G = σ_I / V_read; in normalized units σ_I / I_max with I_max = V_read·G_max.
        const float i_max_nA = cell_current_nA(p.v_read_V, p.g_max_uS);
        s = hd::div(sonos_sigma_nA(cell_current_nA(p.v_read_V, G), n.sonos_a_nA, n.sonos_b_nA), i_max_nA);
        break;
    }
    case SigmaLaw::Polynomial:
        s = n.units == TableUnits::Normalized ? eval_polynomial(n.coeffs, n.n_coeffs, g)
                                              : hd::div(eval_polynomial(n.coeffs, n.n_coeffs, G), p.g_max_uS);
        break;
    case SigmaLaw::Table:
        s = n.units == TableUnits::Normalized
                ? interp_table(n.table_x, n.table_y, n.n_points, g)
                : hd::div(interp_table(n.table_x, n.table_y, n.n_points, G), p.g_max_uS);
        break;
    }
    return hd::mul(n.scale, device_detail::nonneg(s));
}

// Programming-error σ at target g_T (normalized); 0 when programming error is disabled.
XBARSIM_HD float programming_sigma(const DeviceParams& p, float g_target) {
    return p.programming.enabled ? noise_law_sigma(p.programming, p, g_target) : 0.0f;
}

// Per-MVM read-noise σ at conductance g (normalized, Gaussian); 0 when disabled. g is the cell's
// conductance at the evaluation time (after programming and drift).
XBARSIM_HD float read_noise_sigma(const DeviceParams& p, float g) {
    return p.read_noise.enabled ? noise_law_sigma(p.read_noise, p, g) : 0.0f;
}

XBARSIM_HD float clip_conductance(ClipMode mode, float g, float g_min) {
    switch (mode) {
    case ClipMode::Zero: return device_detail::nonneg(g);
    case ClipMode::Range: return device_detail::clip_lo_hi(g, g_min, 1.0f);
    case ClipMode::None: break;
    }
    return g;
}

// Programmed conductance g_P = clip(g_T + σ(g_T)·ξ) with ξ = unit_variate(distribution, z, u).
XBARSIM_HD float apply_programming(const DeviceParams& p, float g_target, float z, float u) {
    if (!p.programming.enabled) return g_target;
    const float s = noise_law_sigma(p.programming, p, g_target);
    const float g = hd::add(g_target, hd::mul(s, unit_variate(p.programming.distribution, z, u)));
    return clip_conductance(p.programming.clip, g, p.g_min);
}

// ------------------------------------------------------------------ drift
// PCM drift-exponent statistics at g_rel = g_T/G_max (floored at 1e-7 before the logarithm).
XBARSIM_HD float pcm_nu_mean(float g_rel) {
    const float l = log_f(g_rel > kPcmMinGRel ? g_rel : kPcmMinGRel);
    return device_detail::clip_lo_hi(hd::add(hd::mul(-0.0155f, l), 0.0244f), 0.049f, 0.1f);
}
XBARSIM_HD float pcm_nu_std(float g_rel) {
    const float l = log_f(g_rel > kPcmMinGRel ? g_rel : kPcmMinGRel);
    return device_detail::clip_lo_hi(hd::sub(hd::mul(-0.0125f, l), 0.0059f), 0.008f, 0.045f);
}

// Drift exponent ν >= 0 of a cell with target g_T: |μ_ν(g_T) + σ_ν(g_T)·z|·nu_scale, from the PCM
// law or the user table (interpolated at g_T, or at G_T in µS). 0 when drift is disabled.
XBARSIM_HD float drift_nu(const DeviceParams& p, float g_target, float z) {
    const DriftParams& d = p.drift;
    if (!d.enabled) return 0.0f;
    float mu = 0.0f, sd = 0.0f;
    if (d.law == DriftLaw::PCM) {
        mu = pcm_nu_mean(g_target);
        sd = pcm_nu_std(g_target);
    } else if (d.law == DriftLaw::Table) {
        const float x = d.units == TableUnits::Normalized ? g_target : hd::mul(g_target, p.g_max_uS);
        mu = interp_table(d.table_g, d.nu_mean, d.n_points, x);
        sd = interp_table(d.table_g, d.nu_std, d.n_points, x);
    }
    return hd::mul(fabsf(hd::add(mu, hd::mul(sd, z))), d.nu_scale);
}

// ((t + t0)/t0)^(−ν) for t = t_inference_s seconds after programming; exactly 1 for t <= 0.
XBARSIM_HD float drift_factor(float nu, float t_inference_s, float t0_s = kPcmT0_s) {
    if (!(t_inference_s > 0.0f)) return 1.0f;
    return exp_f(-hd::mul(nu, log_f(hd::div(hd::add(t_inference_s, t0_s), t0_s))));
}
XBARSIM_HD float drifted_conductance(float g_programmed, float nu, float t_inference_s, float t0_s = kPcmT0_s) {
    return hd::mul(g_programmed, drift_factor(nu, t_inference_s, t0_s));
}

// PCM 1/f noise: Q_s = min(0.0088 / max(g_rel^0.65, 1e−3), 0.2).
XBARSIM_HD float pcm_q_s(float g_rel) {
    const float a = fabsf(g_rel);
    const float d = a > 0.0f ? exp_f(hd::mul(0.65f, log_f(a))) : 0.0f;
    const float q = hd::div(0.0088f, d > 1e-3f ? d : 1e-3f);
    return q < 0.2f ? q : 0.2f;
}
// σ of the 1/f read noise accumulated up to the read at t = t_inference + t0:
// |g_t|·Q_s(g_rel)·sqrt(ln((t + t_read)/(2·t_read))), normalized like g_t. g_rel is the cell's
// programmed conductance g_P (aihwkit PCMLikeNoiseModel evaluates Q_s on the programmed, not the
// target, conductance; drift statistics use the target).
XBARSIM_HD float pcm_read_noise_sigma(float g_t, float g_rel, float t_inference_s, float t0_s = kPcmT0_s,
                                      float t_read_s = kPcmTRead_s) {
    const float t = hd::add(t_inference_s > 0.0f ? t_inference_s : 0.0f, t0_s);
    const float l = log_f(hd::div(hd::add(t, t_read_s), hd::mul(2.0f, t_read_s)));
    return hd::mul(hd::mul(fabsf(g_t), pcm_q_s(g_rel)), hd::sqrt(l > 0.0f ? l : 0.0f));
}

// Conductance of a cell read at t_inference_s (once per trial and evaluation time): drift of the
// programmed value g_P with exponent ν, plus (PCM, when enabled) the accumulated 1/f noise σ·z,
// clamped at 0 (aihwkit). Returns g_P unchanged when drift is disabled.
XBARSIM_HD float conductance_at_time(const DeviceParams& p, float g_programmed, float nu, float t_inference_s,
                                     float z) {
    const DriftParams& d = p.drift;
    if (!d.enabled) return g_programmed;
    float g = drifted_conductance(g_programmed, nu, t_inference_s, d.t0_s);
    if (d.law == DriftLaw::PCM && d.accumulated_read_noise)
        g = hd::add(g, hd::mul(pcm_read_noise_sigma(g, g_programmed, t_inference_s, d.t0_s, d.t_read_s), z));
    return device_detail::nonneg(g);
}

// Global drift compensation: the scalar that multiplies an array's outputs at time t, the ratio of
// a reference read right after programming (drift.time = 0) to the same read at time t (both
// through the noisy path, e.g. the summed output for an all-ones input). 1 when compensation is
// off or the read at t is not positive.
XBARSIM_HD float drift_compensation_scale(const DeviceParams& p, float reference_read, float read_at_t) {
    if (!p.drift.enabled || !p.drift.compensation) return 1.0f;
    return read_at_t > 0.0f ? hd::div(reference_read, read_at_t) : 1.0f;
}

}  // namespace xbarsim::analog
