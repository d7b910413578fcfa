#pragma once
// Strict YAML reading: every error names the file, the key and the line (1-based), unknown keys
// are errors (a typo must never be silently ignored), and wrong types are reported, not coerced.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace xbarsim {

// Loads and parses a YAML file. Throws Error "<file>:<line>:<col>: YAML syntax error: ...",
// "<file>: cannot open file", "<file>: is a directory, not a YAML file", "<file>: cannot read
// file (...)" or, past 64 MiB (a device such as /dev/zero, a data file), "<file>: larger than ...".
YAML::Node load_yaml_file(const std::string& path);

// Where a node sits in its file: "<file>:<line>" (line 1-based), or "<file>" when unknown.
std::string yaml_where(const std::string& file, const YAML::Node& node);

// Throws Error("<file>:<line>: key '<key>': <message>").
[[noreturn]] void yaml_fail(const std::string& file, const YAML::Node& node, const std::string& key,
                            const std::string& message);

// A map key as a string; a key that is a list, mapping or null ("[a]: 1") fails naming its line
// and `section` (the dotted path of the map, "" for the root).
std::string yaml_key(const std::string& file, const YAML::Node& key, const std::string& section);

// Fails on a key given twice in `map`, naming both lines (yaml-cpp keeps one silently).
// Non-string keys fail as in yaml_key.
void yaml_check_unique_keys(const std::string& file, const YAML::Node& map, const std::string& section);

// Fails on a non-string or duplicate key (as above), then on the first key of `map` that is not
// in `allowed`, naming it, its line and the allowed keys. `section` is the dotted path of the map for the message ("" for the root).
void yaml_check_keys(const std::string& file, const YAML::Node& map, const std::string& section,
                     std::initializer_list<std::string_view> allowed);

// Requires `node` to be a map (or null/absent, which counts as empty).
void yaml_require_map(const std::string& file, const YAML::Node& node, const std::string& key);

// Typed accessors. `key` is looked up in `map`; a missing key returns `fallback` (optional) or
// fails (required). A value of the wrong type fails with the key's line. `section` is the dotted
// path of `map` ("run", "layers.conv1"), so that messages name the full key ("run.batch_size").
double yaml_number(const std::string& file, const YAML::Node& map, const std::string& key, double fallback,
    const std::string& section = "");
double yaml_number_required(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section = "");
int64_t yaml_int(const std::string& file, const YAML::Node& map, const std::string& key, int64_t fallback,
    const std::string& section = "");
int64_t yaml_int_required(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section = "");
bool yaml_bool(const std::string& file, const YAML::Node& map, const std::string& key, bool fallback,
    const std::string& section = "");
std::string yaml_string(const std::string& file, const YAML::Node& map, const std::string& key,
                        const std::string& fallback, const std::string& section = "");
std::string yaml_string_required(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section = "");
std::vector<double> yaml_number_list(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section = "");
std::vector<int64_t> yaml_int_list(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section = "");

// yaml_int, failing unless lo <= value <= hi (message names the key, its line and the bounds):
// every integer key has a bound, so that nothing is narrowed or wrapped after reading.
int64_t yaml_int_in(const std::string& file, const YAML::Node& map, const std::string& key, int64_t fallback, int64_t lo,
                    int64_t hi, const std::string& section = "");
// yaml_number, failing unless lo <= value <= hi (so nan and inf always fail).
double yaml_number_in(const std::string& file, const YAML::Node& map, const std::string& key, double fallback, double lo,
                      double hi, const std::string& section = "");
// `v`, read from `node` (for the message), as the float it will be stored in; fails unless it is
// finite there (1e300 would become inf). Range checks belong on the result: 1e-300 becomes 0.
float yaml_as_float(const std::string& file, const YAML::Node& node, const std::string& key, double v);

}  // namespace xbarsim
