#pragma once
// Percentiles of |value| over a stream of any length in bounded memory: a linear histogram over
// [0, top) whose range doubles (merging neighbouring bins) whenever a larger value arrives. The
// resolution is top / bins <= 2 max|v| / bins, whatever the number of values.
#include <cstdint>
#include <vector>

namespace xbarsim {

class StreamingHistogram {
public:
    explicit StreamingHistogram(int bins = 8192);
    void add(const float* values, int64_t n);
    void add(float v) { add(&v, 1); }
    // The value below which `percentile` % of |values| lie (linear within a bin); 0 when empty.
    double percentile(double percentile) const;
    // The clipping range c that minimizes the expected squared error of a quantizer with
    // `levels` steps between 0 and c (step = c / levels) over the recorded |values|: values above
    // c cost (v - c)^2, values below cost step^2 / 12 (uniform rounding error), or v^2 where v
    // is under half a step (it rounds to zero). Searched over `candidates` ranges evenly spaced in
    // (0, max]. levels <= 0 (no quantization): max().
    double mse_optimal_range(double levels, int candidates = 512) const;
    double max() const { return max_; }
    int64_t count() const { return count_; }
    bool saw_negative() const { return negative_; }
    void merge(const StreamingHistogram& other);

private:
    void grow_to(double v);
    void add_parallel(const float* values, int64_t n);
    std::vector<int64_t> bins_;
    double top_ = 0.0;  // upper edge of the last bin; 0 until the first non-zero value
    double max_ = 0.0;
    int64_t count_ = 0;
    int64_t zeros_ = 0;  // exact zeros (e.g. after ReLU), kept apart so they never set the scale
    bool negative_ = false;
};

}  // namespace xbarsim
