#pragma once
// Division by a run-time constant without a division instruction, for the index arithmetic of
// memory-bound GPU kernels (im2col, scatters, the analog epilogues). A 32-bit integer division
// costs a GPU some twenty instructions and these kernels divide several times per element; a
// multiply-high and a shift do the same for every dividend below 2^31.
//
// Method (round-up multiplier): for d >= 2 and L = ceil(log2 d), p = 31 + L, the multiplier is
// m = ceil(2^p / d) and q = floor(n m / 2^p). With m d = 2^p + e, 0 <= e < d <= 2^L, the error
// term n e / (d 2^p) stays below 1/d for every n < 2^31, so q = floor(n / d) exactly. m < 2^32
// fits 32 bits, and floor(n m / 2^p) is the high word of the 64-bit product shifted by p - 32.
// d = 1 is the identity (m would need 33 bits). Host and device share the code, so the host
// tests exercise the device arithmetic.
#include <stdint.h>

#include "xbarsim/analog/hd.hpp"

namespace xbarsim {

struct FastDivmod {
    uint32_t divisor = 1;
    uint32_t multiplier = 0;  // 0: divisor 1
    uint32_t shift = 0;       // p - 32

    FastDivmod() = default;
    // `d` in [1, 2^31 - 1].
    explicit FastDivmod(int32_t d) : divisor(static_cast<uint32_t>(d)) {
        if (divisor <= 1) return;
        uint32_t log2_ceil = 0;
        while ((uint64_t{1} << log2_ceil) < divisor) ++log2_ceil;
        const uint32_t p = 31 + log2_ceil;
        multiplier = static_cast<uint32_t>(((uint64_t{1} << p) + divisor - 1) / divisor);
        shift = p - 32;
    }

    // floor(n / divisor) for 0 <= n < 2^31.
    XBARSIM_HD int32_t div(int32_t n) const {
        if (multiplier == 0) return n;
        const auto un = static_cast<uint32_t>(n);
#if defined(__CUDA_ARCH__)
        return static_cast<int32_t>(__umulhi(un, multiplier) >> shift);
#else
        return static_cast<int32_t>(static_cast<uint32_t>((static_cast<uint64_t>(un) * multiplier) >> 32) >> shift);
#endif
    }

    // Quotient and remainder of n / divisor, 0 <= n < 2^31.
    XBARSIM_HD int32_t divmod(int32_t n, int32_t& remainder) const {
        const int32_t q = div(n);
        remainder = n - q * static_cast<int32_t>(divisor);
        return q;
    }
};

}  // namespace xbarsim

namespace xbarsim {

// Splits flat indices t < `count` of a [rows x m] layout into (t / m, t % m): with FastDivmod
// where every index fits 31 bits, with 64-bit division otherwise.
struct IndexSplit {
    int64_t m = 1;
    FastDivmod fast;
    bool fits = false;

    IndexSplit() = default;
    IndexSplit(int64_t m_, int64_t count) : m(m_ > 0 ? m_ : 1) {
        fits = count <= int64_t{2147483647} && m <= int64_t{2147483647};
        if (fits) fast = FastDivmod(static_cast<int32_t>(m));
    }

    XBARSIM_HD void split(int64_t t, int64_t& row, int64_t& col) const {
        if (fits) {
            int32_t r = 0;
            row = fast.divmod(static_cast<int32_t>(t), r);
            col = r;
        } else {
            row = t / m;
            col = t % m;
        }
    }
};

}  // namespace xbarsim
