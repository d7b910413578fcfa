#include "xbarsim/device_config.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "xbarsim/error.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim {

using namespace analog;

namespace {

struct KindName {
    DeviceKind kind;
    const char* name;
};
constexpr KindName kKinds[] = {{DeviceKind::Ideal, "ideal"},
                               {DeviceKind::Generic, "generic"},
                               {DeviceKind::PCM, "pcm"},
                               {DeviceKind::RRAMWan2022, "rram_wan2022"},
                               {DeviceKind::RRAMMilo2021, "rram_milo2021"},
                               {DeviceKind::SONOS, "sonos"},
                               {DeviceKind::Custom, "custom"}};

std::string dotted(const std::string& section, const std::string& key) {
    return section.empty() ? key : section + "." + key;
}

bool present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// map[key], or an undefined node when `map` is absent (yaml-cpp throws on [] of a missing node).
YAML::Node at(const YAML::Node& map, const std::string& key) {
    return present(map) && map.IsMap() ? map[key] : YAML::Node(YAML::NodeType::Undefined);
}

// The node to point at: `n` when it is in the file, else `fallback` (its parent).
YAML::Node located(const YAML::Node& n, const YAML::Node& fallback) { return present(n) ? n : fallback; }

// Like yaml_check_keys, with a run-time list and the model named (allowed keys depend on it).
void check_keys(const std::string& file, const YAML::Node& map, const std::string& section,
                const std::vector<const char*>& allowed, const std::string& model) {
    if (!present(map)) return;
    yaml_require_map(file, map, section);
    yaml_check_unique_keys(file, map, section);
    for (const auto& kv : map) {
        const std::string name = yaml_key(file, kv.first, section);
        bool ok = false;
        for (const char* a : allowed) ok = ok || name == a;
        if (ok) continue;
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        yaml_fail(file, kv.first, dotted(section, name),
                  "unknown key for model '" + model + "' (allowed here: " + list + ")");
    }
}

// "v" for a message, with the float it is stored as when that reads differently ("1e-300 (0 as
// float)"), so that a check failing on the stored value explains itself.
std::string got_text(double v) {
    char a[32], b[32];
    std::snprintf(a, sizeof a, "%g", v);
    std::snprintf(b, sizeof b, "%g", static_cast<double>(static_cast<float>(v)));
    return std::string(a) == b ? std::string(a) : std::string(a) + " (" + b + " as float)";
}

// A number that must be finite and representable as float; `ok` checks the range, on the float
// that is stored (1e-300 µS is 0 there), and `rule` says it in the message ("must be ...").
template <class Pred>
float number(const std::string& file, const YAML::Node& map, const std::string& section, const std::string& key,
             double fallback, Pred ok, const std::string& rule) {
    const double v = yaml_number(file, map, key, fallback, section);
    const YAML::Node n = located(at(map, key), map);
    if (!std::isfinite(v) || !std::isfinite(static_cast<float>(v)))
        yaml_fail(file, n, dotted(section, key), "must be a finite number (float range)");
    const auto f = static_cast<float>(v);
    if (!ok(static_cast<double>(f))) {
        yaml_fail(file, n, dotted(section, key), rule + ", got " + got_text(v));
    }
    return f;
}

const auto kNonNegative = [](double v) { return v >= 0.0; };
const auto kPositive = [](double v) { return v > 0.0; };

// Reads a list of finite numbers with element-level locations; checks each element with `ok`.
template <class Pred>
std::vector<float> number_list(const std::string& file, const YAML::Node& map, const std::string& section,
                               const std::string& key, Pred ok, const std::string& rule) {
    const std::string full = dotted(section, key);
    const YAML::Node n = map[key];
    if (!present(n)) yaml_fail(file, map, full, "required key is missing");
    if (!n.IsSequence()) yaml_fail(file, n, full, "expected a list of numbers");
    const std::vector<double> values = yaml_number_list(file, map, key, section);
    std::vector<float> out;
    for (size_t i = 0; i < values.size(); ++i) {
        const YAML::Node e = n[i];
        const double v = values[i];
        if (!std::isfinite(v) || !std::isfinite(static_cast<float>(v)))
            yaml_fail(file, e, full, "element " + std::to_string(i) + " must be a finite number (float range)");
        const auto f = static_cast<float>(v);
        if (!ok(static_cast<double>(f))) {  // on the stored float, as in number()
            yaml_fail(file, e, full, "element " + std::to_string(i) + " " + rule + ", got " + got_text(v));
        }
        out.push_back(f);
    }
    return out;
}

TableUnits parse_units(const std::string& file, const YAML::Node& map, const std::string& section) {
    const std::string s = yaml_string(file, map, "units", "uS", section);
    if (s == "uS" || s == "µS") return TableUnits::MicroSiemens;
    if (s == "normalized") return TableUnits::Normalized;
    yaml_fail(file, map["units"], dotted(section, "units"), "unknown units '" + s + "' (available: uS, normalized)");
}

// x values of a table: 2..kMaxTablePoints, non-negative, strictly increasing.
std::vector<float> table_abscissa(const std::string& file, const YAML::Node& table, const std::string& section) {
    const std::string full = dotted(section, "g");
    auto g = number_list(file, table, section, "g", kNonNegative, "must be >= 0");
    if (g.size() < 2) yaml_fail(file, table["g"], full, "a table needs at least 2 points, got " + std::to_string(g.size()));
    if (g.size() > static_cast<size_t>(kMaxTablePoints))
        yaml_fail(file, table["g"], full,
                  "at most " + std::to_string(kMaxTablePoints) + " points are supported, got " + std::to_string(g.size()));
    for (size_t i = 1; i < g.size(); ++i)
        if (!(g[i] > g[i - 1]))
            yaml_fail(file, table["g"][i], full,
                      "must be strictly increasing (element " + std::to_string(i) + " is not greater than element " +
                          std::to_string(i - 1) + ")");
    return g;
}

// A column of a table with as many entries as g.
std::vector<float> table_column(const std::string& file, const YAML::Node& table, const std::string& section,
                                const std::string& key, size_t n, const std::string& what) {
    auto col = number_list(file, table, section, key, kNonNegative, "must be >= 0 (" + what + ")");
    if (col.size() != n)
        yaml_fail(file, table[key], dotted(section, key),
                  "has " + std::to_string(col.size()) + " entries but 'g' has " + std::to_string(n));
    return col;
}

enum class Role { Programming, ReadNoise };

// Reads one noise section (`key` in the device map) into `r`, which holds the model's defaults.
void parse_noise(const std::string& file, const YAML::Node& device, const std::string& device_section,
                 const std::string& key, Role role, DeviceKind kind, const std::string& model, NoiseParams& r) {
    const std::string sec = dotted(device_section, key);
    const YAML::Node n = device[key];
    yaml_require_map(file, n, sec);
    const bool prog = role == Role::Programming;
    const bool user_law = kind == DeviceKind::Custom;
    const bool generic_law = r.law == SigmaLaw::Generic;

    std::vector<const char*> allowed = {"enabled", "scale"};
    if (kind == DeviceKind::Ideal) allowed = {"enabled"};
    if (prog && kind != DeviceKind::Ideal) allowed.push_back("clip");
    if (prog && (kind == DeviceKind::Generic || user_law)) allowed.push_back("distribution");
    if (generic_law) {
        allowed.push_back("dependence");
        allowed.push_back("alpha");
    }
    if (user_law) {
        allowed.push_back("units");
        allowed.push_back("polynomial");
        allowed.push_back("table");
    }
    check_keys(file, n, sec, allowed, model);

    bool law_given = false;
    if (generic_law && present(n)) {
        const std::string d = yaml_string(file, n, "dependence", "independent", sec);
        if (d == "independent") r.dependence = NoiseDependence::Independent;
        else if (d == "proportional") r.dependence = NoiseDependence::Proportional;
        else if (d == "inverse_proportional") r.dependence = NoiseDependence::InverseProportional;
        else
            yaml_fail(file, at(n, "dependence"), dotted(sec, "dependence"),
                      "unknown dependence '" + d + "' (available: independent, proportional, inverse_proportional)");
        law_given = present(at(n, "alpha"));
        r.alpha = number(file, n, sec, "alpha", r.alpha, kNonNegative, "must be >= 0 (normalized units)");
    }
    if (user_law && present(n)) {
        r.units = parse_units(file, n, sec);
        const bool has_poly = present(at(n, "polynomial")), has_table = present(at(n, "table"));
        if (has_poly && has_table)
            yaml_fail(file, at(n, "table"), dotted(sec, "table"), "give either 'polynomial' or 'table', not both");
        if (has_poly) {
            const std::string full = dotted(sec, "polynomial");
            const YAML::Node pn = at(n, "polynomial");
            if (!pn.IsSequence()) yaml_fail(file, pn, full, "expected a list of coefficients c0, c1, ... (ascending powers)");
            const auto c = number_list(file, n, sec, "polynomial", [](double) { return true; }, "");
            if (c.empty()) yaml_fail(file, pn, full, "needs at least one coefficient");
            if (c.size() > static_cast<size_t>(kMaxPolyCoeffs))
                yaml_fail(file, pn, full,
                          "at most " + std::to_string(kMaxPolyCoeffs) + " coefficients (degree " +
                              std::to_string(kMaxPolyCoeffs - 1) + ") are supported, got " + std::to_string(c.size()));
            r.law = SigmaLaw::Polynomial;
            r.n_coeffs = static_cast<int32_t>(c.size());
            for (size_t i = 0; i < c.size(); ++i) r.coeffs[i] = c[i];
            law_given = true;
        }
        if (has_table) {
            const std::string tsec = dotted(sec, "table");
            const YAML::Node t = at(n, "table");
            yaml_require_map(file, t, tsec);
            yaml_check_keys(file, t, tsec, {"g", "sigma"});
            const auto g = table_abscissa(file, t, tsec);
            const auto s = table_column(file, t, tsec, "sigma", g.size(), "a standard deviation");
            r.law = SigmaLaw::Table;
            r.n_points = static_cast<int32_t>(g.size());
            for (size_t i = 0; i < g.size(); ++i) {
                r.table_x[i] = g[i];
                r.table_y[i] = s[i];
            }
            law_given = true;
        }
    }

    r.enabled = yaml_bool(file, n, "enabled", r.enabled || law_given, sec);
    const std::string what = prog ? "programming error" : "read noise";
    if (r.enabled && kind == DeviceKind::Ideal)
        yaml_fail(file, at(n, "enabled"), dotted(sec, "enabled"),
                  "model 'ideal' has no " + what + " (use model: generic for a parametric one)");
    if (r.enabled && generic_law && !present(at(n, "alpha")) && !law_given)
        yaml_fail(file, located(n, device), dotted(sec, "alpha"),
                  "required key is missing (" + what + " is enabled; σ = alpha, alpha·g or alpha/g in normalized units)");
    if (r.enabled && user_law && r.law == SigmaLaw::None)
        yaml_fail(file, located(n, device), sec,
                  "model 'custom' needs 'polynomial' or 'table' when " + what + " is enabled");

    if (kind == DeviceKind::Ideal) return;
    r.scale = number(file, n, sec, "scale", r.scale, kNonNegative, "must be >= 0");
    if (!prog) return;
    if (kind == DeviceKind::Generic || user_law) {
        const std::string d = yaml_string(file, n, "distribution", "normal", sec);
        if (d == "normal") r.distribution = NoiseDistribution::Normal;
        else if (d == "uniform") r.distribution = NoiseDistribution::Uniform;
        else
            yaml_fail(file, at(n, "distribution"), dotted(sec, "distribution"),
                      "unknown distribution '" + d + "' (available: normal, uniform)");
    }
    const char* clip_default = r.clip == ClipMode::None ? "none" : (r.clip == ClipMode::Zero ? "zero" : "range");
    const std::string c = yaml_string(file, n, "clip", clip_default, sec);
    if (c == "none") r.clip = ClipMode::None;
    else if (c == "zero") r.clip = ClipMode::Zero;
    else if (c == "range") r.clip = ClipMode::Range;
    else yaml_fail(file, at(n, "clip"), dotted(sec, "clip"), "unknown clip mode '" + c + "' (available: none, zero, range)");
}

void parse_drift(const std::string& file, const YAML::Node& device, const std::string& device_section,
                 DeviceKind kind, const std::string& model, DriftParams& d) {
    const std::string sec = dotted(device_section, "drift");
    const YAML::Node n = device["drift"];
    yaml_require_map(file, n, sec);
    std::vector<const char*> allowed = {"enabled", "time"};
    if (kind == DeviceKind::PCM)
        for (const char* k : {"compensation", "t0", "t_read", "accumulated_read_noise", "nu_scale"}) allowed.push_back(k);
    if (kind == DeviceKind::Custom)
        for (const char* k : {"compensation", "t0", "nu_scale", "units", "table"}) allowed.push_back(k);
    check_keys(file, n, sec, allowed, model);

    d.time_s = number(file, n, sec, "time", d.time_s, kNonNegative, "must be >= 0 (seconds after programming)");
    bool law_given = false;
    if (kind == DeviceKind::Custom && present(n)) {
        d.units = parse_units(file, n, sec);
        if (present(at(n, "table"))) {
            const std::string tsec = dotted(sec, "table");
            const YAML::Node t = at(n, "table");
            yaml_require_map(file, t, tsec);
            yaml_check_keys(file, t, tsec, {"g", "nu_mean", "nu_std"});
            const auto g = table_abscissa(file, t, tsec);
            const auto mu = table_column(file, t, tsec, "nu_mean", g.size(), "a drift exponent");
            const auto sd = present(t["nu_std"]) ? table_column(file, t, tsec, "nu_std", g.size(), "a standard deviation")
                                                 : std::vector<float>(g.size(), 0.0f);
            d.law = DriftLaw::Table;
            d.n_points = static_cast<int32_t>(g.size());
            for (size_t i = 0; i < g.size(); ++i) {
                d.table_g[i] = g[i];
                d.nu_mean[i] = mu[i];
                d.nu_std[i] = sd[i];
            }
            law_given = true;
        }
    }
    d.enabled = yaml_bool(file, n, "enabled", d.enabled || law_given, sec);
    if (d.enabled && kind != DeviceKind::PCM && kind != DeviceKind::Custom)
        yaml_fail(file, at(n, "enabled"), dotted(sec, "enabled"),
                  "model '" + model + "' has no drift model (drift is available for pcm and custom)");
    if (d.enabled && kind == DeviceKind::Custom && d.law == DriftLaw::None)
        yaml_fail(file, located(n, device), dotted(sec, "table"),
                  "required key is missing (model 'custom' with drift enabled needs a table g, nu_mean[, nu_std])");
    if (kind != DeviceKind::PCM && kind != DeviceKind::Custom) return;

    d.compensation = yaml_bool(file, n, "compensation", d.compensation, sec);
    d.t0_s = number(file, n, sec, "t0", d.t0_s, kPositive, "must be > 0 (seconds)");
    d.nu_scale = number(file, n, sec, "nu_scale", d.nu_scale, kNonNegative, "must be >= 0");
    if (kind == DeviceKind::PCM) {
        d.accumulated_read_noise = yaml_bool(file, n, "accumulated_read_noise", d.accumulated_read_noise, sec);
        const double t0 = d.t0_s;
        d.t_read_s = number(file, n, sec, "t_read", d.t_read_s, [t0](double v) { return v > 0.0 && v < t0; },
                            "must be > 0 and less than drift.t0 (seconds)");
    }
}

// Shortest decimal text that reads back as the same float.
std::string float_text(float v) {
    if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
    char buf[48];
    for (int prec = 6; prec <= 9; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(v));
        if (std::strtof(buf, nullptr) == v) break;
    }
    return buf;
}

YAML::Node float_node(float v) { return YAML::Node(float_text(v)); }

YAML::Node float_list(const float* v, int32_t n) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (int32_t i = 0; i < n; ++i) list.push_back(float_node(v[i]));
    list.SetStyle(YAML::EmitterStyle::Flow);
    return list;
}

const char* units_name(TableUnits u) { return u == TableUnits::Normalized ? "normalized" : "uS"; }

YAML::Node noise_to_yaml(const NoiseParams& r, Role role, DeviceKind kind) {
    YAML::Node n;
    n["enabled"] = r.enabled;
    if (kind == DeviceKind::Ideal) return n;
    n["scale"] = float_node(r.scale);
    if (r.law == SigmaLaw::Generic) {
        n["dependence"] = r.dependence == NoiseDependence::Independent    ? "independent"
                          : r.dependence == NoiseDependence::Proportional ? "proportional"
                                                                           : "inverse_proportional";
        n["alpha"] = float_node(r.alpha);
    }
    if (kind == DeviceKind::Custom) {
        n["units"] = units_name(r.units);
        if (r.law == SigmaLaw::Polynomial) n["polynomial"] = float_list(r.coeffs, r.n_coeffs);
        if (r.law == SigmaLaw::Table) {
            n["table"]["g"] = float_list(r.table_x, r.n_points);
            n["table"]["sigma"] = float_list(r.table_y, r.n_points);
        }
    }
    if (role == Role::Programming) {
        if (kind == DeviceKind::Generic || kind == DeviceKind::Custom)
            n["distribution"] = r.distribution == NoiseDistribution::Uniform ? "uniform" : "normal";
        n["clip"] = r.clip == ClipMode::None ? "none" : (r.clip == ClipMode::Zero ? "zero" : "range");
    }
    return n;
}

}  // namespace

const char* device_kind_name(DeviceKind kind) {
    for (const auto& k : kKinds)
        if (k.kind == kind) return k.name;
    return "unknown";
}

DeviceParams default_device(DeviceKind kind) {
    DeviceParams p;
    p.kind = kind;
    p.read_noise.clip = ClipMode::None;  // read noise is never clipped (exact lumped Gaussian mode)
    switch (kind) {
    case DeviceKind::Ideal: break;
    case DeviceKind::Generic:
        p.programming.law = SigmaLaw::Generic;
        p.read_noise.law = SigmaLaw::Generic;
        break;
    case DeviceKind::PCM:
        p.g_max_uS = kPcmGmaxRef_uS;
        p.programming.enabled = true;
        p.programming.law = SigmaLaw::PCM;
        p.drift.enabled = true;
        p.drift.law = DriftLaw::PCM;
        p.drift.compensation = true;
        p.drift.accumulated_read_noise = true;
        p.read_noise.law = SigmaLaw::Generic;
        break;
    case DeviceKind::RRAMWan2022:
        p.g_max_uS = kWanGMaxFit_uS;
        p.programming.enabled = true;
        p.programming.law = SigmaLaw::RRAMWan2022;
        p.read_noise.law = SigmaLaw::Generic;
        break;
    case DeviceKind::RRAMMilo2021:
        p.g_max_uS = 225.0f;
        p.on_off_ratio = 4.5f;  // 50-225 µS, the range of the fit
        p.g_min = 1.0f / 4.5f;
        p.programming.enabled = true;
        p.programming.law = SigmaLaw::RRAMMilo2021;
        p.read_noise.law = SigmaLaw::Generic;
        break;
    case DeviceKind::SONOS:
        p.g_max_uS = 16.0f;  // with V_read = 0.2 V: I_max = 3200 nA
        p.v_read_V = 0.2f;
        p.programming.enabled = true;
        p.programming.law = SigmaLaw::SONOS;
        p.programming.sonos_a_nA = kSonosProgA_nA;
        p.programming.sonos_b_nA = kSonosProgB_nA;
        p.read_noise.enabled = true;
        p.read_noise.law = SigmaLaw::SONOS;
        p.read_noise.sonos_a_nA = kSonosReadA_nA;
        p.read_noise.sonos_b_nA = kSonosReadB_nA;
        break;
    case DeviceKind::Custom:
        p.drift.compensation = true;
        break;
    }
    return p;
}

DeviceParams parse_device(const YAML::Node& node, const std::string& file, const std::string& section) {
    if (!present(node)) return default_device(DeviceKind::Ideal);
    yaml_require_map(file, node, section);
    const std::string model = yaml_string(file, node, "model", "ideal", section);
    bool known = false;
    DeviceKind kind = DeviceKind::Ideal;
    for (const auto& k : kKinds)
        if (model == k.name) {
            kind = k.kind;
            known = true;
        }
    if (!known) {
        std::string list;
        for (const auto& k : kKinds) list += (list.empty() ? "" : ", ") + std::string(k.name);
        yaml_fail(file, node["model"], dotted(section, "model"), "unknown model '" + model + "' (available: " + list + ")");
    }
    DeviceParams p = default_device(kind);

    std::vector<const char*> allowed = {"model", "g_max_uS", "on_off_ratio", "programming", "drift", "read_noise"};
    if (kind == DeviceKind::SONOS) allowed.push_back("v_read_V");
    check_keys(file, node, section, allowed, model);

    if (kind == DeviceKind::RRAMWan2022)
        p.g_max_uS = number(file, node, section, "g_max_uS", p.g_max_uS,
                            [](double v) { return v > 0.0 && v <= 39.26; },
                            "must be > 0 and <= 39.26 µS for rram_wan2022 (the range of the Wan et al. 2022 fit)");
    else
        p.g_max_uS = number(file, node, section, "g_max_uS", p.g_max_uS, kPositive, "must be > 0 (µS)");

    {
        const double ratio = yaml_number(file, node, "on_off_ratio", p.on_off_ratio, section);
        const YAML::Node rn = located(node["on_off_ratio"], node);
        if (ratio == 0.0 || (std::isinf(ratio) && ratio > 0)) {
            p.on_off_ratio = 0.0f;
            p.g_min = 0.0f;
        } else if (std::isfinite(ratio) && ratio > 1.0 && std::isfinite(static_cast<float>(ratio))) {
            p.on_off_ratio = static_cast<float>(ratio);
            p.g_min = static_cast<float>(1.0 / ratio);
        } else {
            char got[64];
            std::snprintf(got, sizeof got, "%g", ratio);
            yaml_fail(file, rn, dotted(section, "on_off_ratio"),
                      std::string("must be > 1, or 0 or .inf for an infinite ratio (G_max/G_min), got ") + got);
        }
    }

    if (kind == DeviceKind::SONOS) {
        p.v_read_V = number(file, node, section, "v_read_V", p.v_read_V, kPositive, "must be > 0 (V)");
        const double i_max = 1000.0 * static_cast<double>(p.v_read_V) * static_cast<double>(p.g_max_uS);
        if (i_max > static_cast<double>(kSonosImaxFit_nA) * (1.0 + 1e-6)) {
            const bool v_given = present(node["v_read_V"]);
            char msg[200];
            std::snprintf(msg, sizeof msg,
                          "I_max = v_read_V * g_max_uS = %g nA exceeds %g nA, the largest current of the "
                          "Agrawal et al. 2022 data",
                          i_max, static_cast<double>(kSonosImaxFit_nA));
            const std::string key = v_given ? "v_read_V" : "g_max_uS";
            yaml_fail(file, located(node[key], node), dotted(section, key), msg);
        }
    }

    parse_noise(file, node, section, "programming", Role::Programming, kind, model, p.programming);
    parse_drift(file, node, section, kind, model, p.drift);
    parse_noise(file, node, section, "read_noise", Role::ReadNoise, kind, model, p.read_noise);
    return p;
}

YAML::Node device_to_yaml(const DeviceParams& p) {
    YAML::Node n;
    n["model"] = device_kind_name(p.kind);
    n["g_max_uS"] = float_node(p.g_max_uS);
    n["on_off_ratio"] = p.on_off_ratio == 0.0f ? YAML::Node(".inf") : float_node(p.on_off_ratio);
    if (p.kind == DeviceKind::SONOS) n["v_read_V"] = float_node(p.v_read_V);
    n["programming"] = noise_to_yaml(p.programming, Role::Programming, p.kind);
    YAML::Node d;
    d["enabled"] = p.drift.enabled;
    d["time"] = float_node(p.drift.time_s);
    if (p.kind == DeviceKind::PCM || p.kind == DeviceKind::Custom) {
        d["compensation"] = p.drift.compensation;
        d["t0"] = float_node(p.drift.t0_s);
        d["nu_scale"] = float_node(p.drift.nu_scale);
    }
    if (p.kind == DeviceKind::PCM) {
        d["t_read"] = float_node(p.drift.t_read_s);
        d["accumulated_read_noise"] = p.drift.accumulated_read_noise;
    }
    if (p.kind == DeviceKind::Custom) {
        d["units"] = units_name(p.drift.units);
        if (p.drift.law == DriftLaw::Table) {
            d["table"]["g"] = float_list(p.drift.table_g, p.drift.n_points);
            d["table"]["nu_mean"] = float_list(p.drift.nu_mean, p.drift.n_points);
            d["table"]["nu_std"] = float_list(p.drift.nu_std, p.drift.n_points);
        }
    }
    n["drift"] = d;
    n["read_noise"] = noise_to_yaml(p.read_noise, Role::ReadNoise, p.kind);
    return n;
}

}  // namespace xbarsim
