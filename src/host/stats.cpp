#include "xbarsim/stats.hpp"

#include <cmath>

namespace xbarsim {

double student_t975(int dof) {
    // Exact table (to 3 decimals) for small samples; beyond 30 the normal quantile with the
    // first Cornish-Fisher correction is within 1e-3.
    static const double table[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                   2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                                   2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (dof < 1) return 0.0;
    if (dof <= 30) return table[dof];
    const double z = 1.959964;
    return z + (z * z * z + z) / (4.0 * dof);
}

TrialSummary summarize(const std::vector<double>& v) {
    TrialSummary s;
    s.n = static_cast<int>(v.size());
    if (v.empty()) return s;
    for (double x : v) s.mean += x;
    s.mean /= static_cast<double>(v.size());
    if (v.size() > 1) {
        double ss = 0.0;
        for (double x : v) ss += (x - s.mean) * (x - s.mean);
        s.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
    }
    const double half = student_t975(s.n - 1) * s.std / std::sqrt(static_cast<double>(s.n));
    s.ci95_low = s.mean - half;
    s.ci95_high = s.mean + half;
    return s;
}

}  // namespace xbarsim
