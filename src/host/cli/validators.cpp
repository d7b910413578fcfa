#include "validators.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace xbarsim::cli {

namespace {

CLI::Validator integer_at_least(long long min, const char* what) {
    return CLI::Validator(
        [min, what](std::string& v) -> std::string {
            errno = 0;
            char* end = nullptr;
            const long long n = std::strtoll(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0') return std::string("must be ") + what + ", got '" + v + "'";
            if (errno == ERANGE) return "'" + v + "' is out of range";
            if (n < min) return std::string("must be ") + what + ", got " + v;
            return "";
        },
        "");
}

}  // namespace

CLI::Validator positive_integer() { return integer_at_least(1, "a positive integer"); }

CLI::Validator non_negative_integer() { return integer_at_least(0, "an integer >= 0"); }

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
