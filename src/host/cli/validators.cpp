#include "validators.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace xbarsim::cli {

namespace {

CLI::Validator integer_between(long long min, long long max, std::string what) {
    return CLI::Validator(
        [min, max, what](std::string& v) -> std::string {
            errno = 0;
            char* end = nullptr;
            const long long n = std::strtoll(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0') return "must be " + what + ", got '" + v + "'";
            if (errno == ERANGE) return "'" + v + "' is out of range";
            if (n < min || n > max) return "must be " + what + ", got " + v;
            return "";
        },
        "");
}

constexpr long long kInt64Max = std::numeric_limits<long long>::max();

}  // namespace

CLI::Validator positive_integer() { return integer_between(1, kInt64Max, "a positive integer"); }

CLI::Validator non_negative_integer() { return integer_between(0, kInt64Max, "an integer >= 0"); }

CLI::Validator integer_in(long long lo, long long hi) {
    return integer_between(lo, hi, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
}

CLI::Validator non_empty() {
    return CLI::Validator([](std::string& v) -> std::string { return v.empty() ? "must not be empty" : ""; }, "");
}

CLI::Validator non_negative_float_seconds() {
    return CLI::Validator(
        [](std::string& v) -> std::string {
            char* end = nullptr;
            const double t = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0') return "must be a number of seconds, got '" + v + "'";
            if (!std::isfinite(t) || t < 0.0 || t > std::numeric_limits<float>::max())
                return "must be a finite number of seconds >= 0, got " + v;
            return "";
        },
        "");
}

}  // namespace xbarsim::cli
