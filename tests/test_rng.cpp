// Counter-based RNG (include/xbarsim/analog/rng.hpp): Philox known answers, the cuRAND
// correspondence, the stream layout, the uniform and normal transforms (exactness, accuracy,
// statistics), independence of streams, order/thread independence, and host/device bit-identity.
// Every test uses fixed seeds, so the statistical tolerances are deterministic pass/fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "xbarsim/analog/rng.hpp"
#include "xbarsim/analog/rng_cuda.hpp"
#include "xbarsim/cuda_info.hpp"

#ifdef XBARSIM_HAVE_CUDA
#include <curand.h>
#endif

namespace {

using xbarsim::Float4;
using xbarsim::normal_from_bits;
using xbarsim::Philox4x32;
using xbarsim::PhiloxKey;
using xbarsim::RngRole;
using xbarsim::RngStream;
using xbarsim::uniform_from_bits;

uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }

// Standard normal CDF.
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// Exact Phi^-1(p) to long double precision: Newton's method on erfcl from a close start.
long double exact_inverse_normal(long double p, long double start) {
    const long double kSqrt2 = std::sqrt(2.0L), kInvSqrt2Pi = 1.0L / std::sqrt(2.0L * 3.14159265358979323846264338L);
    long double z = start;
    for (int it = 0; it < 8; ++it) {
        // Work on the lower tail for accuracy: Phi(z) for z < 0 is 0.5 erfc(|z|/sqrt 2).
        const long double cdf = 0.5L * std::erfc(-z / kSqrt2);
        const long double pdf = kInvSqrt2Pi * std::exp(-0.5L * z * z);
        const long double dz = (cdf - p) / pdf;
        z -= dz;
        if (std::fabs(dz) <= 1e-19L * std::fabs(z)) break;
    }
    return z;
}

const RngStream kBase{0x5eed5eed12345678ull, 3, 7, RngRole::Programming};

std::vector<float> normals(const RngStream& s, size_t n, uint32_t sample = 0, uint64_t first = 0) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = s.normal(first + i, sample);
    return v;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
    const size_t n = a.size();
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) {
        ma += a[i];
        mb += b[i];
    }
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

// ------------------------------------------------------------------ Philox

// Known-answer vectors of Philox4x32-10 from Random123's kat_vectors.
TEST(Philox, KnownAnswerVectors) {
    struct Kat {
        Philox4x32 ctr;
        PhiloxKey key;
        Philox4x32 expected;
    };
    const Kat kats[] = {
        {{{0, 0, 0, 0}}, {{0, 0}}, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
        {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
         {{0xffffffffu, 0xffffffffu}},
         {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
        {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
         {{0xa4093822u, 0x299f31d0u}},
         {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
    };
    for (const Kat& k : kats) {
        const Philox4x32 r = xbarsim::philox4x32_10(k.ctr, k.key);
        for (int i = 0; i < 4; ++i) EXPECT_EQ(r.v[i], k.expected.v[i]) << "word " << i;
    }
}

#ifdef XBARSIM_HAVE_CUDA
// cuRAND's host generator (no GPU needed) emits Philox words with key = seed and, for output word
// w = offset + i, counter (lo32(b >> 16), hi32(b >> 16), b & 0xffff, 0), lane w & 3, b = w / 4
// (CUDA 13.0, default ordering). Our raw words must be exactly those.
TEST(Philox, MatchesCurandHostGenerator) {
    const uint64_t seed = 0x0123456789abcdefull;
    for (const uint64_t offset :
         {uint64_t{0}, uint64_t{5}, uint64_t{4} * 65536 * 3 + 7, uint64_t{4} * ((uint64_t{1} << 48) + 70000) + 3}) {
        curandGenerator_t gen = nullptr;
        ASSERT_EQ(curandCreateGeneratorHost(&gen, CURAND_RNG_PSEUDO_PHILOX4_32_10), CURAND_STATUS_SUCCESS);
        ASSERT_EQ(curandSetPseudoRandomGeneratorSeed(gen, seed), CURAND_STATUS_SUCCESS);
        ASSERT_EQ(curandSetGeneratorOffset(gen, offset), CURAND_STATUS_SUCCESS);
        const size_t n = size_t{4} * 65536 * 2 + 13;  // crosses the subsequence wrap twice
        std::vector<unsigned int> out(n);
        const curandStatus_t st = curandGenerate(gen, out.data(), n);
        curandDestroyGenerator(gen);
        ASSERT_EQ(st, CURAND_STATUS_SUCCESS);

        size_t mismatches = 0;
        const PhiloxKey key{{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
        for (size_t i = 0; i < n; ++i) {
            const uint64_t w = offset + i, b = w / 4;
            const Philox4x32 ctr{{static_cast<uint32_t>(b >> 16), static_cast<uint32_t>(b >> 48),
                                  static_cast<uint32_t>(b & 0xffff), 0}};
            if (xbarsim::philox4x32_10(ctr, key).v[w & 3] != out[i]) ++mismatches;
        }
        EXPECT_EQ(mismatches, 0u) << "offset " << offset;

        // The same words through the stream layout: layer 0, role 0, sample 0, trial = subsequence.
        for (const uint32_t trial : {0u, 1u, 65535u}) {
            const RngStream s{seed, trial, 0, static_cast<RngRole>(0)};
            for (uint64_t j = 0; j < 2; ++j)
                for (uint32_t lane = 0; lane < 4; ++lane) {
                    const uint64_t w = 4 * (65536 * j + trial) + lane;
                    if (w < offset || w >= offset + n) continue;
                    EXPECT_EQ(s.bits(4 * j + lane), out[w - offset]) << "trial " << trial << " j " << j;
                }
        }
    }
}
#endif

// ------------------------------------------------------------------ stream layout

TEST(Rng, StreamLayoutCounterAndKey) {
    const RngStream s{0x0123456789abcdefull, 0xdeadbeefu, 0xabcdefu, RngRole::ReadNoise};
    const PhiloxKey k = s.key();
    EXPECT_EQ(k.v[0], 0x89abcdefu);
    EXPECT_EQ(k.v[1], 0x01234567u);
    const uint64_t element = (uint64_t{1} << 34) - 1;  // the largest element
    const Philox4x32 c = s.counter(element >> 2, 0xfedcba98u);
    EXPECT_EQ(c.v[0], 0xffffffffu);
    EXPECT_EQ(c.v[1], 0xfedcba98u);
    EXPECT_EQ(c.v[2], 0xdeadbeefu);
    EXPECT_EQ(c.v[3], (0xabcdefu << 8) | 3u);
    EXPECT_EQ(s.bits(element, 0xfedcba98u), xbarsim::philox4x32_10(c, k).v[3]);
    EXPECT_TRUE(s.valid());
    EXPECT_FALSE((RngStream{1, 0, RngStream::kMaxLayers, RngRole::Drift}.valid()));
    // Neighbouring tuples at the field boundaries never share a counter.
    const RngStream a{1, 0, 1, static_cast<RngRole>(0)}, b{1, 0, 0, static_cast<RngRole>(255)};
    EXPECT_NE(a.counter(0).v[3], b.counter(0).v[3]);
}

// ------------------------------------------------------------------ transforms

TEST(Rng, UniformIsExactAndOpen) {
    EXPECT_EQ(uniform_from_bits(0), 0x1p-24f);
    EXPECT_EQ(uniform_from_bits(0xffffffffu), 1.0f - 0x1p-24f);
    std::mt19937 gen(1);
    for (int i = 0; i < 100000; ++i) {
        const uint32_t x = static_cast<uint32_t>(gen());
        const float u = uniform_from_bits(x);
        ASSERT_EQ(static_cast<double>(u), (static_cast<double>(x >> 9) + 0.5) / 8388608.0) << x;
        ASSERT_GT(u, 0.0f);
        ASSERT_LT(u, 1.0f);
    }
}

// Fixed bit patterns: any change of the generator, the layout or the transforms, or a compiler
// that rounds differently (e.g. contracts a*b+c into an FMA), shows up here.
TEST(Rng, GoldenValues) {
    struct Draw {
        RngStream s;
        uint64_t element;
        uint32_t sample;
        uint32_t word, uniform_bits, normal_bits;
    };
    const Draw draws[] = {
        {{42, 0, 0, RngRole::Programming}, 0, 0, 0x20439b04u, 0x3e010e6cu, 0xbf929ae9u},
        {{42, 0, 0, RngRole::Programming}, 1, 0, 0x9807e022u, 0x3f1807e1u, 0x3e733652u},
        {{42, 0, 0, RngRole::Programming}, 7, 0, 0x92dd60bfu, 0x3f12dd61u, 0x3e3e3c83u},
        {{42, 3, 17, RngRole::ReadNoise}, 123456789, 1000, 0xb208d5dbu, 0x3f3208d5u, 0x3f02e7e4u},
        {{0xdeadbeefcafef00dull, 99, 5, RngRole::Drift}, (uint64_t{1} << 34) - 1, 0xffffffffu, 0xcd45c029u,
         0x3f4d45c1u, 0x3f5925b8u},
        {{1, 1, 16777215, RngRole::AdcRounding}, uint64_t{1} << 33, 5, 0xb76bcf73u, 0x3f376bcfu, 0x3f128b93u},
    };
    for (const Draw& d : draws) {
        EXPECT_EQ(d.s.bits(d.element, d.sample), d.word) << "element " << d.element;
        EXPECT_EQ(bits_of(d.s.uniform(d.element, d.sample)), d.uniform_bits) << "element " << d.element;
        EXPECT_EQ(bits_of(d.s.normal(d.element, d.sample)), d.normal_bits) << "element " << d.element;
    }
    const uint32_t transforms[][3] = {
        {0x00000000u, 0x33800000u, 0xc0cad08eu},  // u = 2^-24, z = -6.33795834 (the minimum)
        {0x00000001u, 0x33800000u, 0xc0c55361u},  // z = -6.16642809
        {0x7fffffffu, 0x3efffffeu, 0xafa06c99u},  // z = -2.91809937e-10
        {0x80000000u, 0x3f000001u, 0x2fa06c99u},  // z = +2.91809937e-10
        {0xffffffffu, 0x3f7fffffu, 0x40cad08eu},  // u = 1 - 2^-24, z = 6.33795834 (the maximum)
        {0x12345678u, 0x3d91a2b8u, 0xbfbbd931u},  // tail branch, z = -1.46756566
        {0x9abcdef0u, 0x3f1abcdfu, 0x3e879cc9u},  // central branch, z = 0.264868051
        {0x0b000000u, 0x3d300010u, 0xbfdbce20u},  // tail branch, z = -1.71722794
    };
    for (const auto& t : transforms) {
        EXPECT_EQ(bits_of(uniform_from_bits(t[0])), t[1]) << std::hex << t[0];
        EXPECT_EQ(bits_of(normal_from_bits(t[0])), t[2]) << std::hex << t[0];
    }
}

// normal_from_bits against the exact inverse CDF of the same p = (x + 1/2) / 2^32, on a sweep
// of the whole word range plus the extremes and both sides of the branch switch |q| = 0.425.
// Measured over all 2^32 words (offline, 14 CPU-minutes): max relative error 4.3e-7 (central
// branch) and 4.1e-7 (tail); AS 241 PPND7 itself (exact arithmetic) contributes 4.6e-8 and 1.2e-7.
TEST(Rng, NormalTransformAccuracy) {
    std::vector<uint32_t> words;
    for (uint64_t x = 0; x < (uint64_t{1} << 32); x += 65521) words.push_back(static_cast<uint32_t>(x));
    for (uint32_t d = 0; d < 64; ++d) {
        words.push_back(d);
        words.push_back(~d);
        words.push_back(0x7fffffffu - d);
        words.push_back(0x80000000u + d);
    }
    // Branch switch: |q| = (kc + 1/2) / 2^32 = 0.425 at kc ~ 1825361100.
    for (int64_t d = -256; d <= 256; ++d) {
        const uint32_t kc = static_cast<uint32_t>(1825361100 + d);
        words.push_back(0x7fffffffu - kc);   // lower half (k = x)
        words.push_back(~(0x7fffffffu - kc));  // upper half
    }
    double max_rel = 0;
    uint32_t worst = 0;
    for (const uint32_t x : words) {
        const float z = normal_from_bits(x);
        const long double p = (static_cast<long double>(x) + 0.5L) / 4294967296.0L;
        const long double exact = exact_inverse_normal(p, static_cast<long double>(z));
        const double rel = static_cast<double>(std::fabs((static_cast<long double>(z) - exact) / exact));
        if (rel > max_rel) {
            max_rel = rel;
            worst = x;
        }
    }
    EXPECT_LT(max_rel, 5e-7) << "worst word 0x" << std::hex << worst;
    // The extremes: p = 2^-33 and 1 - 2^-33.
    EXPECT_NEAR(normal_from_bits(0), -6.3379577545537889, 3e-6);
    EXPECT_NEAR(normal_from_bits(0xffffffffu), 6.3379577545537889, 3e-6);
}

TEST(Rng, NormalTransformOddSymmetry) {
    std::mt19937 gen(2);
    for (int i = 0; i < 200000; ++i) {
        const uint32_t x = static_cast<uint32_t>(gen());
        ASSERT_EQ(bits_of(normal_from_bits(~x)), bits_of(-normal_from_bits(x))) << x;
    }
}

// ------------------------------------------------------------------ statistics

// n = 10^6, tolerances 5 standard errors; a chi-square of 64 equal bins (63 degrees of freedom,
// 99.9999 % quantile 125.7).
TEST(Rng, UniformMeanVarianceAndBins) {
    const size_t n = 1000000;
    const RngStream s{kBase.seed, kBase.trial, kBase.layer, RngRole::AdcRounding};
    double sum = 0, sum2 = 0;
    std::vector<double> bins(64, 0.0);
    for (size_t i = 0; i < n; ++i) {
        const double u = s.uniform(i);
        sum += u;
        sum2 += u * u;
        bins[static_cast<size_t>(u * 64)] += 1;
    }
    const double nd = static_cast<double>(n), mean = sum / nd, var = sum2 / nd - mean * mean;
    EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / nd));
    EXPECT_NEAR(var, 1.0 / 12, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / nd));
    double chi2 = 0;
    for (const double b : bins) chi2 += (b - nd / 64) * (b - nd / 64) / (nd / 64);
    EXPECT_LT(chi2, 125.7);
}

TEST(Rng, NormalMeanVariance) {
    const size_t n = 1000000;
    const std::vector<float> z = normals(kBase, n);
    double sum = 0, sum2 = 0, sum3 = 0, sum4 = 0;
    for (const float v : z) {
        const double d = v;
        sum += d;
        sum2 += d * d;
        sum3 += d * d * d;
        sum4 += d * d * d * d;
    }
    const double nd = static_cast<double>(n);
    EXPECT_NEAR(sum / nd, 0.0, 5 / std::sqrt(nd));
    EXPECT_NEAR(sum2 / nd, 1.0, 5 * std::sqrt(2 / nd));
    EXPECT_NEAR(sum3 / nd, 0.0, 5 * std::sqrt(15 / nd));   // skewness
    EXPECT_NEAR(sum4 / nd, 3.0, 5 * std::sqrt(96 / nd));   // kurtosis: var(z^4) = 105 - 9
}

// Kolmogorov-Smirnov against Phi at n = 10^6: critical value sqrt(-ln(alpha/2)/2)/sqrt(n) for
// alpha = 10^-6, i.e. 2.694e-3.
TEST(Rng, NormalKolmogorovSmirnov) {
    const size_t n = 1000000;
    const RngStream s{kBase.seed, 11, 2, RngRole::ReadNoise};
    std::vector<float> z = normals(s, n, 5);
    std::sort(z.begin(), z.end());
    double d = 0;
    const double nd = static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) {
        const double f = normal_cdf(z[i]);
        d = std::max({d, f - static_cast<double>(i) / nd, static_cast<double>(i + 1) / nd - f});
    }
    EXPECT_LT(d, std::sqrt(-std::log(1e-6 / 2) / 2) / std::sqrt(nd));
}

// Tail frequencies beyond 3 and 4 sigma at n = 4 * 10^6 (4-wide path), within 5 binomial standard
// deviations; nothing beyond the largest representable |z|.
TEST(Rng, NormalTailFrequencies) {
    const size_t blocks = 1000000, n = 4 * blocks;
    const RngStream s{kBase.seed, 0, 1, RngRole::Drift};
    size_t beyond3 = 0, beyond4 = 0;
    float max_abs = 0;
    for (size_t b = 0; b < blocks; ++b) {
        const Float4 z = s.normal4(b);
        for (const float v : z.v) {
            const float a = std::fabs(v);
            beyond3 += a > 3.0f;
            beyond4 += a > 4.0f;
            max_abs = std::max(max_abs, a);
        }
    }
    const double nd = static_cast<double>(n);
    const double p3 = std::erfc(3 / std::sqrt(2.0)), p4 = std::erfc(4 / std::sqrt(2.0));
    EXPECT_NEAR(static_cast<double>(beyond3), nd * p3, 5 * std::sqrt(nd * p3 * (1 - p3)));
    EXPECT_NEAR(static_cast<double>(beyond4), nd * p4, 5 * std::sqrt(nd * p4 * (1 - p4)));
    EXPECT_LE(max_abs, std::bit_cast<float>(0x40cad08eu));  // |normal_from_bits(0)|
}

// ------------------------------------------------------------------ independence

// Changing any one coordinate of the tuple gives an unrelated stream: |correlation| < 5/sqrt(n),
// and the values are not equal. Neighbouring elements and blocks are uncorrelated too.
TEST(Rng, DistinctStreamsAreUncorrelated) {
    const size_t n = 100000;
    const double tol = 5 / std::sqrt(static_cast<double>(n));
    const std::vector<float> base = normals(kBase, n);
    struct Variant {
        const char* what;
        std::vector<float> z;
    };
    const Variant variants[] = {
        {"seed", normals({kBase.seed + 1, kBase.trial, kBase.layer, kBase.role}, n)},
        {"seed high word", normals({kBase.seed ^ (uint64_t{1} << 32), kBase.trial, kBase.layer, kBase.role}, n)},
        {"trial", normals({kBase.seed, kBase.trial + 1, kBase.layer, kBase.role}, n)},
        {"layer", normals({kBase.seed, kBase.trial, kBase.layer + 1, kBase.role}, n)},
        {"role", normals({kBase.seed, kBase.trial, kBase.layer, RngRole::ReadNoise}, n)},
        {"sample", normals(kBase, n, 1)},
        {"element + 1", normals(kBase, n, 0, 1)},
        {"element + 4", normals(kBase, n, 0, 4)},
        {"element + 2^32", normals(kBase, n, 0, uint64_t{1} << 32)},
    };
    for (const Variant& v : variants) {
        EXPECT_LT(std::fabs(correlation(base, v.z)), tol) << v.what;
        size_t equal = 0;
        for (size_t i = 0; i < n; ++i) equal += base[i] == v.z[i];
        EXPECT_LT(equal, 10u) << v.what;
    }
}

// The 4-wide path gives exactly the scalar values (same words, same rounding).
TEST(Rng, ScalarAndFourWidePathsAgree) {
    const RngStream s{kBase.seed, 1, 2, RngRole::ReadNoise};
    for (uint64_t b = 0; b < 100000; ++b) {
        const uint64_t block = b * 7919;  // spread over the element range
        const Float4 u = s.uniform4(block, 9), z = s.normal4(block, 9);
        const Philox4x32 w = s.bits4(block, 9);
        for (uint32_t l = 0; l < 4; ++l) {
            ASSERT_EQ(w.v[l], s.bits(4 * block + l, 9));
            ASSERT_EQ(bits_of(u.v[l]), bits_of(s.uniform(4 * block + l, 9))) << block << " " << l;
            ASSERT_EQ(bits_of(z.v[l]), bits_of(s.normal(4 * block + l, 9))) << block << " " << l;
        }
    }
}

// Values depend only on the tuple: computing them in a shuffled order or split over threads
// gives the same bits as in order.
TEST(Rng, IndependentOfOrderAndThreads) {
    const size_t n = 200000;
    const RngStream s{kBase.seed, 4, 5, RngRole::Programming};
    const std::vector<float> in_order = normals(s, n, 3);

    std::vector<size_t> perm(n);
    std::iota(perm.begin(), perm.end(), size_t{0});
    std::shuffle(perm.begin(), perm.end(), std::mt19937_64(7));
    std::vector<float> shuffled(n);
    for (const size_t i : perm) shuffled[i] = s.normal(i, 3);

    std::vector<float> threaded(n);
    std::vector<std::thread> pool;
    const size_t threads = 4;
    for (size_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (size_t i = t; i < n; i += threads) threaded[i] = s.normal(i, 3);
        });
    for (std::thread& th : pool) th.join();

    for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(bits_of(shuffled[i]), bits_of(in_order[i])) << i;
        ASSERT_EQ(bits_of(threaded[i]), bits_of(in_order[i])) << i;
    }
}

// ------------------------------------------------------------------ host vs device

// Skips unless the build has CUDA and a device is present; there every value must match the
// host's bit for bit.
bool gpu_available(std::string* why) {
    const xbarsim::CudaStatus st = xbarsim::cuda_status();
    if (!st.built) {
        *why = "CUDA not built";
        return false;
    }
    if (st.devices.empty()) {
        *why = "no CUDA device: " + st.note;
        return false;
    }
    return true;
}

TEST(Rng, HostDeviceBitIdenticalStreams) {
    std::string why;
    if (!gpu_available(&why)) GTEST_SKIP() << why;
    const struct {
        RngStream s;
        uint64_t first;
        size_t n;
    } cases[] = {
        {kBase, 0, 1 << 20},
        {{kBase.seed, 17, 3, RngRole::ReadNoise}, 3, 1000001},  // partial blocks at both ends
        {{~uint64_t{0}, 0xffffffffu, RngStream::kMaxLayers - 1, RngRole::DriftCompensation},
         RngStream::kMaxElements - 100003, 100003},
    };
    for (const auto& c : cases) {
        std::vector<float> du(c.n), dz(c.n);
        std::string error;
        ASSERT_TRUE(xbarsim::cuda_rng_fill(c.s, c.first, c.n, du.data(), dz.data(), &error)) << error;
        size_t bad_u = 0, bad_z = 0, first_bad = c.n;
        for (size_t i = 0; i < c.n; ++i) {
            const bool bu = bits_of(du[i]) != bits_of(c.s.uniform(c.first + i));
            const bool bz = bits_of(dz[i]) != bits_of(c.s.normal(c.first + i));
            bad_u += bu;
            bad_z += bz;
            if ((bu || bz) && first_bad == c.n) first_bad = i;
        }
        EXPECT_EQ(bad_u, 0u) << "first mismatch at element " << c.first + first_bad;
        EXPECT_EQ(bad_z, 0u) << "first mismatch at element " << c.first + first_bad;
    }
}

TEST(Rng, HostDeviceBitIdenticalTransforms) {
    std::string why;
    if (!gpu_available(&why)) GTEST_SKIP() << why;
    // Every 61st word, the ends of the range, and the neighbourhood of the branch switch.
    std::vector<uint32_t> words;
    for (uint64_t x = 0; x < (uint64_t{1} << 32); x += 61) words.push_back(static_cast<uint32_t>(x));
    for (uint32_t d = 0; d < 4096; ++d) {
        words.push_back(d);
        words.push_back(~d);
        words.push_back(0x7fffffffu - d);
        words.push_back(0x80000000u + d);
        words.push_back(0x7fffffffu - (1825361100u - 2048u + d));
        words.push_back(~(0x7fffffffu - (1825361100u - 2048u + d)));
    }
    std::vector<float> du(words.size()), dz(words.size());
    std::string error;
    ASSERT_TRUE(xbarsim::cuda_rng_transform(words.data(), words.size(), du.data(), dz.data(), &error)) << error;
    size_t bad = 0;
    uint32_t first_bad = 0;
    for (size_t i = 0; i < words.size(); ++i) {
        if (bits_of(du[i]) != bits_of(uniform_from_bits(words[i])) ||
            bits_of(dz[i]) != bits_of(normal_from_bits(words[i]))) {
            if (bad++ == 0) first_bad = words[i];
        }
    }
    EXPECT_EQ(bad, 0u) << "first mismatching word 0x" << std::hex << first_bad;
}

// Without a device the fill reports why instead of failing.
TEST(Rng, DeviceFillReportsWhyWhenUnavailable) {
    std::string why;
    if (gpu_available(&why)) GTEST_SKIP() << "a GPU is present";
    float u = 0, z = 0;
    std::string error;
    EXPECT_FALSE(xbarsim::cuda_rng_fill(kBase, 0, 1, &u, &z, &error));
    EXPECT_FALSE(error.empty());
}

}  // namespace
