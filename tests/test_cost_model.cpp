// The cost model's per-layer and chip-level arithmetic against closed forms computed here from
// the mapping (row/column blocks, slices, input slices, columns per ADC) and the technology
// constants: counts, areas, energies, cycles, clock, execution modes and measured activity.
#include <cmath>

#include "cost_test_util.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/cost/adc_model.hpp"

namespace xbarsim::test {
namespace {

using cost::Component;

const cost::ComponentCost& comp(const cost::LayerCost& l, Component c) { return l.components[static_cast<size_t>(c)]; }
const cost::ComponentCost& comp(const cost::Components& cs, Component c) { return cs[static_cast<size_t>(c)]; }

cost::CostReport estimate(const Graph& g, const Config& c, const cost::ActivityStats* activity = nullptr,
                          const std::string& node = "22nm") {
    const AnalogPlan plan = make_analog_plan(g, c.analog, 1);
    return cost::estimate_cost(g, plan, c.cost, tech_node(node), activity);
}

// One Linear layer K = 300 -> N = 200 on 128x128 arrays: 3 row blocks x 2 column blocks.
const char* kLinearConfig = R"(
analog:
  mapping: differential
  weight_bits: 8
  array: {rows: 128, cols: 128}
  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0}
  adc: {bits: 6, type: sar, columns_per_adc: 4, range: max}
cost: {cell: rram, bus_width_bits: 32}
)";

TEST(CostModel, LinearLayerCountsAreasEnergiesAndCyclesFollowTheMapping) {
    const Graph g = GraphBuilder({1, 300}).linear(200, "fc").build();
    const Config c = config_from_yaml(kLinearConfig);
    const auto& t = tech_node("22nm");
    const cost::CostReport r = estimate(g, c);
    ASSERT_EQ(r.layers.size(), 1u);
    const cost::LayerCost& l = r.layers[0];
    const cost::DeviceCost& rram = t.devices.at("rram");

    // Mapping: ceil(300/128) = 3 row blocks, ceil(200/128) = 2 column blocks, 1 weight slice.
    EXPECT_EQ(l.row_blocks, 3);
    EXPECT_EQ(l.col_blocks, 2);
    EXPECT_EQ(l.counts.arrays, 6);
    EXPECT_EQ(l.input_slices, 8);  // unsigned 8-bit inputs, one bit per slice
    EXPECT_DOUBLE_EQ(l.utilization, 300.0 * 200.0 / (384.0 * 256.0));
    // Every output column of every row block is converted once per input slice.
    const int64_t conversions = 8 * 3 * 200;
    EXPECT_EQ(l.counts.adc_conversions, conversions);
    EXPECT_EQ(l.counts.array_activations, 8 * 6);
    EXPECT_EQ(l.counts.macs, 300 * 200);
    // 4 columns per ADC: 4 conversions in sequence per input slice.
    EXPECT_EQ(l.counts.sensing_cycles, 8 * 4);
    // Bus: (300 inputs + 200 outputs) x 8 bits over 32 bits per clock; adder tree of 3 row blocks.
    EXPECT_EQ(l.counts.cycles, 32 + (300 * 8 + 200 * 8 + 31) / 32 + (2 + 1));
    EXPECT_EQ(l.counts.adder_tree_adds, 200 * (3 - 1));

    // Clock: the sensing cycle (array read + 7 SAR cycles of 1 ns) times the latency factor.
    const double sensing = t.array_read_ns + 7 * t.sar.cycle_ns;
    EXPECT_DOUBLE_EQ(l.sensing_ns, sensing);
    EXPECT_DOUBLE_EQ(r.clock_ns, t.latency_factor * sensing);
    EXPECT_NEAR(r.latency_ns, static_cast<double>(l.counts.cycles) * r.clock_ns, 1e-9 * r.latency_ns);
    EXPECT_DOUBLE_EQ(r.interval_ns, r.latency_ns);

    // ADC: (a + b·B)(B + 1) per conversion; 128/4 = 32 ADCs per array of area a + b·B.
    const double e_sar = (t.sar.power_uw_base + 6 * t.sar.power_uw_per_bit) * 7 * t.sar.cycle_ns;
    EXPECT_REL(comp(l, Component::Adc).energy_fj, conversions * e_sar, 1e-12);
    EXPECT_REL(comp(l, Component::Adc).area_um2,
               6.0 * 32 * (t.sar.transistors_base + 6 * t.sar.transistors_per_bit) * t.transistor_um2 * t.layout_factor, 1e-12);
    // Cells: differential pairs, 128 x 256 cells per array, 48 F² at the 40 nm array feature.
    EXPECT_REL(comp(l, Component::Array).area_um2, 6.0 * 128 * 256 * rram.cell_area_f2 * 0.04 * 0.04, 1e-12);
    // Read energy V²·G·t: default duty 0.1 and mean pair conductance g_min + f(1 - g_min)/2.
    const double g_min = 1.0 / rram.on_off_ratio;
    const double g_mean = g_min + 0.5 * (1 - g_min) / 2;
    const double cell_seconds = 8.0 * 200 * 300 * 0.1 * 2 * g_mean;  // input slices x columns x rows x duty x cells
    EXPECT_REL(comp(l, Component::Array).energy_fj,
               cell_seconds * rram.read_voltage_v * rram.read_voltage_v / rram.r_on_ohm * sensing * 1e-9 * 1e15, 1e-12);
    // Column mux: a gate per column and a 4-output decoder per array.
    EXPECT_REL(comp(l, Component::ColumnMux).area_um2,
               6.0 * (128 * t.mux_switch_transistors + 4 * t.mux_decoder_transistors_per_output) * t.transistor_um2 * t.layout_factor,
               1e-12);
    // Shift-add: 6 + 7 + 1 bits per accumulator; one adder per ADC, one accumulator per column.
    const double w_sa = 6 + 7 + 1;
    EXPECT_REL(comp(l, Component::ShiftAdd).energy_fj, conversions * w_sa * (t.adder_bit_fj + t.register_bit_fj), 1e-12);
    EXPECT_REL(comp(l, Component::ShiftAdd).area_um2,
               6.0 * w_sa * (32 * t.adder_bit_transistors + 128 * t.register_bit_transistors) * t.transistor_um2 * t.layout_factor,
               1e-12);
    // RRAM writes at 2 V > 1.5 V: level shifters on 2 x 128 rows and 256 cell columns per array.
    EXPECT_REL(comp(l, Component::WriteDrivers).area_um2,
               6.0 * (2 * 128 + 256) * t.level_shifter_transistors * t.transistor_um2 * t.layout_factor, 1e-12);
    EXPECT_EQ(comp(l, Component::WriteDrivers).energy_fj, 0.0);
    // Buffer traffic: inputs read and outputs written once.
    EXPECT_REL(comp(l, Component::Buffer).energy_fj, 300 * 8 * t.buffer_read_fj_per_bit + 200 * 8 * t.buffer_write_fj_per_bit, 1e-12);
}

TEST(CostModel, MeasuredActivityReplacesTheDefaults) {
    const Graph g = GraphBuilder({1, 300}).linear(200, "fc").build();
    const Config c = config_from_yaml(kLinearConfig);
    cost::ActivityStats a;
    a.layers["fc"].input_duty = 0.3;
    a.layers["fc"].mean_conductance = 0.4;
    const cost::CostReport base = estimate(g, c);
    const cost::CostReport r = estimate(g, c, &a);
    const auto& l = r.layers[0];
    EXPECT_TRUE(l.activity_measured);
    EXPECT_FALSE(base.layers[0].activity_measured);
    EXPECT_DOUBLE_EQ(l.input_duty, 0.3);
    EXPECT_DOUBLE_EQ(l.mean_conductance, 0.4);
    const double g_min = 1.0 / 150;
    const double ratio = (0.3 * 0.4) / (0.1 * (g_min + 0.25 * (1 - g_min)));
    EXPECT_REL(comp(l, Component::Array).energy_fj, comp(base.layers[0], Component::Array).energy_fj * ratio, 1e-12);
    // Only the activity-dependent items change.
    EXPECT_DOUBLE_EQ(comp(l, Component::Adc).energy_fj, comp(base.layers[0], Component::Adc).energy_fj);
    EXPECT_DOUBLE_EQ(r.area_mm2(), base.area_mm2());
}

TEST(CostModel, ReadoutOptionsChangeConversionsAsTheSimulatorDoes) {
    const Graph g = GraphBuilder({1, 300}).linear(200, "fc").build();
    const std::string base = R"(
analog:
  weight_bits: 8
  array: {rows: 128, cols: 128}
  adc: {bits: 5, type: flash, columns_per_adc: 8, range: max}
)";
    // Offset mapping, 4 weight slices: 4x the arrays and conversions; the adder tree also takes
    // the digital zero-point term.
    const auto off = estimate(g, config_from_yaml(base + "  mapping: offset\n  slices: 4\n  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0}\n"));
    EXPECT_EQ(off.layers[0].counts.arrays, 3 * 2 * 4);
    EXPECT_EQ(off.layers[0].counts.adc_conversions, 8 * 3 * 4 * 200);
    EXPECT_EQ(off.layers[0].counts.adder_tree_adds, 200 * (3 * 4 + 1 - 1));
    // Separately digitized differential pairs: twice the conversions and ADC channels.
    const auto sep = estimate(g, config_from_yaml(base + "  differential_readout: separate\n  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0}\n"));
    const auto sub = estimate(g, config_from_yaml(base + "  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0}\n"));
    EXPECT_EQ(sep.layers[0].counts.adc_conversions, 2 * sub.layers[0].counts.adc_conversions);
    EXPECT_REL(comp(sep.layers[0], Component::Adc).area_um2, 2 * comp(sub.layers[0], Component::Adc).area_um2, 1e-12);
    // Analog accumulation of the 8 input slices: one conversion round, 8 + M sensing cycles.
    const auto acc = estimate(g, config_from_yaml(base + "  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0, accumulation: analog}\n"));
    EXPECT_EQ(acc.layers[0].counts.adc_conversions, sub.layers[0].counts.adc_conversions / 8);
    EXPECT_EQ(acc.layers[0].counts.sensing_cycles, 8 + 8);
    EXPECT_EQ(sub.layers[0].counts.sensing_cycles, 8 * 8);
    // Signed inputs: 7 magnitude bits, 7 slices; 2-bit slices: ceil(8/2) = 4.
    const auto sgn = estimate(g, config_from_yaml(base + "  input: {bits: 8, slice_bits: 1, sign: signed, range: 1.0}\n"));
    EXPECT_EQ(sgn.layers[0].input_slices, 7);
    const auto two = estimate(g, config_from_yaml(base + "  input: {bits: 8, slice_bits: 2, sign: unsigned, range: 1.0}\n"));
    EXPECT_EQ(two.layers[0].input_slices, 4);
    // All bits at once through a DAC: one slice, a DAC per row.
    const auto dac = estimate(g, config_from_yaml(base + "  input: {bits: 8, sign: unsigned, range: 1.0}\n"));
    EXPECT_EQ(dac.layers[0].input_slices, 1);
    const auto& t = tech_node("22nm");
    EXPECT_REL(comp(dac.layers[0], Component::InputDrivers).area_um2,
               6.0 * 128 * (t.wl_driver_transistors + 8 * t.dac_transistors_per_bit) * t.transistor_um2 * t.layout_factor, 1e-12);
}

TEST(CostModel, AdcFamiliesFollowTheirLaws) {
    const auto& t = tech_node("22nm");
    for (int b = 2; b <= 8; ++b) {
        const auto f = cost::adc_cost(AdcType::Flash, b, t);
        EXPECT_REL(f.energy_fj, t.flash.power_uw_per_level * (std::ldexp(1.0, b) - 1) * t.flash.conversion_ns, 1e-12);
        EXPECT_DOUBLE_EQ(f.conversion_ns, t.flash.conversion_ns);  // one conversion per sensing cycle
        const auto s = cost::adc_cost(AdcType::Sar, b, t);
        EXPECT_DOUBLE_EQ(s.conversion_ns, (b + 1) * t.sar.cycle_ns);
        const auto r = cost::adc_cost(AdcType::Ramp, b, t);
        EXPECT_DOUBLE_EQ(r.conversion_ns, std::ldexp(1.0, b) * t.ramp.step_ns);
        EXPECT_REL(r.energy_fj, t.ramp.comparator_power_uw * r.conversion_ns + b * t.register_bit_fj, 1e-12);
        EXPECT_GT(r.array_area_um2, 0.0);
        // Flash area doubles (+1 level) per bit; SAR area grows linearly.
        const auto f1 = cost::adc_cost(AdcType::Flash, b + 1, t);
        EXPECT_REL(f1.area_um2 / f.area_um2, (std::ldexp(1.0, b + 1) - 1) / (std::ldexp(1.0, b) - 1), 1e-12);
        const auto s1 = cost::adc_cost(AdcType::Sar, b + 1, t);
        EXPECT_REL(s1.area_um2 - s.area_um2, t.sar.transistors_per_bit * t.transistor_um2 * t.layout_factor, 1e-9);
    }
    EXPECT_HAS(error_of([&] { cost::adc_cost(AdcType::Sar, 0, t); }), "ideal ADC");
}

TEST(CostModel, ColumnsPerAdcTradeAdcsForSensingCycles) {
    const Graph g = GraphBuilder({1, 256}).linear(256, "fc").build();
    auto run = [&](int m) {
        return estimate(g, config_from_yaml(std::string(R"(
analog:
  array: {rows: 128, cols: 128}
  input: {bits: 4, slice_bits: 1, sign: unsigned, range: 1.0}
  adc: {bits: 5, type: flash, range: max, columns_per_adc: )") + std::to_string(m) + "}\n"));
    };
    const auto m1 = run(1), m8 = run(8), m16 = run(16);
    EXPECT_EQ(m8.layers[0].counts.sensing_cycles, 8 * m1.layers[0].counts.sensing_cycles);
    EXPECT_EQ(m16.layers[0].counts.sensing_cycles, 2 * m8.layers[0].counts.sensing_cycles);
    EXPECT_EQ(m8.layers[0].counts.adc_conversions, m1.layers[0].counts.adc_conversions);  // every column is still converted
    EXPECT_REL(comp(m8.layers[0], Component::Adc).area_um2, comp(m1.layers[0], Component::Adc).area_um2 / 8, 1e-12);
    EXPECT_EQ(comp(m1.layers[0], Component::ColumnMux).area_um2, 0.0);  // no sharing, no mux
    // The decoder grows with M: mux area at 16 exceeds that at 8 by 8 decoder outputs per array.
    const auto& t = tech_node("22nm");
    EXPECT_REL(comp(m16.layers[0], Component::ColumnMux).area_um2 - comp(m8.layers[0], Component::ColumnMux).area_um2,
               4.0 * 8 * t.mux_decoder_transistors_per_output * t.transistor_um2 * t.layout_factor, 1e-9);
}

TEST(CostModel, ClockIsSetByTheSlowestSensingCycleUnlessFixedOrAsynchronous) {
    const Graph g = GraphBuilder({1, 128}).linear(128, "a").relu("r").linear(128, "b").build();
    const std::string layers = R"(
analog:
  array: {rows: 128, cols: 128}
  input: {bits: 4, slice_bits: 1, sign: unsigned, range: 1.0}
  adc: {bits: 4, type: flash, range: max}
layers:
  - {match: b, adc: {type: sar}}
)";
    const auto& t = tech_node("22nm");
    const double flash = t.array_read_ns + t.flash.conversion_ns, sar = t.array_read_ns + 5 * t.sar.cycle_ns;
    const auto sync = estimate(g, config_from_yaml(layers));
    EXPECT_DOUBLE_EQ(sync.clock_ns, t.latency_factor * sar);
    // Both layers take one clock per sensing step: same sensing time.
    EXPECT_DOUBLE_EQ(sync.layers[0].latency.sensing_ns, sync.layers[1].latency.sensing_ns);
    const auto async = estimate(g, config_from_yaml(layers + "cost: {synchronous: false}\n"));
    EXPECT_REL(async.layers[0].latency.sensing_ns / async.layers[1].latency.sensing_ns, flash / sar, 1e-12);
    // A fixed 2 ns clock: the flash cycle (1.4 x 1.52 ns) takes 2 clocks, the SAR one (1.4 x 5.52) 4.
    const auto fixed = estimate(g, config_from_yaml(layers + "cost: {clock_ns: 2.0}\n"));
    EXPECT_EQ(fixed.layers[0].counts.sensing_cycles, 2 * 4);
    EXPECT_EQ(fixed.layers[1].counts.sensing_cycles, 4 * 4);
}

TEST(CostModel, PipelinedChipsDeliverAnImageEverySlowestLayer) {
    const Graph g = GraphBuilder({1, 512}).linear(512, "big").relu("r").linear(16, "small").build();
    const std::string base = R"(
analog:
  array: {rows: 128, cols: 128}
  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0}
  adc: {bits: 5, type: sar, range: max, columns_per_adc: 4}
)";
    const auto lbl = estimate(g, config_from_yaml(base));
    const auto pip = estimate(g, config_from_yaml(base + "cost: {execution: pipelined}\n"));
    const double sum = lbl.layers[0].latency.total() + lbl.layers[1].latency.total();
    EXPECT_NEAR(lbl.interval_ns, sum, 1e-9 * sum);
    EXPECT_NEAR(pip.latency_ns, sum, 1e-9 * sum);
    EXPECT_DOUBLE_EQ(pip.interval_ns, std::max(pip.layers[0].latency.total(), pip.layers[1].latency.total()));
    EXPECT_GT(pip.tops(), lbl.tops());
    // Leakage is paid per image interval.
    EXPECT_REL(pip.leakage_energy_uj(), pip.leakage_mw() * pip.interval_ns * 1e-6, 1e-12);
    // The pipelined buffer holds every layer's input (512 + 512 values), layer by layer the
    // largest input + output (512 + 512).
    const auto& t = tech_node("22nm");
    EXPECT_REL(comp(pip.shared, Component::Buffer).area_um2, (512 + 512) * 8 * t.buffer_um2_per_bit, 1e-12);
    EXPECT_REL(comp(lbl.shared, Component::Buffer).area_um2, (512 + 512) * 8 * t.buffer_um2_per_bit, 1e-12);
}

TEST(CostModel, DigitalLayersUseMacUnitsAndTotalsAddUp) {
    const Graph g = GraphBuilder({1, 3, 8, 8}).conv(16, 3, 1, "c1").relu("r").conv(16, 3, 2, "c2").build();
    const Config c = config_from_yaml(R"(
analog:
  array: {rows: 64, cols: 64}
  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0}
  adc: {bits: 6, range: max, columns_per_adc: 2}
layers:
  - {match: c1, digital: true}
cost: {digital_macs_per_cycle: 64}
)");
    const auto& t = tech_node("22nm");
    const auto r = estimate(g, c);
    ASSERT_EQ(r.layers.size(), 2u);
    const auto& d = r.layers[0];
    EXPECT_FALSE(d.analog);
    EXPECT_EQ(d.counts.macs, 27 * 16 * 64);
    EXPECT_REL(comp(d, Component::Digital).energy_fj, 27.0 * 16 * 64 * t.mac8_fj + 27 * 16 * 8 * t.buffer_read_fj_per_bit, 1e-12);
    EXPECT_REL(d.latency.digital_ns, std::ceil(27.0 * 16 * 64 / 64) * r.clock_ns, 1e-12);
    EXPECT_REL(comp(r.shared, Component::Digital).area_um2, 64 * t.mac8_transistors * t.transistor_um2 * t.layout_factor, 1e-12);
    // The grouped conv: 2 groups of K = 8·9 = 72 rows (2 row blocks of 64), 8 columns each.
    const auto& a = r.layers[1];
    EXPECT_TRUE(a.analog);
    EXPECT_EQ(a.row_blocks, 2);
    EXPECT_EQ(a.counts.arrays, 2 * 2 * 1);
    EXPECT_EQ(a.counts.adc_conversions, 64 * 8 * 2 * 2 * 8);  // pixels x slices x groups x row blocks x columns
    // Element-wise ops (the ReLU's 16·64 outputs) are chip-level digital work.
    EXPECT_REL(comp(r.shared, Component::Digital).energy_fj, 16.0 * 64 * t.elementwise_op_fj, 1e-12);
    // Totals are the layers plus the shared items; leakage is the periphery area times the density.
    double area = 0, energy = 0, leak = 0;
    for (size_t k = 0; k < cost::kComponentCount; ++k) {
        double layer_area = 0;
        for (const auto& l : r.layers) layer_area += l.components[k].area_um2;
        EXPECT_REL(r.totals[k].area_um2 + 1, layer_area + r.shared[k].area_um2 + 1, 1e-12);
        area += r.totals[k].area_um2;
        energy += r.totals[k].energy_fj;
        if (k != static_cast<size_t>(Component::Array)) leak += r.totals[k].area_um2 * 1e-6 * t.leakage_uw_per_mm2;
    }
    EXPECT_REL(r.area_mm2(), area * 1e-6, 1e-12);
    EXPECT_REL(r.dynamic_energy_uj(), energy * 1e-9, 1e-12);
    EXPECT_REL(r.leakage_mw(), leak * 1e-3, 1e-12);
    EXPECT_REL(r.tops_per_w(), 2.0 * static_cast<double>(r.counts.macs) / (r.energy_uj() * 1e-6) * 1e-12, 1e-12);
    EXPECT_REL(r.edap(), r.energy_uj() * r.latency_ns * 1e-3 * r.area_mm2(), 1e-12);
}

TEST(CostModel, InterconnectIsAnHtreeOrABusOverTheTiles) {
    const Graph g = GraphBuilder({1, 1024}).linear(1024, "fc").build();
    const std::string base = R"(
analog:
  array: {rows: 128, cols: 128}
  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 1.0}
  adc: {bits: 5, range: max, columns_per_adc: 8}
)";
    const auto& t = tech_node("22nm");
    for (const char* kind : {"htree", "bus"}) {
        const auto r = estimate(g, config_from_yaml(base + "cost: {interconnect: " + kind + ", arrays_per_tile: 16, bus_width_bits: 128}\n"));
        // 64 arrays in 4 tiles + 1 for the buffer; the floorplan side from the area without wires.
        double area = 0;
        for (size_t k = 0; k < cost::kComponentCount; ++k)
            if (k != static_cast<size_t>(Component::Interconnect)) area += r.totals[k].area_um2;
        const double side = std::sqrt(area * 1e-6), leaves = std::sqrt(5.0);
        const bool htree = std::string(kind) == "htree";
        const double wire = htree ? 1.5 * side * leaves : side * (leaves + 1), path = htree ? side : wire / 2;
        EXPECT_REL(comp(r.shared, Component::Interconnect).area_um2, wire * 1e3 * 128 * t.wire_pitch_um, 1e-9) << kind;
        EXPECT_REL(comp(r.layers[0], Component::Interconnect).energy_fj, (1024.0 + 1024.0) * 8 * path * t.wire_fj_per_bit_mm, 1e-9)
            << kind;
        EXPECT_EQ(r.layers[0].counts.buffer_bits, (1024 + 1024) * 8);
    }
}

TEST(CostModel, ErrorsNameTheLayerOrDevice) {
    const Graph g = GraphBuilder({1, 64}).linear(8, "fc").build();
    EXPECT_HAS(error_of([&] { estimate(g, config_from_yaml("analog: {adc: {bits: 0}}\n")); }), "layer 'fc' has an ideal ADC");
    EXPECT_HAS(error_of([&] { estimate(g, config_from_yaml("analog: {input: {bits: 0}}\n")); }), "unquantized inputs");
    EXPECT_HAS(error_of([&] { estimate(g, config_from_yaml("analog: {}\ncost: {cell: mram}\n")); }), "no device 'mram'");
}

TEST(CostActivity, ConductancesFromWeightsMatchTheMapping) {
    const double g_min = 0.01;
    auto mean_g = [&](float w, const std::string& analog) {
        const Graph g = GraphBuilder({1, 16}, w).linear(4, "fc").build();
        const Config c = config_from_yaml("analog:\n" + analog);
        const AnalogPlan p = make_analog_plan(g, c.analog, 1);
        return cost::mean_cell_conductance(g, p.layers.at(0), g_min);
    };
    // All weights at +W_max: top level everywhere; a differential pair holds (1, g_min).
    EXPECT_NEAR(mean_g(0.7f, "  mapping: offset\n  weight_bits: 8\n  slices: 4\n"), 1.0, 1e-6);
    EXPECT_NEAR(mean_g(0.7f, "  mapping: differential\n  weight_bits: 8\n"), (1.0 + g_min) / 2, 1e-6);
    EXPECT_NEAR(mean_g(0.7f, "  mapping: differential\n  weight_bits: 8\n  slices: 7\n"), (1.0 + g_min) / 2, 1e-6);
    // Offset code of w = 0 with 8 bits: 128 = 10 00 00 00b, slices (LSB first) 0, 0, 0, 2 of 3.
    // (All-zero weights have W_max = 0: the mapping keeps w = 0.)
    const double zero = (3 * g_min + (g_min + (2.0 / 3.0) * (1 - g_min))) / 4;
    EXPECT_NEAR(mean_g(0.0f, "  mapping: offset\n  weight_bits: 8\n  slices: 4\n"), zero, 1e-6);
}

TEST(CostActivity, InputDutyIsTheSliceDriveOverFullScale) {
    const Graph g = GraphBuilder({1, 16}).linear(4, "fc").build();
    auto layer = [&](const std::string& input) {
        const Config c = config_from_yaml("analog:\n  input: " + input + "\n");
        return make_analog_plan(g, c.analog, 1).layers.at(0);
    };
    const auto serial = layer("{bits: 8, slice_bits: 1, sign: unsigned, range: 2.0}");
    EXPECT_DOUBLE_EQ(cost::input_duty_of(2.0f, serial), 1.0);          // code 255: every bit on
    EXPECT_DOUBLE_EQ(cost::input_duty_of(1.0f, serial), 1.0 / 8);      // code 128 (127.5 rounds to even): one bit of 8
    EXPECT_DOUBLE_EQ(cost::input_duty_of(-1.0f, serial), 0.0);         // clipped to 0
    const auto signed_serial = layer("{bits: 8, slice_bits: 1, sign: signed, range: 1.0}");
    EXPECT_DOUBLE_EQ(cost::input_duty_of(-1.0f, signed_serial), 1.0);  // -127: 7 magnitude bits on
    const auto two_bit = layer("{bits: 4, slice_bits: 2, sign: unsigned, range: 15.0}");
    EXPECT_DOUBLE_EQ(cost::input_duty_of(6.0f, two_bit), (2.0 / 3 + 1.0 / 3) / 2);  // 6 = 01 10b: slices 2, 1 of 3
    const auto dac = layer("{bits: 8, sign: unsigned, range: 1.0}");
    EXPECT_DOUBLE_EQ(cost::input_duty_of(0.5f, dac), 128.0 / 255);

    // The observer averages at most its cap of values per layer.
    const AnalogPlan plan = make_analog_plan(g, config_from_yaml("analog:\n  input: {bits: 8, slice_bits: 1, sign: unsigned, range: 2.0}\n").analog, 1);
    cost::InputActivityObserver obs(plan, 6);
    const float ones[4] = {2.0f, 2.0f, 2.0f, 2.0f}, zeros[4] = {0, 0, 0, 0};
    EXPECT_FALSE(obs.watching(plan.layers[0].node + 1));  // not an analog layer
    obs.on_mvm_input(plan.layers[0].node, 0, ones, 2, 2);
    EXPECT_TRUE(obs.watching(plan.layers[0].node));
    obs.on_mvm_input(plan.layers[0].node, 0, zeros, 2, 2);  // only 2 of these fit under the cap
    // Full: backends stop handing it inputs (and keep their fast paths).
    EXPECT_FALSE(obs.watching(plan.layers[0].node));
    obs.on_mvm_input(plan.layers[0].node, 0, zeros, 2, 2);
    cost::ActivityStats stats;
    obs.fill(stats);
    ASSERT_NE(stats.find("fc"), nullptr);
    EXPECT_DOUBLE_EQ(stats.find("fc")->input_duty, 4.0 / 6);
    EXPECT_EQ(stats.find("fc")->input_samples, 6);
}

}  // namespace
}  // namespace xbarsim::test
