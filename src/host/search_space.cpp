// Reading a co-search space file and turning a genome into the design it stands for: the network
// file and the base config with the genes applied as per-layer overrides (the same path a user's
// `layers:` entries take, so a design is exactly what `xbarsim run` would simulate).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

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

bool is_layer_key(const std::string& k) { return std::find(kLayerKeys.begin(), kLayerKeys.end(), k) != kLayerKeys.end(); }

std::string resolve(const std::string& dir, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(dir) / p).lexically_normal().string();
}

// Checks one choice of a gene so that a bad space fails at load, not in generation 7.
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
        if (!fs::exists(v)) fail("is not a config file");
    } else if (key == "tech") {
        try {
            cost::find_tech_file(v, fs::path(config_file).parent_path().string());
        } catch (const Error& e) {
            fail(std::string("is not a technology: ") + e.what());
        }
    } else {
        char* end = nullptr;
        const long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < 0) fail("must be a non-negative integer");
        if ((key == "columns_per_adc" || key == "slices" || key.rfind("array", 0) == 0) && n < 1) fail("must be positive");
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
    if (!fs::exists(s.base_config)) yaml_fail(path, root["base_config"], "base_config", "no such file: " + s.base_config);

    const YAML::Node nets = root["networks"];
    if (!nets.IsDefined() || !nets.IsSequence() || nets.size() == 0)
        yaml_fail(path, nets.IsDefined() ? nets : root, "networks", "expected a non-empty list of ONNX files");
    std::vector<std::string> net_names;
    for (const auto& n : nets) {
        if (!n.IsScalar()) yaml_fail(path, n, "networks", "expected file names");
        const std::string p = resolve(dir, n.Scalar());
        if (!fs::exists(p)) yaml_fail(path, n, "networks", "no such file: " + p);
        s.networks.push_back(p);
        net_names.push_back(n.Scalar());
    }
    if (s.networks.size() > 1) s.problem.genes.push_back({"network", "network", -1, net_names});

    const YAML::Node groups = root["layer_groups"];
    if (groups.IsDefined() && !groups.IsNull()) {
        if (groups.IsScalar()) {
            s.layer_group_count = static_cast<int>(yaml_int(path, root, "layer_groups", 1));
            if (s.layer_group_count < 1) yaml_fail(path, groups, "layer_groups", "must be at least 1");
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
            for (const auto& c : g.choices) check_choice(path, kv.second, "genes." + key, key, c, s.base_config);
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
                for (const auto& c : g.choices) check_choice(path, kv.second, "group_genes." + key, key, c, s.base_config);
                s.problem.genes.push_back(g);
            }
    }
    if (s.problem.genes.empty()) yaml_fail(path, root, "genes", "the space has no genes to search");

    // The baseline: a value for every gene key (per-group genes: the same value in every group).
    const YAML::Node base = root["baseline"];
    if (!base.IsDefined() || !base.IsMap()) yaml_fail(path, base.IsDefined() ? base : root, "baseline", "expected a map of gene values");
    for (const auto& kv : base) {
        const std::string key = kv.first.Scalar();
        const bool known = std::any_of(s.problem.genes.begin(), s.problem.genes.end(), [&](const Gene& g) { return g.key == key; });
        if (!known) yaml_fail(path, kv.first, "baseline." + key, "is not a gene of this space");
    }
    for (const auto& g : s.problem.genes) {
        const YAML::Node v = base[g.key];
        if (!v.IsDefined() || !v.IsScalar()) yaml_fail(path, base, "baseline." + g.key, "missing (every gene needs a baseline value)");
        std::string want = v.Scalar();
        if (g.key == "device") want = resolve(dir, want);
        const auto it = std::find(g.choices.begin(), g.choices.end(), want);
        if (it == g.choices.end()) yaml_fail(path, v, "baseline." + g.key, "'" + v.Scalar() + "' is not one of the gene's choices");
        s.problem.baseline.push_back(static_cast<int>(it - g.choices.begin()));
    }

    const YAML::Node obj = root["objectives"];
    if (!obj.IsDefined() || !obj.IsSequence()) yaml_fail(path, obj.IsDefined() ? obj : root, "objectives", "expected a list (two to four)");
    for (const auto& o : obj) {
        try {
            s.problem.objectives.push_back(parse_objective(o.Scalar()));
        } catch (const Error& e) {
            yaml_fail(path, o, "objectives", e.what());
        }
    }
    if (s.problem.objectives.size() < 2 || s.problem.objectives.size() > 4) yaml_fail(path, obj, "objectives", "give two to four objectives");

    const YAML::Node c = root["constraints"];
    yaml_check_keys(path, c, "constraints", {"area_mm2_max", "accuracy_min", "accuracy_loss_max"});
    s.problem.constraints.area_mm2_max = yaml_number(path, c, "area_mm2_max", 0.0, "constraints");
    s.problem.constraints.accuracy_min = yaml_number(path, c, "accuracy_min", 0.0, "constraints");
    s.problem.constraints.accuracy_loss_max = yaml_number(path, c, "accuracy_loss_max", -1.0, "constraints");

    const YAML::Node f = root["fitness"];
    yaml_check_keys(path, f, "fitness", {"images", "trials", "calibration_images", "calibration_data", "backend", "batch", "workers"});
    s.fitness.images = yaml_int(path, f, "images", s.fitness.images, "fitness");
    s.fitness.trials = yaml_int(path, f, "trials", s.fitness.trials, "fitness");
    s.fitness.calibration_images = yaml_int(path, f, "calibration_images", s.fitness.calibration_images, "fitness");
    s.fitness.calibration_data = resolve(dir, yaml_string(path, f, "calibration_data", "", "fitness"));
    s.fitness.backend = yaml_string(path, f, "backend", s.fitness.backend, "fitness");
    s.fitness.batch = yaml_int(path, f, "batch", s.fitness.batch, "fitness");
    s.fitness.workers = fitness_workers(path, f);
    if (s.fitness.images < 1 || s.fitness.trials < 1 || s.fitness.calibration_images < 1 || s.fitness.batch < 1)
        yaml_fail(path, f, "fitness", "images, trials, calibration_images and batch must be positive");

    const YAML::Node fin = root["final"];
    yaml_check_keys(path, fin, "final", {"data", "trials", "images", "max_points"});
    s.final_eval.data = resolve(dir, yaml_string(path, fin, "data", "", "final"));
    s.final_eval.trials = yaml_int(path, fin, "trials", s.final_eval.trials, "final");
    s.final_eval.images = yaml_int(path, fin, "images", s.final_eval.images, "final");
    s.final_eval.max_points = yaml_int(path, fin, "max_points", s.final_eval.max_points, "final");
    if (s.final_eval.trials < 1 || s.final_eval.images < 0 || s.final_eval.max_points < 0)
        yaml_fail(path, fin, "final", "trials must be positive, images and max_points non-negative");

    const YAML::Node se = root["search"];
    yaml_check_keys(path, se, "search", {"population", "generations", "seed", "hv_reference"});
    s.defaults.population = static_cast<int>(yaml_int(path, se, "population", s.defaults.population, "search"));
    s.defaults.generations = static_cast<int>(yaml_int(path, se, "generations", s.defaults.generations, "search"));
    s.defaults.seed = static_cast<uint64_t>(yaml_int(path, se, "seed", static_cast<int64_t>(s.defaults.seed), "search"));
    s.defaults.hv_reference = yaml_number(path, se, "hv_reference", s.defaults.hv_reference, "search");
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

namespace {

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

}  // namespace

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
