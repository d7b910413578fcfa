// The `cost:` config section and the per-layer ADC family: defaults, every key, and errors that
// name the file, key and line.
#include "cost_test_util.hpp"
#include "xbarsim/analog_plan.hpp"

namespace xbarsim::test {
namespace {

TEST(CostConfig, DefaultsAndEveryKey) {
    const Config d = config_from_yaml("");
    EXPECT_EQ(d.cost.tech, "22nm");
    EXPECT_EQ(d.cost.execution, cost::Execution::LayerByLayer);
    EXPECT_TRUE(d.cost.synchronous);
    EXPECT_EQ(d.cost.interconnect, cost::InterconnectKind::HTree);
    EXPECT_DOUBLE_EQ(d.cost.input_duty, 0.10);
    const Config c = config_from_yaml(R"(
cost:
  tech: 7nm
  cell: fefet
  r_on_ohm: 12345
  on_off_ratio: 20
  execution: pipelined
  synchronous: true
  clock_ns: 3.5
  interconnect: bus
  bus_width_bits: 256
  arrays_per_tile: 4
  activation_bits: 6
  digital_macs_per_cycle: 32
  input_duty: 0.2
  weight_level_fraction: 0.3
)");
    EXPECT_EQ(c.cost.tech, "7nm");
    EXPECT_EQ(c.cost.cell, "fefet");
    EXPECT_DOUBLE_EQ(c.cost.r_on_ohm, 12345);
    EXPECT_DOUBLE_EQ(c.cost.on_off_ratio, 20);
    EXPECT_EQ(c.cost.execution, cost::Execution::Pipelined);
    EXPECT_DOUBLE_EQ(c.cost.clock_ns, 3.5);
    EXPECT_EQ(c.cost.interconnect, cost::InterconnectKind::Bus);
    EXPECT_EQ(c.cost.bus_width_bits, 256);
    EXPECT_EQ(c.cost.arrays_per_tile, 4);
    EXPECT_EQ(c.cost.activation_bits, 6);
    EXPECT_EQ(c.cost.digital_macs_per_cycle, 32);
    EXPECT_DOUBLE_EQ(c.cost.input_duty, 0.2);
    EXPECT_DOUBLE_EQ(c.cost.weight_level_fraction, 0.3);
    // The resolved config (reports) carries the section.
    const YAML::Node y = config_to_yaml(c);
    EXPECT_EQ(y["cost"]["execution"].as<std::string>(), "pipelined");
    EXPECT_EQ(y["cost"]["interconnect"].as<std::string>(), "bus");
}

TEST(CostConfig, ErrorsNameTheKeyAndLine) {
    auto err = [](const std::string& yaml) { return error_of([&] { config_from_yaml(yaml); }); };
    std::string e = err("cost:\n  tech: 22nm\n  colck_ns: 2\n");
    EXPECT_HAS(e, ":4: key 'cost.colck_ns': unknown key");
    EXPECT_HAS(err("cost: {execution: sideways}\n"), "cost.execution': must be layer_by_layer or pipelined");
    EXPECT_HAS(err("cost: {interconnect: mesh}\n"), "must be htree or bus");
    EXPECT_HAS(err("cost: {input_duty: 1.5}\n"), "cost.input_duty': must be in [0, 1]");
    EXPECT_HAS(err("cost: {bus_width_bits: 0}\n"), "cost.bus_width_bits");
    EXPECT_HAS(err("cost: {r_on_ohm: -5}\n"), "cost.r_on_ohm': must be positive");
    EXPECT_HAS(err("cost: {on_off_ratio: 0.5}\n"), "cost.on_off_ratio");
    EXPECT_HAS(err("cost: {synchronous: false, clock_ns: 2}\n"), "a fixed clock needs synchronous: true");
    EXPECT_HAS(err("cost: {synchronous: maybe}\n"), "expected true or false");
    EXPECT_HAS(err("cost: [1, 2]\n"), "cost");
    EXPECT_HAS(err("costs: {}\n"), "unknown key (allowed here: name, description, run, analog, device, layers, cost)");
}

TEST(CostConfig, AdcTypePerLayer) {
    const Graph g = GraphBuilder({1, 32}).linear(16, "a").relu("r").linear(8, "b").build();
    const Config c = config_from_yaml(R"(
analog:
  adc: {bits: 6, type: flash}
layers:
  - {match: b, adc: {type: ramp, bits: 4}}
)");
    EXPECT_EQ(c.analog.defaults.adc_type, AdcType::Flash);
    const AnalogPlan p = make_analog_plan(g, c.analog, 1);
    EXPECT_EQ(p.layers[0].config.adc_type, AdcType::Flash);
    EXPECT_EQ(p.layers[1].config.adc_type, AdcType::Ramp);
    EXPECT_EQ(p.layers[1].config.adc_bits, 4);
    EXPECT_EQ(config_from_yaml("analog: {}\n").analog.defaults.adc_type, AdcType::Sar);  // the default
    EXPECT_EQ(layer_to_yaml(p.layers[1].config)["adc"]["type"].as<std::string>(), "ramp");
    EXPECT_HAS(error_of([] { config_from_yaml("analog:\n  adc: {type: pipeline}\n"); }), ":3: key 'analog.adc.type': must be flash, sar or ramp");
}

TEST(CostTech, LookupByNameOrPath) {
    const std::string file = cost::find_tech_file("22nm", repo("configs"));
    EXPECT_HAS(file, "configs/tech/22nm.yaml");
    EXPECT_EQ(cost::find_tech_file(repo("configs/tech/7nm.yaml")), repo("configs/tech/7nm.yaml"));
    EXPECT_HAS(error_of([] { cost::find_tech_file("5nm", "/nonexistent"); }), "technology '5nm' not found (tried ");
    EXPECT_HAS(error_of([] { cost::load_tech("/nonexistent/x.yaml"); }), "/nonexistent/x.yaml: cannot open");
    const auto& t = tech_node("22nm");
    EXPECT_HAS(error_of([&] { t.device("mram"); }), "no device 'mram' in the technology's device table (available: fefet, pcm, rram, sonos, sram)");
}

}  // namespace
}  // namespace xbarsim::test
