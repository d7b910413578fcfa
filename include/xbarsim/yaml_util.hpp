#pragma once
// Strict YAML reading: every error names the file, the key and the line (1-based), unknown keys
// are errors (a typo must never be silently ignored), and wrong types are reported, not coerced.
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace xbarsim {

// Loads and parses a YAML file. Throws Error "<file>:<line>:<col>: YAML syntax error: ..." or
// "<file>: cannot open" on failure.
YAML::Node load_yaml_file(const std::string& path);

// Where a node sits in its file: "<file>:<line>" (line 1-based), or "<file>" when unknown.
std::string yaml_where(const std::string& file, const YAML::Node& node);

// Throws Error("<file>:<line>: key '<key>': <message>").
[[noreturn]] void yaml_fail(const std::string& file, const YAML::Node& node, const std::string& key,
                            const std::string& message);

// Fails on the first key of `map` that is not in `allowed`, naming it, its line and the
// allowed keys. `section` is the dotted path of the map for the message ("" for the root).
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

}  // namespace xbarsim
