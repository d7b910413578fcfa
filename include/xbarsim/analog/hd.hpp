#pragma once
// XBARSIM_HD marks the shared element-wise math that both backends compile: host and device
// under nvcc, plain inline functions in the C++ build.
//
// The xbarsim::hd functions below are the few float primitives whose results must be
// bit-identical on the host and the device. Each is one IEEE-754 binary32 operation rounded to
// nearest-even, written so that no compiler can fuse it with a neighbour:
//  - device: the __f*_rn intrinsics, which nvcc never contracts into an FMA and which ignore
//    -use_fast_math / -prec-div=false / -prec-sqrt=false (denormals may still be flushed under
//    -ftz=true, so code that must match bit for bit keeps its intermediates normal);
//  - host: the plain operators, with a contraction barrier on products (below). Code that needs
//    bit-identity calls these functions instead of writing a*b+c, and is never built with
//    -ffast-math (which also reassociates).
// hd::fma is the one deliberately fused operation: exactly rounded on both sides (std::fma is
// correctly rounded in glibc; it is a library call unless the target has FMA, e.g. -mfma).
#include <stdint.h>

#if !defined(__CUDA_ARCH__)
#include <bit>
#include <cmath>
#endif

#if defined(__CUDACC__)
#define XBARSIM_HD __host__ __device__ inline
#else
#define XBARSIM_HD inline
#endif

// GCC contracts a*b+c into an FMA by default in C++ (-ffp-contract=fast applies to C++ even with
// -std=c++NN; only ISO C turns it off) whenever the target has FMA instructions: x86-64 with -mfma
// or -march=haswell/native and later, AArch64 always. There hd::mul hides its product from the
// optimizer with an empty asm statement, so no flag (-ffp-contract, -march) changes a result.
// Without FMA instructions (plain x86-64) nothing can be fused and no barrier is needed.
#if !defined(__CUDA_ARCH__) && defined(__GNUC__)
#if defined(__FMA__) && (defined(__x86_64__) || defined(__i386__))
#define XBARSIM_HD_CONTRACTION_BARRIER_X86 1
#elif defined(__aarch64__)
#define XBARSIM_HD_CONTRACTION_BARRIER_ARM 1
#endif
#endif

namespace xbarsim::hd {

XBARSIM_HD float add(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

XBARSIM_HD float sub(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

XBARSIM_HD float mul(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    float p = a * b;
#if defined(XBARSIM_HD_CONTRACTION_BARRIER_X86)
    __asm__("" : "+x"(p));  // opaque to the optimizer: this product cannot become part of an FMA
#elif defined(XBARSIM_HD_CONTRACTION_BARRIER_ARM)
    __asm__("" : "+w"(p));
#endif
    return p;
#endif
}

XBARSIM_HD float div(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}

XBARSIM_HD float sqrt(float a) {
#if defined(__CUDA_ARCH__)
    return __fsqrt_rn(a);
#else
    return std::sqrt(a);
#endif
}

// a*b + c with a single rounding.
XBARSIM_HD float fma(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
    return __fmaf_rn(a, b, c);
#else
    return std::fma(a, b, c);
#endif
}

// Unsigned integer to float, rounded to nearest-even (exact below 2^24).
XBARSIM_HD float u32_to_float(uint32_t v) {
#if defined(__CUDA_ARCH__)
    return __uint2float_rn(v);
#else
    return static_cast<float>(v);
#endif
}

XBARSIM_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    return std::bit_cast<uint32_t>(f);
#endif
}

XBARSIM_HD float float_from_bits(uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(b);
#else
    return std::bit_cast<float>(b);
#endif
}

// High 32 bits of the 64-bit product a*b.
XBARSIM_HD uint32_t mulhi_u32(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// ln(x * 2^e_offset) for a positive normal float x given by its bits, about 1 ulp, identical on
// host and device (fdlibm's method): x = 2^e * m with m in (sqrt(1/2), sqrt(2)], ln m = ln(1 + f) =
// f - (f^2/2 - s (f^2/2 + R(s^2))), s = f / (2 + f), R the series of ln((1+s)/(1-s)) - 2s over s
// (truncation < 1e-9 for |s| <= 0.172), (e + e_offset) ln 2 in two parts (Cody-Waite). f = m - 1
// is exact (Sterbenz). The device models' log and the normal transform both use it.
XBARSIM_HD float log_from_bits(uint32_t b, int32_t e_offset) {
    int32_t e = static_cast<int32_t>(b >> 23) - 127;
    float m = float_from_bits((b & 0x007fffffu) | 0x3f800000u);  // [1, 2)
    if (m > 1.41421356f) {
        m = mul(m, 0.5f);
        e += 1;
    }
    const float f = sub(m, 1.0f);
    const float s = div(f, add(2.0f, f));
    const float w = mul(s, s);
    float r = 0.222222222f;          // 2/9
    r = add(0.285714286f, mul(w, r));  // 2/7
    r = add(0.4f, mul(w, r));          // 2/5
    r = add(0.666666667f, mul(w, r));  // 2/3
    r = mul(w, r);
    const float hfsq = mul(mul(0.5f, f), f);
    const float ln_m = sub(f, sub(hfsq, mul(s, add(hfsq, r))));
    const float ef = static_cast<float>(e + e_offset);  // exact small integer
    constexpr float kLn2Hi = 0.693145751953125f;        // 16 significant bits: ef * kLn2Hi is exact
    constexpr float kLn2Lo = 1.42860682e-6f;            // ln 2 - kLn2Hi
    return add(mul(ef, kLn2Hi), add(mul(ef, kLn2Lo), ln_m));
}

}  // namespace xbarsim::hd
