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

void StreamingHistogram::add(const float* values, int64_t n) {
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
