#pragma once
// Shared by the cost-model tests: small graphs built in code (so every count is known), configs
// from YAML text, and the bundled technology files.
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "graph_builder.hpp"
#include "test_util.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/cost/cost_model.hpp"
#include "xbarsim/graph.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::test {

inline Config config_from_yaml(const std::string& yaml) {
    TempDir dir;
    const std::string path = dir.file("c.yaml");
    std::ofstream(path) << "name: t\n" << yaml;
    return load_config(path);
}

inline const cost::TechParams& tech_node(const std::string& name) {
    static std::map<std::string, cost::TechParams> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, cost::load_tech(repo("configs/tech/" + name + ".yaml"))).first;
    return it->second;
}

// |got / want - 1| <= rel
#define EXPECT_REL(got, want, rel) \
    EXPECT_NEAR((got) / (want), 1.0, (rel)) << #got " = " << (got) << ", expected " << (want)

}  // namespace xbarsim::test
