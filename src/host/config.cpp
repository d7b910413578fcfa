#include "xbarsim/config.hpp"

#include "xbarsim/error.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim {

Config load_config(const std::string& path) {
    const YAML::Node root = load_yaml_file(path);
    Config c;
    c.source = path;
    if (!root.IsDefined() || root.IsNull()) return c;
    yaml_check_keys(path, root, "", {"name", "description", "run", "analog", "device", "layers", "cost"});
    c.name = yaml_string(path, root, "name", c.name);
    c.description = yaml_string(path, root, "description", c.description);
    const YAML::Node run = root["run"];
    yaml_check_keys(path, run, "run", {"backend", "batch_size", "images", "threads", "trials", "seed"});
    c.run.backend = yaml_string(path, run, "backend", c.run.backend, "run");
    if (c.run.backend != "cpu" && c.run.backend != "cuda" && c.run.backend != "auto")
        yaml_fail(path, run["backend"], "run.backend", "unknown backend '" + c.run.backend + "' (available: cpu, cuda, auto)");
    // Upper bounds are far beyond any real run; a larger value is a typo that would otherwise
    // allocate without bound or run for ever (docs/config.md).
    c.run.batch_size = yaml_int(path, run, "batch_size", c.run.batch_size, "run");
    if (c.run.batch_size < 1) yaml_fail(path, run["batch_size"], "run.batch_size", "must be at least 1");
    c.run.batch_size = yaml_int_in(path, run, "batch_size", c.run.batch_size, 1, kMaxBatchSize, "run");
    c.run.images = yaml_int(path, run, "images", c.run.images, "run");
    if (c.run.images < 0) yaml_fail(path, run["images"], "run.images", "must be 0 (all) or positive");
    c.run.threads = yaml_int(path, run, "threads", c.run.threads, "run");
    if (c.run.threads < 0) yaml_fail(path, run["threads"], "run.threads", "must be 0 (all cores) or positive");
    c.run.threads = yaml_int_in(path, run, "threads", c.run.threads, 0, kMaxThreads, "run");
    c.run.trials = yaml_int(path, run, "trials", c.run.trials, "run");
    if (c.run.trials < 1) yaml_fail(path, run["trials"], "run.trials", "must be at least 1");
    c.run.trials = yaml_int_in(path, run, "trials", c.run.trials, 1, kMaxTrials, "run");
    const int64_t seed = yaml_int(path, run, "seed", static_cast<int64_t>(c.run.seed), "run");
    if (seed < 0) yaml_fail(path, run["seed"], "run.seed", "must not be negative");
    c.run.seed = static_cast<uint64_t>(seed);
    c.analog = parse_analog_config(root, path);
    c.cost = cost::parse_cost_config(root, path);
    return c;
}

YAML::Node config_to_yaml(const Config& c) {
    YAML::Node n;
    n["name"] = c.name;
    n["description"] = c.description;
    n["run"]["backend"] = c.run.backend;
    n["run"]["batch_size"] = c.run.batch_size;
    n["run"]["images"] = c.run.images;
    n["run"]["threads"] = c.run.threads;
    n["run"]["trials"] = c.run.trials;
    n["run"]["seed"] = c.run.seed;
    n["analog"] = analog_to_yaml(c.analog);
    n["cost"] = cost::cost_config_to_yaml(c.cost);
    return n;
}

}  // namespace xbarsim
