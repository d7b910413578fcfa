#include "xbarsim/yaml_util.hpp"

#include <cmath>
#include <fstream>

#include "xbarsim/error.hpp"

namespace xbarsim {

YAML::Node load_yaml_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open file");
    try {
        return YAML::Load(in);
    } catch (const YAML::ParserException& e) {
        throw Error(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                    ": YAML syntax error: " + e.msg);
    }
}

std::string yaml_where(const std::string& file, const YAML::Node& node) {
    if (!node.IsDefined() || node.Mark().is_null()) return file;
    return file + ":" + std::to_string(node.Mark().line + 1);
}

void yaml_fail(const std::string& file, const YAML::Node& node, const std::string& key, const std::string& message) {
    throw Error(yaml_where(file, node) + ": key '" + key + "': " + message);
}

void yaml_require_map(const std::string& file, const YAML::Node& node, const std::string& key) {
    if (node.IsDefined() && !node.IsNull() && !node.IsMap()) yaml_fail(file, node, key, "expected a mapping");
}

void yaml_check_keys(const std::string& file, const YAML::Node& map, const std::string& section,
                     std::initializer_list<std::string_view> allowed) {
    if (!map.IsDefined() || map.IsNull()) return;
    yaml_require_map(file, map, section.empty() ? "<root>" : section);
    for (const auto& kv : map) {
        const auto name = kv.first.as<std::string>();
        bool ok = false;
        for (auto a : allowed) ok = ok || a == name;
        if (ok) continue;
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        const std::string full = section.empty() ? name : section + "." + name;
        yaml_fail(file, kv.first, full, "unknown key (allowed here: " + list + ")");
    }
}

namespace {

// Looks up `key` in `map` and returns the value node (undefined when absent).
YAML::Node child(const std::string& file, const YAML::Node& map, const std::string& key) {
    if (!map.IsDefined() || map.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
    if (!map.IsMap()) yaml_fail(file, map, key, "parent is not a mapping");
    return map[key];
}

bool present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

double as_number(const std::string& file, const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) yaml_fail(file, n, key, "expected a number");
    try {
        return n.as<double>();
    } catch (const YAML::Exception&) {
        yaml_fail(file, n, key, "expected a number, got '" + n.Scalar() + "'");
    }
}

int64_t as_int(const std::string& file, const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) yaml_fail(file, n, key, "expected an integer");
    try {
        return n.as<int64_t>();
    } catch (const YAML::Exception&) {
        yaml_fail(file, n, key, "expected an integer, got '" + n.Scalar() + "'");
    }
}

}  // namespace

double yaml_number(const std::string& file, const YAML::Node& map, const std::string& key, double fallback,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    return present(n) ? as_number(file, n, full) : fallback;
}

double yaml_number_required(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    if (!present(n)) yaml_fail(file, map, full, "required key is missing");
    return as_number(file, n, full);
}

int64_t yaml_int(const std::string& file, const YAML::Node& map, const std::string& key, int64_t fallback,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    return present(n) ? as_int(file, n, full) : fallback;
}

int64_t yaml_int_required(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    if (!present(n)) yaml_fail(file, map, full, "required key is missing");
    return as_int(file, n, full);
}

bool yaml_bool(const std::string& file, const YAML::Node& map, const std::string& key, bool fallback,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    if (!present(n)) return fallback;
    if (!n.IsScalar()) yaml_fail(file, n, full, "expected true or false");
    try {
        return n.as<bool>();
    } catch (const YAML::Exception&) {
        yaml_fail(file, n, full, "expected true or false, got '" + n.Scalar() + "'");
    }
}

std::string yaml_string(const std::string& file, const YAML::Node& map, const std::string& key,
                        const std::string& fallback,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    if (!present(n)) return fallback;
    if (!n.IsScalar()) yaml_fail(file, n, full, "expected a string");
    return n.Scalar();
}

std::string yaml_string_required(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    if (!present(n)) yaml_fail(file, map, full, "required key is missing");
    if (!n.IsScalar()) yaml_fail(file, n, full, "expected a string");
    return n.Scalar();
}

std::vector<double> yaml_number_list(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    std::vector<double> out;
    if (!present(n)) return out;
    if (n.IsScalar()) return {as_number(file, n, full)};
    if (!n.IsSequence()) yaml_fail(file, n, full, "expected a number or a list of numbers");
    for (const auto& e : n) out.push_back(as_number(file, e, full));
    return out;
}

std::vector<int64_t> yaml_int_list(const std::string& file, const YAML::Node& map, const std::string& key,
    const std::string& section) {
    const std::string full = section.empty() ? key : section + "." + key;
    auto n = child(file, map, key);
    std::vector<int64_t> out;
    if (!present(n)) return out;
    if (!n.IsSequence()) yaml_fail(file, n, full, "expected a list of integers");
    for (const auto& e : n) out.push_back(as_int(file, e, full));
    return out;
}

}  // namespace xbarsim
