// Reading a co-search space file and turning a genome into the design it stands for: the network
// file and the base config with the genes applied as per-layer overrides (the same path a user's
// `layers:` entries take, so a design is exactly what `xbarsim run` would simulate).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>

#include "xbarsim/analog_config.hpp"
#include "xbarsim/cost/tech.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/search/space.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim::search {

namespace {

namespace fs = std::filesystem;

// Per-layer keys (global or per group) and global-only keys.
const std::vector<std::string> kLayerKeys = {"adc_type", "adc_bits", "adc_method", "columns_per_adc", "input_bits",
                                             "weight_bits", "slices", "cell_bits", "analog", "array_size",
                                             "array_rows", "array_cols"};
const std::vector<std::string> kGlobalKeys = {"device", "tech"};
// Each group repeats every per-group gene; far more groups than a network has layers only adds
// genes that change nothing (and a huge count would exhaust memory building them).
constexpr int64_t kMaxLayerGroups = 4096;

bool is_layer_key(const std::string& k) { return std::find(kLayerKeys.begin(), kLayerKeys.end(), k) != kLayerKeys.end(); }

std::string resolve(const std::string& dir, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(dir) / p).lexically_normal().string();
}

// A file the space names (base_config, a device choice): it must be a regular file, not a
// directory (reading one fails obscurely) and not missing.
void require_file(const std::string& file, const YAML::Node& node, const std::string& key, const std::string& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) yaml_fail(file, node, key, "no such file: " + p);
    if (!fs::is_regular_file(p, ec)) yaml_fail(file, node, key, p + " is not a regular file");
}

// A config the space names, loaded now so that a broken one fails at load (naming the space's key
// and line and the config's own error), not as every candidate's failure.
Config load_named_config(const std::string& file, const YAML::Node& node, const std::string& key, const std::string& p) {
    require_file(file, node, key, p);
    try {
        return load_config(p);
    } catch (const std::exception& e) {
        yaml_fail(file, node, key, "cannot load " + p + ": " + e.what());
    }
}

// An integer choice: all digits, no overflow (from_chars refuses what does not fit instead of
// wrapping), within [0, INT_MAX] since every such config value is an int or fits one.
bool parse_int_choice(const std::string& v, int64_t* out) {
    const char* end = v.data() + v.size();
    const auto r = std::from_chars(v.data(), end, *out);
    return !v.empty() && r.ec == std::errc() && r.ptr == end && *out >= 0 && *out <= std::numeric_limits<int>::max();
}

// Checks the form of one choice of a gene so that a bad space fails at load, not in generation 7.
// The ranges of per-layer values are checked against the config loader afterwards
// (check_layer_choices).
void check_choice(const std::string& file, const YAML::Node& node, const std::string& section, const std::string& key,
                  const std::string& v, const std::string& config_file) {
    auto fail = [&](const std::string& why) { yaml_fail(file, node, section, "choice '" + v + "' " + why); };
    if (key == "adc_type") {
        if (v != "flash" && v != "sar" && v != "ramp") fail("must be flash, sar or ramp");
    } else if (key == "analog") {
        if (v != "true" && v != "false") fail("must be true or false");
    } else if (key == "adc_method") {
        if (v != "percentile" && v != "mse") fail("must be percentile or mse");
    } else if (key == "device") {
        // Only the `device:` section is used, but the whole file must load.
        load_named_config(file, node, section, v);
    } else if (key == "tech") {
        try {
            cost::load_tech(cost::find_tech_file(v, fs::path(config_file).parent_path().string()));
        } catch (const std::exception& e) {
            fail(std::string("is not a technology: ") + e.what());
        }
    } else {
        int64_t n = 0;
        if (!parse_int_choice(v, &n)) fail("must be an integer from 0 to " + std::to_string(std::numeric_limits<int>::max()));
        if ((key == "columns_per_adc" || key == "slices" || key.rfind("array", 0) == 0) && n < 1) fail("must be positive");
    }
}

// Writes one per-layer gene value into an override node, in config keys.
void put_layer_key(YAML::Node& o, const std::string& key, const std::string& v) {
    if (key == "adc_type") o["adc"]["type"] = v;
    else if (key == "adc_bits") o["adc"]["bits"] = v;
    else if (key == "adc_method") o["adc"]["method"] = v;
    else if (key == "columns_per_adc") o["adc"]["columns_per_adc"] = v;
    else if (key == "input_bits") o["input"]["bits"] = v;
    else if (key == "analog") o["digital"] = v == "true" ? "false" : "true";
    else if (key == "array_size") {
        o["array"]["rows"] = v;
        o["array"]["cols"] = v;
    } else if (key == "array_rows") o["array"]["rows"] = v;
    else if (key == "array_cols") o["array"]["cols"] = v;
    else o[key] = v;  // weight_bits, slices, cell_bits
}

// Per-layer gene values in gene order, as a design applies them to a layer.
using LayerValues = std::vector<std::pair<std::string, std::string>>;

// The config loader's verdict on one layer with `values` over the base config's `analog:`
// defaults: "" if it accepts them, else its message (without the synthetic override's key).
std::string layer_error(const AnalogConfig& base, const LayerValues& values) {
    AnalogConfig c = base;
    c.enabled = true;
    c.overrides.clear();  // the base config's own per-layer overrides are checked per candidate
    LayerOverride lo;
    lo.match = "0";
    for (const auto& [k, v] : values) put_layer_key(lo.node, k, v);
    lo.node["match"] = "0";
    c.overrides.push_back(lo);
    try {
        resolve_layer(c, "layer", 0, 1);
    } catch (const std::exception& e) {
        const std::string m = e.what();
        const size_t at = m.find("': ");
        return at == std::string::npos ? m : m.substr(at + 3);
    }
    return "";
}

LayerValues with(LayerValues values, const std::string& key, const std::string& v) {
    for (auto& kv : values)
        if (kv.first == key) kv.second = v;
    return values;
}

// A per-layer gene as written: global (genes.<key>), or per group (group_genes.<key>, checked
// once for all groups).
struct ChoiceList {
    std::string section;  // "genes.adc_bits", "group_genes.adc_bits"
    std::string key;      // "adc_bits"
    YAML::Node list;      // the choices as written, for their lines
    size_t gene = 0;      // index of the (first) gene in SearchProblem::genes
};

// Every choice of every per-layer gene, checked by the config loader: the limits are the ones a
// config file gets. A choice fails when no design with the baseline's other values, one other
// gene changed at most, accepts it: some limits join two keys (slices need weight_bits > 0), and
// a choice that works with another gene's choice is left for the candidates that combine them
// (such a candidate is recorded infeasible with the loader's message).
void check_layer_choices(const std::string& file, const SearchSpace& s, const AnalogConfig& base,
                         const std::vector<ChoiceList>& lists, const YAML::Node& baseline_node) {
    const auto& genes = s.problem.genes;
    LayerValues baseline;
    for (const auto& l : lists) baseline.emplace_back(l.key, genes[l.gene].choices[static_cast<size_t>(s.problem.baseline[l.gene])]);
    const std::string base_error = layer_error(base, baseline);
    if (!base_error.empty()) yaml_fail(file, baseline_node, "baseline", "the baseline design is not valid: " + base_error);
    for (const auto& l : lists) {
        const auto& choices = genes[l.gene].choices;
        for (size_t c = 0; c < choices.size(); ++c) {
            const LayerValues one = with(baseline, l.key, choices[c]);
            const std::string error = layer_error(base, one);
            if (error.empty()) continue;
            bool works = false;
            for (const auto& other : lists)
                if (other.key != l.key)
                    for (const auto& v : genes[other.gene].choices) works = works || layer_error(base, with(one, other.key, v)).empty();
            if (!works) yaml_fail(file, l.list[c], l.section, "choice '" + choices[c] + "': " + error);
        }
    }
}

std::vector<std::string> choices_of(const std::string& file, const YAML::Node& list, const std::string& key) {
    if (!list.IsSequence() || list.size() == 0) yaml_fail(file, list, key, "expected a non-empty list of choices");
    std::vector<std::string> out;
    for (const auto& c : list) {
        if (!c.IsScalar()) yaml_fail(file, c, key, "choices must be plain values");
        if (std::find(out.begin(), out.end(), c.Scalar()) != out.end()) yaml_fail(file, c, key, "choice '" + c.Scalar() + "' repeats");
        out.push_back(c.Scalar());
    }
    return out;
}

// fitness.workers: absent, the evaluator chooses by backend (0 here); given, a positive integer.
int64_t fitness_workers(const std::string& file, const YAML::Node& fitness) {
    const int64_t w = yaml_int(file, fitness, "workers", 0, "fitness");
    if (w < 1 && fitness.IsDefined() && fitness.IsMap() && fitness["workers"].IsDefined())
        yaml_fail(file, fitness["workers"], "fitness.workers",
                  "must be a positive integer (candidates evaluated at once), got '" + fitness["workers"].Scalar() + "'");
    return w;
}

// The node of `section`.`key` for messages: the value where given, else the section, else the root.
YAML::Node node_of(const YAML::Node& root, const YAML::Node& section, const std::string& key) {
    if (section.IsDefined() && section.IsMap() && section[key].IsDefined()) return section[key];
    return section.IsDefined() ? section : root;
}

// An int key of `search:` within [lo, hi]: yaml_int reads 64 bits, and a value that does not fit
// must be refused, not wrapped into an int.
int int_in_range(const std::string& file, const YAML::Node& root, const YAML::Node& se, const std::string& key, int64_t fallback,
                 int64_t lo, const std::string& why) {
    const int64_t v = yaml_int(file, se, key, fallback, "search");
    if (v < lo || v > std::numeric_limits<int>::max())
        yaml_fail(file, node_of(root, se, key), "search." + key, why + ", got " + std::to_string(v));
    return static_cast<int>(v);
}

// A constraint given in the space: a finite number within [lo, hi] (NaN compares false, so it
// fails too). An absent key keeps its "none" default.
double constraint(const std::string& file, const YAML::Node& root, const YAML::Node& c, const std::string& key, double none, double lo,
                  double hi, bool lo_open, const std::string& meaning) {
    const double v = yaml_number(file, c, key, none, "constraints");
    if (!(c.IsDefined() && c.IsMap() && c[key].IsDefined())) return v;
    const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
    if (!ok) yaml_fail(file, node_of(root, c, key), "constraints." + key, "must be " + meaning + ", got " + c[key].Scalar());
    return v;
}

// The datasets the space names are opened now (open_dataset checks files, headers and counts),
// so that a missing or damaged test set fails before the search, not after it.
void check_dataset(const std::string& file, const YAML::Node& node, const std::string& key, const std::string& dir) {
    try {
        open_dataset(dir);
    } catch (const std::exception& e) {
        yaml_fail(file, node, key, std::string("cannot open the dataset: ") + e.what());
    }
}

}  // namespace

SearchSpace load_space(const std::string& path) {
    SearchSpace s;
    s.file = path;
    const YAML::Node root = load_yaml_file(path);
    const std::string dir = fs::path(path).parent_path().string();
    s.problem.space_text = read_file(path);
    yaml_check_keys(path, root, "", {"base_config", "networks", "layer_groups", "genes", "group_genes", "baseline", "objectives",
                                     "constraints", "fitness", "final", "search"});
    s.base_config = resolve(dir, yaml_string_required(path, root, "base_config"));
    // Loaded now: a broken base config would otherwise fail every candidate, one by one.
    const Config base = load_named_config(path, root["base_config"], "base_config", s.base_config);

    const YAML::Node nets = root["networks"];
    if (!nets.IsDefined() || !nets.IsSequence() || nets.size() == 0)
        yaml_fail(path, nets.IsDefined() ? nets : root, "networks", "expected a non-empty list of ONNX files");
    std::vector<std::string> net_names;
    for (const auto& n : nets) {
        if (!n.IsScalar()) yaml_fail(path, n, "networks", "expected file names");
        const std::string p = resolve(dir, n.Scalar());
        require_file(path, n, "networks", p);
        s.networks.push_back(p);
        net_names.push_back(n.Scalar());
    }
    if (s.networks.size() > 1) s.problem.genes.push_back({"network", "network", -1, net_names});

    const YAML::Node groups = root["layer_groups"];
    if (groups.IsDefined() && !groups.IsNull()) {
        if (groups.IsScalar()) {
            const int64_t n = yaml_int(path, root, "layer_groups", 1);
            if (n < 1 || n > kMaxLayerGroups)
                yaml_fail(path, groups, "layer_groups", "must be 1 to " + std::to_string(kMaxLayerGroups) + ", got " + groups.Scalar());
            s.layer_group_count = static_cast<int>(n);
        } else if (groups.IsSequence() && groups.size() > 0) {
            for (const auto& g : groups) {
                if (!g.IsScalar()) yaml_fail(path, g, "layer_groups", "expected layer names, globs or indices");
                s.layer_group_matches.push_back(g.Scalar());
            }
        } else {
            yaml_fail(path, groups, "layer_groups", "expected a number of groups or a list of layer matches");
        }
    }
    const int n_groups = s.layer_group_count > 0 ? s.layer_group_count : static_cast<int>(s.layer_group_matches.size());

    std::vector<ChoiceList> lists;  // the per-layer genes, for check_layer_choices
    const YAML::Node genes = root["genes"];
    yaml_require_map(path, genes, "genes");
    if (genes.IsMap())
        for (const auto& kv : genes) {
            const std::string key = kv.first.Scalar();
            if (!is_layer_key(key) && std::find(kGlobalKeys.begin(), kGlobalKeys.end(), key) == kGlobalKeys.end())
                yaml_fail(path, kv.first, "genes." + key, "unknown gene (per layer: adc_type, adc_bits, adc_method, columns_per_adc, input_bits, "
                                                          "weight_bits, slices, cell_bits, analog, array_size, array_rows, array_cols; "
                                                          "global: device, tech)");
            Gene g{key, key, -1, choices_of(path, kv.second, "genes." + key)};
            if (key == "device")
                for (auto& c : g.choices) c = resolve(dir, c);
            for (size_t i = 0; i < g.choices.size(); ++i) check_choice(path, kv.second[i], "genes." + key, key, g.choices[i], s.base_config);
            if (is_layer_key(key)) lists.push_back({"genes." + key, key, kv.second, s.problem.genes.size()});
            s.problem.genes.push_back(g);
        }
    const YAML::Node gg = root["group_genes"];
    yaml_require_map(path, gg, "group_genes");
    if (gg.IsMap() && gg.size() > 0) {
        if (n_groups == 0) yaml_fail(path, gg, "group_genes", "needs layer_groups");
        for (int grp = 0; grp < n_groups; ++grp)
            for (const auto& kv : gg) {
                const std::string key = kv.first.Scalar();
                if (!is_layer_key(key) || key.rfind("array", 0) == 0)
                    yaml_fail(path, kv.first, "group_genes." + key,
                              "unknown per-group gene (adc_type, adc_bits, adc_method, columns_per_adc, input_bits, weight_bits, slices, cell_bits, analog)");
                std::string name = std::to_string(grp);  // "g<group>.<key>" (built in steps: GCC 12 warns
                name.insert(0, 1, 'g');                    // falsely on "g" + std::to_string(...))
                name += '.';
                name += key;
                Gene g{name, key, grp, choices_of(path, kv.second, "group_genes." + key)};
                if (grp == 0)
                    for (size_t i = 0; i < g.choices.size(); ++i)
                        check_choice(path, kv.second[i], "group_genes." + key, key, g.choices[i], s.base_config);
                if (grp == 0) lists.push_back({"group_genes." + key, key, kv.second, s.problem.genes.size()});
                s.problem.genes.push_back(g);
            }
    }
    if (s.problem.genes.empty()) yaml_fail(path, root, "genes", "the space has no genes to search");

    // The baseline: a value for every gene key (per-group genes: the same value in every group).
    const YAML::Node base_node = root["baseline"];
    if (!base_node.IsDefined() || !base_node.IsMap())
        yaml_fail(path, base_node.IsDefined() ? base_node : root, "baseline", "expected a map of gene values");
    for (const auto& kv : base_node) {
        const std::string key = kv.first.Scalar();
        const bool known = std::any_of(s.problem.genes.begin(), s.problem.genes.end(), [&](const Gene& g) { return g.key == key; });
        if (!known) yaml_fail(path, kv.first, "baseline." + key, "is not a gene of this space");
    }
    for (const auto& g : s.problem.genes) {
        const YAML::Node v = base_node[g.key];
        if (!v.IsDefined() || !v.IsScalar()) yaml_fail(path, base_node, "baseline." + g.key, "missing (every gene needs a baseline value)");
        std::string want = v.Scalar();
        if (g.key == "device") want = resolve(dir, want);
        const auto it = std::find(g.choices.begin(), g.choices.end(), want);
        if (it == g.choices.end()) yaml_fail(path, v, "baseline." + g.key, "'" + v.Scalar() + "' is not one of the gene's choices");
        s.problem.baseline.push_back(static_cast<int>(it - g.choices.begin()));
    }
    check_layer_choices(path, s, base.analog, lists, base_node);

    const YAML::Node obj = root["objectives"];
    if (!obj.IsDefined() || !obj.IsSequence()) yaml_fail(path, obj.IsDefined() ? obj : root, "objectives", "expected a list (two to four)");
    for (const auto& o : obj) {
        Objective parsed{};
        try {
            parsed = parse_objective(o.IsScalar() ? o.Scalar() : std::string("(not a name)"));
        } catch (const Error& e) {
            yaml_fail(path, o, "objectives", e.what());
        }
        // The same objective twice adds nothing to NSGA-II but weight.
        if (std::find(s.problem.objectives.begin(), s.problem.objectives.end(), parsed) != s.problem.objectives.end())
            yaml_fail(path, o, "objectives", "'" + o.Scalar() + "' repeats");
        s.problem.objectives.push_back(parsed);
    }
    if (s.problem.objectives.size() < 2 || s.problem.objectives.size() > 4) yaml_fail(path, obj, "objectives", "give two to four objectives");

    const YAML::Node c = root["constraints"];
    yaml_check_keys(path, c, "constraints", {"area_mm2_max", "accuracy_min", "accuracy_loss_max"});
    auto& k = s.problem.constraints;
    k.area_mm2_max = constraint(path, root, c, "area_mm2_max", 0.0, 0.0, HUGE_VAL, true, "a positive area in mm2");
    k.accuracy_min = constraint(path, root, c, "accuracy_min", 0.0, 0.0, 1.0, false, "a fraction from 0 to 1");
    k.accuracy_loss_max = constraint(path, root, c, "accuracy_loss_max", -1.0, 0.0, 1.0, false, "a fraction from 0 to 1");

    const YAML::Node f = root["fitness"];
    yaml_check_keys(path, f, "fitness", {"images", "trials", "calibration_images", "calibration_data", "backend", "batch", "workers"});
    s.fitness.images = yaml_int(path, f, "images", s.fitness.images, "fitness");
    s.fitness.trials = yaml_int(path, f, "trials", s.fitness.trials, "fitness");
    s.fitness.calibration_images = yaml_int(path, f, "calibration_images", s.fitness.calibration_images, "fitness");
    s.fitness.calibration_data = resolve(dir, yaml_string(path, f, "calibration_data", "", "fitness"));
    s.fitness.backend = yaml_string(path, f, "backend", s.fitness.backend, "fitness");
    if (s.fitness.backend != "cpu" && s.fitness.backend != "cuda" && s.fitness.backend != "auto")
        yaml_fail(path, node_of(root, f, "backend"), "fitness.backend", "unknown backend '" + s.fitness.backend + "' (cpu, cuda or auto)");
    s.fitness.batch = yaml_int(path, f, "batch", s.fitness.batch, "fitness");
    s.fitness.workers = fitness_workers(path, f);
    if (s.fitness.images < 1 || s.fitness.trials < 1 || s.fitness.calibration_images < 1 || s.fitness.batch < 1)
        yaml_fail(path, f, "fitness", "images, trials, calibration_images and batch must be positive");
    if (s.fitness.trials > std::numeric_limits<uint32_t>::max())  // chip instances are numbered by uint32
        yaml_fail(path, node_of(root, f, "trials"), "fitness.trials", "too many trials");
    if (!s.fitness.calibration_data.empty())
        check_dataset(path, node_of(root, f, "calibration_data"), "fitness.calibration_data", s.fitness.calibration_data);

    const YAML::Node fin = root["final"];
    yaml_check_keys(path, fin, "final", {"data", "trials", "images", "max_points"});
    s.final_eval.data = resolve(dir, yaml_string(path, fin, "data", "", "final"));
    s.final_eval.trials = yaml_int(path, fin, "trials", s.final_eval.trials, "final");
    s.final_eval.images = yaml_int(path, fin, "images", s.final_eval.images, "final");
    s.final_eval.max_points = yaml_int(path, fin, "max_points", s.final_eval.max_points, "final");
    if (s.final_eval.trials < 1 || s.final_eval.images < 0 || s.final_eval.max_points < 0)
        yaml_fail(path, fin, "final", "trials must be positive, images and max_points non-negative");
    if (s.final_eval.trials > std::numeric_limits<uint32_t>::max()) yaml_fail(path, node_of(root, fin, "trials"), "final.trials", "too many trials");
    if (!s.final_eval.data.empty()) check_dataset(path, node_of(root, fin, "data"), "final.data", s.final_eval.data);

    const YAML::Node se = root["search"];
    yaml_check_keys(path, se, "search", {"population", "generations", "seed", "hv_reference"});
    s.defaults.population = int_in_range(path, root, se, "population", s.defaults.population, 8,
                                         "must be a multiple of 4 from 8 to 2147483647 (NSGA-II)");
    if (s.defaults.population % 4 != 0)
        yaml_fail(path, node_of(root, se, "population"), "search.population",
                  "must be a multiple of 4 from 8 to 2147483647 (NSGA-II), got " + std::to_string(s.defaults.population));
    s.defaults.generations = int_in_range(path, root, se, "generations", s.defaults.generations, 0, "must be 0 to 2147483647");
    const int64_t seed = yaml_int(path, se, "seed", static_cast<int64_t>(s.defaults.seed), "search");
    if (seed < 0) yaml_fail(path, node_of(root, se, "seed"), "search.seed", "must not be negative, got " + std::to_string(seed));
    s.defaults.seed = static_cast<uint64_t>(seed);
    s.defaults.hv_reference = yaml_number(path, se, "hv_reference", s.defaults.hv_reference, "search");
    if (!(std::isfinite(s.defaults.hv_reference) && s.defaults.hv_reference > 0))
        yaml_fail(path, node_of(root, se, "hv_reference"), "search.hv_reference",
                  "must be a positive cost ratio, got " + node_of(root, se, "hv_reference").Scalar());
    return s;
}

int layer_group(const SearchSpace& s, const std::string& name, int index, int count) {
    if (s.layer_group_count > 0) return static_cast<int>(static_cast<int64_t>(index) * s.layer_group_count / std::max(count, 1));
    for (size_t g = 0; g < s.layer_group_matches.size(); ++g)
        if (layer_matches(s.layer_group_matches[g], name, index, count)) return static_cast<int>(g);
    return -1;
}

std::string design_model(const SearchSpace& s, const Genome& genome) {
    if (s.networks.size() == 1) return s.networks[0];
    return s.networks.at(static_cast<size_t>(genome.at(0)));
}

Config design_config(const SearchSpace& s, const Genome& genome, const Graph& graph) {
    Config c = load_config(s.base_config);
    c.analog.enabled = true;
    std::vector<std::pair<std::string, std::string>> global;  // per-layer keys for every layer
    for (size_t i = 0; i < s.problem.genes.size(); ++i) {
        const Gene& g = s.problem.genes[i];
        const std::string& v = g.choices.at(static_cast<size_t>(genome.at(i)));
        if (g.key == "network" || g.group >= 0) continue;
        if (g.key == "tech") {
            c.cost.tech = v;
        } else if (g.key == "device") {
            c.analog.device = load_config(v).analog.device;
            c.analog.defaults.mapping.g_min = c.analog.device.g_min;
        } else {
            global.emplace_back(g.key, v);
        }
    }
    std::vector<std::string> names;
    for (const auto& n : graph.nodes)
        if (is_mvm_layer(n.op)) names.push_back(n.name);
    const int count = static_cast<int>(names.size());
    for (int l = 0; l < count; ++l) {
        YAML::Node o;
        for (const auto& [k, v] : global) put_layer_key(o, k, v);
        const int grp = layer_group(s, names[static_cast<size_t>(l)], l, count);
        for (size_t i = 0; i < s.problem.genes.size(); ++i) {
            const Gene& g = s.problem.genes[i];
            if (g.group >= 0 && g.group == grp) put_layer_key(o, g.key, g.choices.at(static_cast<size_t>(genome.at(i))));
        }
        if (o.size() == 0) continue;
        // Matched by position, after the base config's own overrides: the genes have the last word.
        o["match"] = std::to_string(l);
        LayerOverride lo;
        lo.match = std::to_string(l);
        lo.line = 0;
        lo.node = o;
        c.analog.overrides.push_back(lo);
    }
    return c;
}

}  // namespace xbarsim::search
