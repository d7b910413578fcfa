#pragma once
// Option checks with plain messages. CLI11's PositiveNumber/NonNegativeNumber print their range up
// to the largest double ("Value 0 not in range 0.000000 to 1797693..."), accept fractions for
// integer options, and let out-of-range integers saturate; these do none of that.
#include <CLI/CLI.hpp>

namespace xbarsim::cli {

// An integer >= 1 that fits int64 ("--batch 0", "--batch 1.5", "--batch abc" are errors).
CLI::Validator positive_integer();
// An integer >= 0 that fits int64.
CLI::Validator non_negative_integer();
// An integer in [lo, hi] (the bounds the config file applies to the same setting).
CLI::Validator integer_in(long long lo, long long hi);
// A path or name that is not empty (`--out ''` would otherwise mean "no output" without a word).
CLI::Validator non_empty();
// A finite number >= 0 that a float holds (times in seconds: drift).
CLI::Validator non_negative_float_seconds();

}  // namespace xbarsim::cli
