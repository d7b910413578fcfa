// The `cost:` section of a config (docs/cost.md): strict keys, typed values, ranges checked.
#include "xbarsim/cost/cost_config.hpp"

#include "xbarsim/yaml_util.hpp"

namespace xbarsim::cost {

namespace {

YAML::Node at(const YAML::Node& map, const char* key) {
    if (!map.IsDefined() || map.IsNull() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return map[key];
}

int positive_int(const std::string& file, const YAML::Node& map, const char* key, int fallback) {
    const int64_t v = yaml_int(file, map, key, fallback, "cost");
    if (v < 1 || v > (int64_t{1} << 20)) yaml_fail(file, at(map, key), std::string("cost.") + key, "must be 1..1048576");
    return static_cast<int>(v);
}

double fraction(const std::string& file, const YAML::Node& map, const char* key, double fallback) {
    const double v = yaml_number(file, map, key, fallback, "cost");
    if (!(v >= 0.0 && v <= 1.0)) yaml_fail(file, at(map, key), std::string("cost.") + key, "must be in [0, 1]");
    return v;
}

}  // namespace

CostConfig parse_cost_config(const YAML::Node& root, const std::string& file) {
    CostConfig c;
    c.file = file;
    const YAML::Node n = at(root, "cost");
    if (!n.IsDefined() || n.IsNull()) return c;
    yaml_check_keys(file, n, "cost",
                    {"tech", "cell", "r_on_ohm", "on_off_ratio", "execution", "synchronous", "clock_ns", "interconnect",
                     "bus_width_bits", "arrays_per_tile", "activation_bits", "digital_macs_per_cycle", "input_duty",
                     "weight_level_fraction"});
    c.tech = yaml_string(file, n, "tech", c.tech, "cost");
    if (c.tech.empty()) yaml_fail(file, at(n, "tech"), "cost.tech", "must name a node (22nm) or a technology file");
    c.cell = yaml_string(file, n, "cell", c.cell, "cost");
    // Overrides of the device table, bounded like its entries (docs/cost.md): a resistance below
    // 1 ohm or a ratio above 1e12 is a typo, and inf would turn every figure of the report into
    // inf or nan. Absent keys keep 0 = "from the table".
    if (at(n, "r_on_ohm").IsDefined()) {
        c.r_on_ohm = yaml_number(file, n, "r_on_ohm", 0.0, "cost");
        if (!(c.r_on_ohm > 0)) yaml_fail(file, at(n, "r_on_ohm"), "cost.r_on_ohm", "must be positive (ohms)");
        c.r_on_ohm = yaml_number_in(file, n, "r_on_ohm", 0.0, kMinResistanceOhm, kMaxResistanceOhm, "cost");
    }
    if (at(n, "on_off_ratio").IsDefined()) {
        c.on_off_ratio = yaml_number(file, n, "on_off_ratio", 0.0, "cost");
        if (!(c.on_off_ratio >= 1)) yaml_fail(file, at(n, "on_off_ratio"), "cost.on_off_ratio", "must be at least 1");
        c.on_off_ratio = yaml_number_in(file, n, "on_off_ratio", 0.0, 1.0, kMaxOnOffRatio, "cost");
    }
    const std::string execution = yaml_string(file, n, "execution", "", "cost");
    if (execution == "layer_by_layer") c.execution = Execution::LayerByLayer;
    else if (execution == "pipelined") c.execution = Execution::Pipelined;
    else if (!execution.empty()) yaml_fail(file, at(n, "execution"), "cost.execution", "must be layer_by_layer or pipelined");
    c.synchronous = yaml_bool(file, n, "synchronous", c.synchronous, "cost");
    c.clock_ns = yaml_number(file, n, "clock_ns", c.clock_ns, "cost");
    if (!(c.clock_ns >= 0 && c.clock_ns <= kMaxClockNs))
        yaml_fail(file, at(n, "clock_ns"), "cost.clock_ns", "must be 0 (set by the sensing cycle) or a finite period up to 1e6 ns (1 kHz)");
    if (c.clock_ns > 0 && !c.synchronous)
        yaml_fail(file, at(n, "clock_ns"), "cost.clock_ns", "a fixed clock needs synchronous: true");
    const std::string ic = yaml_string(file, n, "interconnect", "", "cost");
    if (ic == "htree") c.interconnect = InterconnectKind::HTree;
    else if (ic == "bus") c.interconnect = InterconnectKind::Bus;
    else if (!ic.empty()) yaml_fail(file, at(n, "interconnect"), "cost.interconnect", "must be htree or bus");
    c.bus_width_bits = positive_int(file, n, "bus_width_bits", c.bus_width_bits);
    c.arrays_per_tile = positive_int(file, n, "arrays_per_tile", c.arrays_per_tile);
    c.activation_bits = positive_int(file, n, "activation_bits", c.activation_bits);
    if (c.activation_bits > 32) yaml_fail(file, at(n, "activation_bits"), "cost.activation_bits", "must be 1..32");
    c.digital_macs_per_cycle = positive_int(file, n, "digital_macs_per_cycle", c.digital_macs_per_cycle);
    c.input_duty = fraction(file, n, "input_duty", c.input_duty);
    c.weight_level_fraction = fraction(file, n, "weight_level_fraction", c.weight_level_fraction);
    return c;
}

YAML::Node cost_config_to_yaml(const CostConfig& c) {
    YAML::Node n;
    n["tech"] = c.tech;
    n["cell"] = c.cell.empty() ? std::string("(from device.model)") : c.cell;
    if (c.r_on_ohm > 0) n["r_on_ohm"] = c.r_on_ohm;
    if (c.on_off_ratio > 0) n["on_off_ratio"] = c.on_off_ratio;
    n["execution"] = c.execution == Execution::LayerByLayer ? "layer_by_layer" : "pipelined";
    n["synchronous"] = c.synchronous;
    n["clock_ns"] = c.clock_ns;
    n["interconnect"] = c.interconnect == InterconnectKind::HTree ? "htree" : "bus";
    n["bus_width_bits"] = c.bus_width_bits;
    n["arrays_per_tile"] = c.arrays_per_tile;
    n["activation_bits"] = c.activation_bits;
    n["digital_macs_per_cycle"] = c.digital_macs_per_cycle;
    n["input_duty"] = c.input_duty;
    n["weight_level_fraction"] = c.weight_level_fraction;
    return n;
}

}  // namespace xbarsim::cost
