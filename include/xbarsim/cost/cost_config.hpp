#pragma once
// The `cost:` section of a config: which technology and cell the chip is built from and how it is
// organized and clocked. Per-layer circuit choices (ADC family and bits, columns per ADC, array
// size, input slicing) live with the analog layer settings (`analog:`/`layers:`), so the simulator
// and the cost model read the same mapping. docs/cost.md lists every key.
#include <yaml-cpp/yaml.h>

#include <string>

namespace xbarsim::cost {

// Bounds of the physical values of `cost:` and of technology files (docs/cost.md): far outside
// any real device or circuit, so that a value beyond them is a typo, not a design.
inline constexpr double kMinResistanceOhm = 1.0;     // r_on_ohm
inline constexpr double kMaxResistanceOhm = 1e12;    // r_on_ohm (1 TOhm)
inline constexpr double kMaxOnOffRatio = 1e12;       // on_off_ratio
inline constexpr double kMaxClockNs = 1e6;           // clock_ns (a 1 kHz clock)
inline constexpr double kMaxTechConstant = 1e9;      // any other constant of a technology file, in its unit

enum class Execution {
    LayerByLayer,  // one layer at a time, each image through the whole network before the next
    Pipelined,     // every layer works on a different image; an image leaves every slowest-layer time
};

enum class InterconnectKind { HTree, Bus };

struct CostConfig {
    std::string tech = "22nm";   // node name (configs/tech/<name>.yaml) or a file path
    std::string cell;            // device table entry (rram, pcm, sram, fefet, sonos); "" = from device.model
    double r_on_ohm = 0;         // overrides the table's R_on when > 0
    double on_off_ratio = 0;     // overrides the table's on/off ratio when > 0
    Execution execution = Execution::LayerByLayer;
    bool synchronous = true;     // one clock for the chip, set by the slowest sensing cycle
    double clock_ns = 0;         // > 0: a fixed clock instead; slower sensing cycles take several clocks
    InterconnectKind interconnect = InterconnectKind::HTree;
    int bus_width_bits = 64;     // activation bits moved between buffer and arrays per clock
    int arrays_per_tile = 16;    // arrays sharing one interconnect leaf (tile)
    int activation_bits = 8;     // bits of a layer output written to the buffer
    int digital_macs_per_cycle = 256;  // MAC units serving layers kept digital
    // Activity assumed when no simulation measured it (see docs/cost.md for the sources).
    double input_duty = 0.10;          // mean drive of a row per input slice, as a fraction of full scale
    double weight_level_fraction = 0.5;  // mean programmed level of a cell as a fraction of its range
    std::string file;            // config file, for messages
};

// Parses `root["cost"]` (absent = defaults) with strict key checking; errors name the file, key
// and line.
CostConfig parse_cost_config(const YAML::Node& root, const std::string& file);
YAML::Node cost_config_to_yaml(const CostConfig& config);

}  // namespace xbarsim::cost
