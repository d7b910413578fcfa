#pragma once
// Simulation configuration, read from YAML with strict validation (docs/config.md lists every key).
// Command-line flags override the file; the fully resolved config goes into every report.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "xbarsim/analog_config.hpp"
#include "xbarsim/cost/cost_config.hpp"

namespace xbarsim {

// Bounds of the run keys (docs/config.md): far beyond any real run, so that a typo fails at load
// instead of allocating without bound or running for ever.
inline constexpr int64_t kMaxBatchSize = 65536;
inline constexpr int64_t kMaxThreads = 4096;
inline constexpr int64_t kMaxTrials = 1000000;

struct RunConfig {
    std::string backend = "cpu";  // cpu, cuda, or auto (cuda when a GPU is present)
    int64_t batch_size = 64;      // samples per forward pass
    int64_t images = 0;           // evaluate the first N samples; 0 = the whole dataset
    int64_t threads = 0;          // CPU threads; 0 = all cores
    int64_t trials = 1;           // Monte Carlo chip instances (analog runs)
    uint64_t seed = 1;            // seed of every random draw (programming error, drift, read noise)
};

struct Config {
    std::string name = "digital";
    std::string description = "FP32 digital reference (no analog layers)";
    RunConfig run;
    AnalogConfig analog;
    cost::CostConfig cost;  // `cost:` section: technology and chip organization for the cost model
    std::string source = "(built-in defaults)";  // file the config came from
};

// Reads and validates a config file. Unknown keys, wrong types and out-of-range values are errors
// naming the file, the key and its line.
Config load_config(const std::string& path);

// The resolved config as YAML (every key, defaults included).
YAML::Node config_to_yaml(const Config& config);

}  // namespace xbarsim
