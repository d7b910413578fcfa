#include "xbarsim/config.hpp"

#include "xbarsim/error.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim {

Config load_config(const std::string& path) {
    const YAML::Node root = load_yaml_file(path);
    Config c;
    c.source = path;
    if (!root.IsDefined() || root.IsNull()) return c;
    yaml_check_keys(path, root, "", {"name", "description", "run"});
    c.name = yaml_string(path, root, "name", c.name);
    c.description = yaml_string(path, root, "description", c.description);
    const YAML::Node run = root["run"];
    yaml_check_keys(path, run, "run", {"backend", "batch_size", "images", "threads"});
    c.run.backend = yaml_string(path, run, "backend", c.run.backend, "run");
    if (c.run.backend != "cpu") yaml_fail(path, run["backend"], "run.backend", "unknown backend '" + c.run.backend + "' (available: cpu)");
    c.run.batch_size = yaml_int(path, run, "batch_size", c.run.batch_size, "run");
    if (c.run.batch_size < 1) yaml_fail(path, run["batch_size"], "run.batch_size", "must be at least 1");
    c.run.images = yaml_int(path, run, "images", c.run.images, "run");
    if (c.run.images < 0) yaml_fail(path, run["images"], "run.images", "must be 0 (all) or positive");
    c.run.threads = yaml_int(path, run, "threads", c.run.threads, "run");
    if (c.run.threads < 0) yaml_fail(path, run["threads"], "run.threads", "must be 0 (all cores) or positive");
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
    return n;
}

}  // namespace xbarsim
