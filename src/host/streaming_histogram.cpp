#include "xbarsim/streaming_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace xbarsim {

StreamingHistogram::StreamingHistogram(int bins) : bins_(static_cast<size_t>(std::max(bins, 2)), 0) {}

void StreamingHistogram::grow_to(double v) {
    if (top_ == 0.0) {
        top_ = v * 1.0001;  // the first scale: just above the first value
        return;
    }
    const size_t n = bins_.size();
    while (v >= top_) {  // double the range: bin i of the new histogram holds old bins 2i and 2i+1
        for (size_t i = 0; i < n / 2; ++i) bins_[i] = bins_[2 * i] + bins_[2 * i + 1];
        if (n % 2) bins_[n / 2] = bins_[n - 1];
        std::fill(bins_.begin() + static_cast<std::ptrdiff_t>((n + 1) / 2), bins_.end(), 0);
        top_ *= 2.0;
    }
}

namespace {

// Below this many values a call is binned on one thread (the pass over the values and the merge
// of per-thread bins cost more than they save).
constexpr int64_t kParallelValues = int64_t{1} << 15;
// Values whose bin numbers are computed before they are counted.
constexpr int64_t kBlock = 1024;

// slot[i] = the bin of |x[i]| in a histogram of `bins` bins over [0, top) (every finite |x[i]| <
// top), zero_slot for exact zeros, skip_slot for non-finite values. Returns whether a finite value
// is negative. A loop without stores to the bins, so that it vectorizes.
__attribute__((always_inline)) inline bool bin_slots_loop(const float* x, int64_t len, double top, double bins,
                                                          int32_t zero_slot, int32_t skip_slot, int32_t* slot) {
    const double last = bins - 1.0;
    int negative = 0;
    for (int64_t i = 0; i < len; ++i) {
        const double v = std::fabs(static_cast<double>(x[i]));
        const bool finite = std::isfinite(v);
        negative |= finite & (x[i] < 0.0f);
        // min() guards the rounding at the top; non-finite values get bin 0, then skip_slot.
        const auto b = static_cast<int32_t>(std::min(finite ? v / top * bins : 0.0, last));
        slot[i] = !finite ? skip_slot : v == 0.0 ? zero_slot : b;
    }
    return negative != 0;
}

// The same loop compiled for AVX2 where the CPU has it (GCC's target_clones leaves this loop
// scalar). Division and rounding are correctly rounded on any vector width: the same bins.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) bool bin_slots_avx2(const float* x, int64_t len, double top, double bins, int32_t zero_slot,
                                                         int32_t skip_slot, int32_t* slot) {
    return bin_slots_loop(x, len, top, bins, zero_slot, skip_slot, slot);
}
#endif

bool bin_slots(const float* x, int64_t len, double top, double bins, int32_t zero_slot, int32_t skip_slot, int32_t* slot) {
#if defined(__x86_64__) && defined(__GNUC__)
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2) return bin_slots_avx2(x, len, top, bins, zero_slot, skip_slot, slot);
#endif
    return bin_slots_loop(x, len, top, bins, zero_slot, skip_slot, slot);
}

}  // namespace

void StreamingHistogram::add(const float* values, int64_t n) {
    if (n >= kParallelValues) return add_parallel(values, n);
    const auto nb = static_cast<double>(bins_.size());
    for (int64_t i = 0; i < n; ++i) {
        const double v = std::fabs(static_cast<double>(values[i]));
        if (!std::isfinite(v)) continue;
        negative_ = negative_ || values[i] < 0.0f;
        ++count_;
        if (v == 0.0) {
            ++zeros_;
            continue;
        }
        if (v >= top_) grow_to(v);
        max_ = std::max(max_, v);
        const auto b = std::min(static_cast<size_t>(v / top_ * nb), bins_.size() - 1);
        ++bins_[b];
    }
}

// The same histogram as add() one value at a time: the scale is set as the first non-zero value
// sets it and grown to the largest value first. Growing merges bins 2i and 2i + 1, and binning at
// twice the range halves v / top exactly (a power of two), so a value binned before or after a
// growth lands in the same bin. Then each thread bins its share of the values.
void StreamingHistogram::add_parallel(const float* values, int64_t n) {
    double largest = 0.0;
#pragma omp parallel for reduction(max : largest) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        const double v = std::fabs(static_cast<double>(values[i]));
        if (std::isfinite(v)) largest = std::max(largest, v);
    }
    if (top_ == 0.0)
        for (int64_t i = 0; i < n; ++i) {
            const double v = std::fabs(static_cast<double>(values[i]));
            if (std::isfinite(v) && v != 0.0) {
                grow_to(v);
                break;
            }
        }
    if (largest > 0.0 && largest >= top_) grow_to(largest);
    max_ = std::max(max_, largest);
    const auto nb = static_cast<double>(bins_.size());
    int64_t skipped = 0;
#pragma omp parallel
    {
        // Per thread: bins, then a slot for exact zeros and one for non-finite values; each block
        // of values is binned, then counted.
        const auto zero_slot = static_cast<int32_t>(bins_.size()), skip_slot = zero_slot + 1;
        std::vector<int64_t> bins(bins_.size() + 2, 0);
        int32_t slot[kBlock];
        bool negative = false;
#pragma omp for schedule(static) nowait
        for (int64_t start = 0; start < n; start += kBlock) {
            const int64_t len = std::min(kBlock, n - start);
            negative |= bin_slots(values + start, len, top_, nb, zero_slot, skip_slot, slot);
            for (int64_t i = 0; i < len; ++i) ++bins[static_cast<size_t>(slot[i])];
        }
#pragma omp critical(streaming_histogram_add)
        {
            for (size_t b = 0; b < bins_.size(); ++b) bins_[b] += bins[b];
            zeros_ += bins[static_cast<size_t>(zero_slot)];
            skipped += bins[static_cast<size_t>(skip_slot)];
            negative_ = negative_ || negative;
        }
    }
    count_ += n - skipped;
}

void StreamingHistogram::merge(const StreamingHistogram& o) {
    // Re-add the other's bins at their centres: exact enough at the resolution of either.
    if (o.top_ > 0.0) grow_to(o.max_);
    const auto nb = static_cast<double>(o.bins_.size());
    for (size_t i = 0; i < o.bins_.size(); ++i) {
        if (!o.bins_[i]) continue;
        const double centre = (static_cast<double>(i) + 0.5) / nb * o.top_;
        const auto b = std::min(static_cast<size_t>(centre / top_ * static_cast<double>(bins_.size())), bins_.size() - 1);
        bins_[b] += o.bins_[i];
    }
    max_ = std::max(max_, o.max_);
    count_ += o.count_;
    zeros_ += o.zeros_;
    negative_ = negative_ || o.negative_;
}

double StreamingHistogram::percentile(double p) const {
    if (count_ == 0 || top_ == 0.0) return 0.0;
    if (p >= 100.0) return max_;
    const double target = p / 100.0 * static_cast<double>(count_);
    double seen = static_cast<double>(zeros_);
    if (seen >= target) return 0.0;
    const double width = top_ / static_cast<double>(bins_.size());
    for (size_t i = 0; i < bins_.size(); ++i) {
        const auto c = static_cast<double>(bins_[i]);
        if (seen + c >= target) {
            const double frac = c > 0 ? (target - seen) / c : 0.0;
            return std::min((static_cast<double>(i) + frac) * width, max_);
        }
        seen += c;
    }
    return max_;
}

double StreamingHistogram::mse_optimal_range(double levels, int candidates) const {
    if (count_ == 0 || top_ == 0.0 || levels <= 0.0 || candidates < 1) return max_;
    const double width = top_ / static_cast<double>(bins_.size());
    double best = max_, best_err = -1.0;
    for (int i = 1; i <= candidates; ++i) {
        const double c = max_ * static_cast<double>(i) / static_cast<double>(candidates);
        const double step = c / levels;
        double err = 0.0;  // exact zeros cost nothing: zero is a level of every quantizer here
        for (size_t b = 0; b < bins_.size(); ++b) {
            if (!bins_[b]) continue;
            const double v = (static_cast<double>(b) + 0.5) * width;
            const double e = v > c ? (v - c) * (v - c) : (v < 0.5 * step ? v * v : step * step / 12.0);
            err += static_cast<double>(bins_[b]) * e;
        }
        if (best_err < 0.0 || err < best_err) {
            best_err = err;
            best = c;
        }
    }
    return best;
}

}  // namespace xbarsim
