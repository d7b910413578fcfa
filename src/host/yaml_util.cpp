#include "xbarsim/yaml_util.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "xbarsim/error.hpp"

namespace xbarsim {

namespace {

// A YAML input larger than this is not a config, ranges, technology or dataset file: it is a
// wrong path (a device such as /dev/zero, a data file). Reading stops there instead of filling
// the memory.
constexpr std::streamsize kMaxYamlBytes = std::streamsize{64} << 20;

// The whole file as text. Directories, unreadable files and endless devices are errors naming
// the path (reading a directory through a filebuf throws a bare "Is a directory" otherwise).
std::string read_yaml_text(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not a YAML file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file");
    std::string text;
    errno = 0;
    try {
        char buf[1 << 16];
        while (in.read(buf, sizeof buf) || in.gcount() > 0) {
            text.append(buf, static_cast<size_t>(in.gcount()));
            if (static_cast<std::streamsize>(text.size()) > kMaxYamlBytes)
                throw Error(path + ": larger than 64 MiB, not a YAML file");
        }
        if (in.bad()) throw Error(path + ": cannot read file (" + std::strerror(errno) + ")");
    } catch (const std::ios_base::failure&) {
        throw Error(path + ": cannot read file (" + std::strerror(errno) + ")");
    }
    return text;
}

}  // namespace

YAML::Node load_yaml_file(const std::string& path) {
    const std::string text = read_yaml_text(path);
    try {
        return YAML::Load(text);
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

std::string yaml_key(const std::string& file, const YAML::Node& key, const std::string& section) {
    // yaml-cpp accepts any node as a key ("[a]: 1"); every xbarsim key is a plain name.
    if (!key.IsScalar()) {
        const std::string where = section.empty() ? "at the top level" : "in '" + section + "'";
        throw Error(yaml_where(file, key) + ": key " + where + " must be a plain string, got a " +
                    (key.IsSequence() ? "list" : key.IsMap() ? "mapping" : "null"));
    }
    return key.Scalar();
}

void yaml_check_unique_keys(const std::string& file, const YAML::Node& map, const std::string& section) {
    if (!map.IsDefined() || !map.IsMap()) return;
    // yaml-cpp keeps one of two equal keys silently: which value wins would be an accident.
    std::map<std::string, YAML::Node> seen;
    for (const auto& kv : map) {
        const std::string name = yaml_key(file, kv.first, section);
        const auto [it, inserted] = seen.emplace(name, kv.first);
        if (inserted) continue;
        yaml_fail(file, kv.first, section.empty() ? name : section + "." + name,
                  "duplicate key (also at line " + std::to_string(it->second.Mark().line + 1) + ")");
    }
}

void yaml_check_keys(const std::string& file, const YAML::Node& map, const std::string& section,
                     std::initializer_list<std::string_view> allowed) {
    if (!map.IsDefined() || map.IsNull()) return;
    yaml_require_map(file, map, section.empty() ? "<root>" : section);
    yaml_check_unique_keys(file, map, section);
    for (const auto& kv : map) {
        const std::string name = yaml_key(file, kv.first, section);
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

namespace {

std::string number_text(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace

int64_t yaml_int_in(const std::string& file, const YAML::Node& map, const std::string& key, int64_t fallback, int64_t lo,
                    int64_t hi, const std::string& section) {
    const int64_t v = yaml_int(file, map, key, fallback, section);
    if (v < lo || v > hi) {
        const YAML::Node n = child(file, map, key);
        yaml_fail(file, present(n) ? n : map, section.empty() ? key : section + "." + key,
                  "must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
    }
    return v;
}

double yaml_number_in(const std::string& file, const YAML::Node& map, const std::string& key, double fallback, double lo,
                      double hi, const std::string& section) {
    const double v = yaml_number(file, map, key, fallback, section);
    if (!(v >= lo && v <= hi)) {  // also rejects nan; inf is outside any finite bound
        const YAML::Node n = child(file, map, key);
        yaml_fail(file, present(n) ? n : map, section.empty() ? key : section + "." + key,
                  "must be a finite number in [" + number_text(lo) + ", " + number_text(hi) + "], got " + number_text(v));
    }
    return v;
}

float yaml_as_float(const std::string& file, const YAML::Node& node, const std::string& key, double v) {
    const auto f = static_cast<float>(v);
    if (!std::isfinite(v) || !std::isfinite(f))
        yaml_fail(file, node, key, "must be a finite number within float range (|x| < 3.4e38), got " + number_text(v));
    return f;
}

}  // namespace xbarsim
