#pragma once
// Summary statistics of Monte Carlo trials: mean, sample standard deviation and the 95 %
// confidence interval of the mean (Student's t with n - 1 degrees of freedom).
#include <vector>

namespace xbarsim {

struct TrialSummary {
    int n = 0;
    double mean = 0.0;
    double std = 0.0;        // sample standard deviation (n - 1); 0 for one trial
    double ci95_low = 0.0;   // mean -+ t(0.975, n-1) * std / sqrt(n); equal to the mean for one trial
    double ci95_high = 0.0;
};

TrialSummary summarize(const std::vector<double>& values);

// Two-sided 97.5 % quantile of Student's t distribution with `dof` degrees of freedom.
double student_t975(int dof);

}  // namespace xbarsim
