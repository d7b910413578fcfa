#pragma once
// Counter-based random numbers shared by the CPU backend and the CUDA kernels (ARCHITECTURE §3).
//
// Every draw is a pure function of (seed, trial, layer, role, element, sample): no state, no
// sequence, so results do not depend on batch size, thread count, call order or backend, and the
// host and the device produce bit-identical values.
//
// Generator: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as
// 1, 2, 3", SC'11), the generator of Random123 and of cuRAND's CURAND_RNG_PSEUDO_PHILOX4_32_10.
// One call maps a 128-bit counter and a 64-bit key to four 32-bit words.
//
// Stream layout (one Philox call yields the words of four consecutive elements):
//   key     = (seed & 0xffffffff, seed >> 32)
//   counter = (element >> 2,  sample,  trial,  (layer << 8) | role)
//   word    = output[element & 3]
// Distinct (seed, trial, layer, role, element, sample) never share a word as long as
//   element < 2^34 (kMaxElements), sample < 2^32, trial < 2^32, layer < 2^24 (kMaxLayers),
//   role < 2^8;
// beyond those limits the indices wrap (element bits 34+ and layer bits 24+ are dropped) and
// streams collide. Use `element` for the position inside the layer (cell, weight slice, array,
// output column, ...) and `sample` for what repeats over it: for per-MVM read noise the global
// index of the matrix-vector product (dataset sample x positions x input slices, never an index
// inside a batch, or results would depend on the batch size); programming error and drift use
// sample 0 (or an evaluation-time index).
//
// cuRAND correspondence: the key is cuRAND's (curand_init(seed, ...) and the host generator's
// curandSetPseudoRandomGeneratorSeed); the raw words of philox4x32_10 are those of
// curand_Philox4x32_10. The cuRAND *host* generator (CUDA 13.0, default ordering) puts its
// output word w = offset + i at counter (lo32(b >> 16), hi32(b >> 16), b & 0xffff, 0), lane w & 3,
// with b = w / 4, i.e. 65536 subsequences interleaved block by block. A stream with layer 0, role 0, sample 0 and
// trial t < 65536 therefore reproduces the host generator's words 4*(65536*j + t) + lane for
// element 4*j + lane (tests/test_rng.cpp checks both). cuRAND's own float and normal transforms
// (curand_uniform, Box-Muller curand_normal) are NOT used: they are not bit-identical between
// host and device, and theirs differ from ours.
//
// Transforms of one 32-bit word x (a uniform() and a normal() of the same tuple come from the
// same word, normal = Phi^-1(uniform) up to rounding: never draw both for one purpose from one
// tuple; use another role or sample):
//  - uniform_from_bits: (floor(x / 2^9) + 1/2) / 2^23, exact, in [2^-24, 1 - 2^-24]: never 0 or 1,
//    2^23 equally likely values symmetric about 1/2 (mean exactly 1/2).
//  - normal_from_bits: the inverse normal CDF Phi^-1(p) of p = (x + 1/2) / 2^32 by Wichura's
//    algorithm AS 241 (Applied Statistics 37, 1988), PPND7 (single-precision coefficients), with
//    our own logarithm. p never reaches 0 or 1, so |z| <= 6.33796 (-Phi^-1(2^-33)); one word -> one
//    value, no rejection, odd symmetry exactly: normal_from_bits(~x) == -normal_from_bits(x).
//    Maximum error against the exact Phi^-1 of the same p, measured over all 2^32 words
//    (Newton iteration on erfcl in long double as the reference): 4.3e-7 relative in the central
//    branch (|q| <= 0.425), 4.1e-7 in the tail branch; PPND7 itself contributes 4.6e-8 and 1.2e-7,
//    float rounding the rest. The map is monotone only up to that rounding (neighbouring words
//    may come out 1 ulp out of order).
// Both are built only from the exactly rounded operations of hd.hpp (+ - * / sqrt, integer to
// float conversion, bit casts) with no operation that a compiler may fuse, so the host and the
// device round identically (see hd.hpp for the compiler rules). All intermediates stay normal
// numbers (>= 2^-68), so flush-to-zero modes do not change results either.
#include <stdint.h>

#include "xbarsim/analog/hd.hpp"

namespace xbarsim {

// What a draw is for. The numeric values are part of the stream layout: changing one changes
// every result for a given seed, so only append. Values must stay below 256.
enum class RngRole : uint32_t {
    Programming = 1,           // programming error, once per chip instance (trial)
    Drift = 2,                 // drift exponent nu, once per chip instance
    ReadNoise = 3,             // cycle-to-cycle read noise, per MVM (sample = MVM index)
    AdcRounding = 4,           // ADC stochastic rounding
    DacRounding = 5,           // DAC / input stochastic rounding
    AccumulatedReadNoise = 6,  // PCM 1/f noise accumulated up to a read time, per chip instance
    DriftCompensation = 7,     // reference reads for global drift compensation
};

// Four 32-bit words: a Philox counter or its output (x, y, z, w of CUDA's uint4 are v[0..3]).
struct Philox4x32 {
    uint32_t v[4];
};
// A Philox key (CUDA's uint2: x = v[0], y = v[1]).
struct PhiloxKey {
    uint32_t v[2];
};
// Four floats, for the 4-wide paths.
struct Float4 {
    float v[4];
};

// Philox4x32-10: 10 rounds of the Philox S-box with the Weyl key schedule.
XBARSIM_HD Philox4x32 philox4x32_10(Philox4x32 ctr, PhiloxKey key) {
    constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
    constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // key increments (golden ratio, sqrt(3)-1)
    uint32_t c0 = ctr.v[0], c1 = ctr.v[1], c2 = ctr.v[2], c3 = ctr.v[3];
    uint32_t k0 = key.v[0], k1 = key.v[1];
    for (int round = 0; round < 10; ++round) {
        const uint32_t hi0 = hd::mulhi_u32(kM0, c0), lo0 = kM0 * c0;
        const uint32_t hi1 = hd::mulhi_u32(kM1, c2), lo1 = kM1 * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += kW0;
        k1 += kW1;
    }
    return Philox4x32{{c0, c1, c2, c3}};
}

// ------------------------------------------------------------------ word -> float transforms

// Uniform in the open interval (0, 1): (floor(x / 2^9) + 1/2) * 2^-23, exact.
XBARSIM_HD float uniform_from_bits(uint32_t x) {
    return hd::mul(hd::add(hd::u32_to_float(x >> 9), 0.5f), 0x1p-23f);
}

namespace rng_detail {

// ln(v * 2^-33) for 1 <= v < 2^32, about 1 ulp (v is rounded to float, 24 bits; hd::log_from_bits).
XBARSIM_HD float log_scaled_u32(uint32_t v) { return hd::log_from_bits(hd::float_bits(hd::u32_to_float(v)), -33); }

// Horner evaluation, highest coefficient first.
XBARSIM_HD float horner4(float x, float c3, float c2, float c1, float c0) {
    return hd::add(hd::mul(hd::add(hd::mul(hd::add(hd::mul(c3, x), c2), x), c1), x), c0);
}
XBARSIM_HD float horner3(float x, float c2, float c1, float c0) {
    return hd::add(hd::mul(hd::add(hd::mul(c2, x), c1), x), c0);
}

}  // namespace rng_detail

// Standard normal: Phi^-1((x + 1/2) / 2^32) by AS 241 PPND7.
XBARSIM_HD float normal_from_bits(uint32_t x) {
    // p = min(u, 1 - u) = (k + 1/2) / 2^32 and |q| = |u - 1/2| = (kc + 1/2) / 2^32, both from
    // integers, so neither loses precision to cancellation.
    const bool upper = (x & 0x80000000u) != 0;
    const uint32_t k = upper ? ~x : x;  // < 2^31
    const uint32_t kc = 0x7fffffffu - k;
    const float q = hd::mul(hd::u32_to_float(2u * kc + 1u), 0x1p-33f);  // |q| in (0, 1/2)
    float z;
    if (q <= 0.425f) {
        const float r = hd::sub(0.180625f, hd::mul(q, q));
        const float num = rng_detail::horner4(r, 59.109374720f, 159.29113202f, 50.434271938f, 3.3871327179f);
        const float den = rng_detail::horner4(r, 67.187563600f, 78.757757664f, 17.895169469f, 1.0f);
        z = hd::div(hd::mul(q, num), den);
    } else {
        // p < 0.075, so r = sqrt(-ln p) is in (1.609, 4.783]: AS 241's r <= 5 branch; the r > 5
        // branch (p < 1.4e-11) cannot occur since p >= 2^-33.
        const float lnp = rng_detail::log_scaled_u32(2u * k + 1u);
        const float r = hd::sub(hd::sqrt(-lnp), 1.6f);
        const float num = rng_detail::horner4(r, 0.17023821103f, 1.3067284816f, 2.7568153900f, 1.4234372777f);
        const float den = rng_detail::horner3(r, 0.12021132975f, 0.73700164250f, 1.0f);
        z = hd::div(num, den);
    }
    return upper ? z : -z;
}

// ------------------------------------------------------------------ streams

struct RngStream {
    static constexpr uint64_t kMaxElements = uint64_t{1} << 34;
    static constexpr uint32_t kMaxLayers = uint32_t{1} << 24;

    uint64_t seed = 0;
    uint32_t trial = 0;
    uint32_t layer = 0;
    RngRole role = RngRole::Programming;

    XBARSIM_HD PhiloxKey key() const {
        return PhiloxKey{{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
    }
    // Counter of the Philox block holding elements 4*block .. 4*block + 3.
    XBARSIM_HD Philox4x32 counter(uint64_t block, uint32_t sample = 0) const {
        return Philox4x32{{static_cast<uint32_t>(block), sample, trial,
                           (layer << 8) | (static_cast<uint32_t>(role) & 0xffu)}};
    }
    // The four raw words of elements 4*block .. 4*block + 3.
    XBARSIM_HD Philox4x32 bits4(uint64_t block, uint32_t sample = 0) const {
        return philox4x32_10(counter(block, sample), key());
    }
    // The raw word of one element. The lane is picked by selects, not by indexing the words: an
    // indexed lane keeps them in memory (GPU local memory; on the CPU it stops GCC vectorizing
    // loops of draws over samples).
    XBARSIM_HD uint32_t bits(uint64_t element, uint32_t sample = 0) const {
        const Philox4x32 w = bits4(element >> 2, sample);
        const auto lane = static_cast<uint32_t>(element & 3u);
        return lane == 0 ? w.v[0] : lane == 1 ? w.v[1] : lane == 2 ? w.v[2] : w.v[3];
    }

    // Uniform in (0, 1), never 0 or 1.
    XBARSIM_HD float uniform(uint64_t element, uint32_t sample = 0) const {
        return uniform_from_bits(bits(element, sample));
    }
    // Standard normal.
    XBARSIM_HD float normal(uint64_t element, uint32_t sample = 0) const {
        return normal_from_bits(bits(element, sample));
    }
    // The values of elements 4*block .. 4*block + 3 from one Philox call, bit-identical to four
    // scalar calls: uniform4(b).v[i] == uniform(4*b + i), normal4(b).v[i] == normal(4*b + i).
    XBARSIM_HD Float4 uniform4(uint64_t block, uint32_t sample = 0) const {
        const Philox4x32 w = bits4(block, sample);
        return Float4{{uniform_from_bits(w.v[0]), uniform_from_bits(w.v[1]), uniform_from_bits(w.v[2]),
                       uniform_from_bits(w.v[3])}};
    }
    XBARSIM_HD Float4 normal4(uint64_t block, uint32_t sample = 0) const {
        const Philox4x32 w = bits4(block, sample);
        return Float4{{normal_from_bits(w.v[0]), normal_from_bits(w.v[1]), normal_from_bits(w.v[2]),
                       normal_from_bits(w.v[3])}};
    }

    // Whether layer and role fit the layout (element and sample limits are the caller's).
    XBARSIM_HD bool valid() const { return layer < kMaxLayers && static_cast<uint32_t>(role) < 256u; }
};

}  // namespace xbarsim
