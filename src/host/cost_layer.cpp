// One layer's line items (docs/cost.md, "Per layer"): the counts follow the mapping of the analog
// plan exactly as the simulator runs it; each component turns counts into area, energy and cycles.
#include "cost_layer.hpp"

#include <algorithm>
#include <cmath>

#include "xbarsim/analog/quantize.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::cost::detail {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int ceil_log2(int64_t n) {
    int d = 0;
    while ((int64_t{1} << d) < n) ++d;
    return d;
}

ComponentCost& at(Components& c, Component k) { return c[static_cast<size_t>(k)]; }

// Signed inputs carry bits - 1 magnitude bits (the sign is applied by the driver polarity). Before
// calibration an `auto` sign is unknown: all bits are taken as magnitude (the slower case).
bool inputs_signed(const AnalogLayerPlan& p) {
    switch (p.config.input_sign) {
    case InputSign::Signed: return true;
    case InputSign::Unsigned: return false;
    case InputSign::Auto: break;
    }
    return p.calibrated && p.input_signed;
}

int input_magnitude_bits(const AnalogLayerPlan& p) { return inputs_signed(p) ? p.config.input_bits - 1 : p.config.input_bits; }

}  // namespace

AnalogShape analog_shape(const Graph& graph, const AnalogLayerPlan& p, const TechParams& tech) {
    const auto& c = p.config;
    const auto& m = c.mapping;
    if (c.input_bits <= 0)
        throw Error("cost model: layer '" + p.name + "' has unquantized inputs (input.bits: 0); the cost model needs a DAC resolution");
    if (c.adc_bits <= 0)
        throw Error("cost model: layer '" + p.name + "' has an ideal ADC (adc.bits: 0); the cost model needs an ADC resolution");
    AnalogShape s;
    s.plan = &p;
    const LayerStats st = layer_stats(graph, graph.nodes.at(p.node));
    s.vectors = st.mvms;
    s.macs = st.macs;
    s.row_blocks = ceil_div(p.rows, m.array_rows);
    s.col_blocks = ceil_div(p.cols, m.array_cols);
    s.arrays = p.groups * s.row_blocks * s.col_blocks * p.slices;
    const int64_t per_pair = m.mapping == analog::Mapping::Differential && m.separate_differential ? 2 : 1;
    const int64_t columns_per_adc = c.columns_per_adc;
    s.readouts = m.array_cols * per_pair;
    s.adcs_per_array = ceil_div(s.readouts, columns_per_adc);
    // Each ADC converts its columns one after another; an array narrower than M needs fewer steps.
    s.mux_steps = static_cast<int>(std::min(columns_per_adc, std::min(p.cols, m.array_cols) * per_pair));
    if (c.input_slice_bits > 0) s.input_slices = analog::slice_count(input_magnitude_bits(p), c.input_slice_bits);
    const bool accumulate_in_analog = c.input_analog_accumulation && s.input_slices > 1;
    s.conversion_rounds = accumulate_in_analog ? 1 : s.input_slices;
    // Analog accumulation integrates every input slice on the columns, then converts once.
    s.sensing_cycles_per_vector = accumulate_in_analog ? s.input_slices + s.mux_steps
                                                       : static_cast<int64_t>(s.input_slices) * s.mux_steps;
    s.adc = adc_cost(c.adc_type, c.adc_bits, tech);
    s.sensing_ns = tech.array_read_ns + s.adc.conversion_ns;
    return s;
}

LayerCost analog_layer_cost(const AnalogShape& s, const LayerInputs& in) {
    const AnalogLayerPlan& p = *s.plan;
    const auto& c = p.config;
    const auto& m = c.mapping;
    const TechParams& t = *in.tech;
    const CostConfig& cfg = *in.config;
    const DeviceCost& cell = *in.cell;

    LayerCost L;
    L.name = p.name;
    L.mvm_index = p.mvm_index;
    L.analog = true;
    L.adc = std::string(adc_type_name(c.adc_type)) + " " + std::to_string(c.adc_bits) + "-bit, " +
            std::to_string(c.columns_per_adc) + (c.columns_per_adc == 1 ? " column/ADC" : " columns/ADC");
    L.row_blocks = s.row_blocks;
    L.col_blocks = s.col_blocks;
    L.input_slices = s.input_slices;
    L.utilization = static_cast<double>(p.rows * p.cols) /
                    static_cast<double>(s.row_blocks * m.array_rows * s.col_blocks * m.array_cols);
    L.sensing_ns = s.sensing_ns;

    // A fixed or chip-wide clock: a slower sensing cycle takes several clocks.
    const double clock = in.clock_ns > 0 ? in.clock_ns : t.latency_factor * s.sensing_ns;
    const int64_t clocks_per_sensing = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(t.latency_factor * s.sensing_ns / clock - 1e-9)));

    const bool differential = m.mapping == analog::Mapping::Differential;
    const bool reference_column = !differential && m.reference_column;
    const int64_t per_pair = differential && m.separate_differential ? 2 : 1;
    const double cells_per_weight = differential ? 2 : 1;
    const int64_t cell_columns = m.array_cols * (differential ? 2 : 1) + (reference_column ? 1 : 0);
    const double g_min = 1.0 / cell.on_off_ratio;

    // Activity: measured when a simulation ran, the stated defaults otherwise.
    const LayerActivity* act = in.activity;
    const bool duty_measured = act && act->input_duty >= 0;
    const bool g_measured = act && act->mean_conductance >= 0;
    L.input_duty = duty_measured ? act->input_duty : cfg.input_duty;
    const double f = cfg.weight_level_fraction;
    L.mean_conductance = g_measured ? act->mean_conductance
                                    : (differential ? g_min + f * (1 - g_min) / 2 : g_min + f * (1 - g_min));
    L.activity_measured = duty_measured || g_measured;

    const int64_t V = s.vectors, G = p.groups, K = p.rows, N = p.cols, S = p.slices;
    const int64_t n_in = s.input_slices, rounds = s.conversion_rounds;
    const int64_t in_bits = c.input_bits, out_bits = cfg.activation_bits;

    Counts& n = L.counts;
    n.macs = s.macs;
    n.vectors = V * G;
    n.arrays = s.arrays;
    n.adc_conversions = V * rounds * G * s.row_blocks * S * N * per_pair;
    n.array_activations = V * n_in * s.arrays;
    n.sensing_cycles = V * s.sensing_cycles_per_vector * clocks_per_sensing;
    const int64_t bits_per_vector = G * (K * in_bits + N * out_bits);
    n.buffer_bits = V * bits_per_vector;
    const int64_t data_cycles = V * ceil_div(bits_per_vector, cfg.bus_width_bits);
    // Partial sums of one output: row blocks × weight slices (× 2 separately read pair halves),
    // plus the digital zero-point term of an offset mapping without a reference column.
    const int64_t tree_inputs = s.row_blocks * S * per_pair + (!differential && !reference_column ? 1 : 0);
    n.adder_tree_adds = V * G * N * (tree_inputs - 1);
    const int64_t tree_depth = ceil_log2(tree_inputs) + 1;  // + the shift-add register stage
    n.cycles = n.sensing_cycles + data_cycles + tree_depth;

    Components& k = L.components;
    // Cells: footprint in F² of the array feature size; read energy V²·G·t_sense per conducting
    // cell and conversion (only the column being converted is biased).
    const double f_um = t.array_feature_nm * 1e-3;
    at(k, Component::Array).area_um2 = static_cast<double>(s.arrays * m.array_rows * cell_columns) * cell.cell_area_f2 * f_um * f_um;
    const double g_max_siemens = 1.0 / cell.r_on_ohm;
    const double joule_per_unit = cell.read_voltage_v * cell.read_voltage_v * g_max_siemens * s.sensing_ns * 1e-9;  // one cell at g = 1
    double conducting = static_cast<double>(V * n_in * G * S * N * K) * L.input_duty * cells_per_weight * L.mean_conductance;
    if (reference_column)  // the zero-point column conducts whenever its array is read
        conducting += static_cast<double>(V * n_in * G * S * s.col_blocks * K) * L.input_duty * (g_min + 0.5 * (1 - g_min));
    at(k, Component::Array).energy_fj = conducting * joule_per_unit * 1e15;

    // Rows: an input register and word-line driver per row, a DAC when a row takes several bits at once.
    const int dac_bits = c.input_slice_bits > 0 ? (c.input_slice_bits > 1 ? c.input_slice_bits : 0) : input_magnitude_bits(p);
    at(k, Component::InputDrivers).area_um2 =
        t.cmos_um2(static_cast<double>(s.arrays * m.array_rows) * (t.wl_driver_transistors + dac_bits * t.dac_transistors_per_bit));
    const double row_drives = static_cast<double>(V * n_in * G * K * s.col_blocks * S);
    at(k, Component::InputDrivers).energy_fj =
        row_drives * (L.input_duty * t.wl_fj_per_cell * static_cast<double>(cell_columns) + dac_bits * t.dac_fj_per_bit);

    // Programming voltages above the logic supply need level shifters on word, bit and source lines.
    if (cell.write_voltage_v > t.level_shifter_above_v)
        at(k, Component::WriteDrivers).area_um2 =
            t.cmos_um2(static_cast<double>(s.arrays * (2 * m.array_rows + cell_columns)) * t.level_shifter_transistors);

    // Column sharing: a transmission gate per column and a select decoder with M outputs per array.
    if (c.columns_per_adc > 1) {
        at(k, Component::ColumnMux).area_um2 = t.cmos_um2(static_cast<double>(s.arrays) *
                                                          (static_cast<double>(s.readouts) * t.mux_switch_transistors +
                                                           c.columns_per_adc * t.mux_decoder_transistors_per_output));
        at(k, Component::ColumnMux).energy_fj = static_cast<double>(n.adc_conversions) * t.mux_fj_per_column;
    }

    at(k, Component::Adc).area_um2 = static_cast<double>(s.arrays) * (static_cast<double>(s.adcs_per_array) * s.adc.area_um2 + s.adc.array_area_um2);
    at(k, Component::Adc).energy_fj = static_cast<double>(n.adc_conversions) * s.adc.energy_fj +
                                      static_cast<double>(V * rounds * s.arrays * s.mux_steps) * s.adc.array_energy_fj;

    // Shift-add: each ADC adds its conversions of the input slices into one accumulator per column
    // it serves (M accumulators, one adder); without input slices it only latches the result.
    const bool shifts = rounds > 1;
    const int64_t w_sa = c.adc_bits + (shifts ? static_cast<int64_t>(c.input_slice_bits) * (n_in - 1) : 0) + 1;
    at(k, Component::ShiftAdd).area_um2 =
        t.cmos_um2(static_cast<double>(s.arrays) * static_cast<double>(w_sa) *
                   ((shifts ? static_cast<double>(s.adcs_per_array) * t.adder_bit_transistors : 0.0) +
                    static_cast<double>(s.readouts) * t.register_bit_transistors));
    at(k, Component::ShiftAdd).energy_fj =
        static_cast<double>(n.adc_conversions) * static_cast<double>(w_sa) * (t.register_bit_fj + (shifts ? t.adder_bit_fj : 0.0));

    // Adder tree: weight slices shifted by their significance, row blocks summed; as many adders
    // as keep pace with the arrays (one vector's sums per sensing window).
    const int code_bits = m.weight_bits > 0 ? (differential ? m.weight_bits - 1 : m.weight_bits) : 0;
    const int64_t weight_slice_bits = S > 1 ? (code_bits + S - 1) / S : 0;
    const int64_t w_out = w_sa + weight_slice_bits * (S - 1) + ceil_log2(s.row_blocks * per_pair) + 1;
    const int64_t adds_per_vector = G * N * (tree_inputs - 1);
    const int64_t adders = ceil_div(adds_per_vector, std::max<int64_t>(s.sensing_cycles_per_vector, 1));
    at(k, Component::AdderTree).area_um2 =
        t.cmos_um2(static_cast<double>(adders * w_out) * (t.adder_bit_transistors + t.register_bit_transistors));
    at(k, Component::AdderTree).energy_fj =
        static_cast<double>(n.adder_tree_adds * w_out) * (t.adder_bit_fj + t.register_bit_fj);

    // Buffer traffic (its capacity is chip-level): input vectors read, outputs written.
    at(k, Component::Buffer).energy_fj = static_cast<double>(V * G) * (static_cast<double>(K * in_bits) * t.buffer_read_fj_per_bit +
                                                                      static_cast<double>(N * out_bits) * t.buffer_write_fj_per_bit);

    L.latency.sensing_ns = static_cast<double>(n.sensing_cycles) * clock;
    L.latency.accumulation_ns = static_cast<double>(tree_depth) * clock;
    L.latency.data_movement_ns = static_cast<double>(data_cycles) * clock;
    return L;
}

LayerCost digital_layer_cost(const Graph& graph, size_t node, int mvm_index, const LayerInputs& in) {
    const Node& nd = graph.nodes.at(node);
    const TechParams& t = *in.tech;
    const CostConfig& cfg = *in.config;
    const LayerStats st = layer_stats(graph, nd);
    LayerCost L;
    L.name = nd.name;
    L.mvm_index = mvm_index;
    L.analog = false;
    L.utilization = 1;
    const int64_t G = nd.op == OpType::Conv ? nd.attrs.group : 1;
    const int64_t bits = cfg.activation_bits;
    const int64_t bits_per_vector = G * st.rows * bits + st.cols * bits;
    Counts& n = L.counts;
    n.macs = st.macs;
    n.vectors = st.mvms * G;
    n.buffer_bits = st.mvms * bits_per_vector;
    const int64_t mac_cycles = ceil_div(st.macs, cfg.digital_macs_per_cycle);
    const int64_t data_cycles = st.mvms * ceil_div(bits_per_vector, cfg.bus_width_bits);
    n.cycles = mac_cycles + data_cycles;
    // MAC units are shared by all digital layers (chip-level area); each layer stores its 8-bit
    // weights next to them and reads them once per image.
    auto& d = at(L.components, Component::Digital);
    d.area_um2 = static_cast<double>(st.params * 8) * t.buffer_um2_per_bit;
    d.energy_fj = static_cast<double>(st.macs) * t.mac8_fj + static_cast<double>(st.params * 8) * t.buffer_read_fj_per_bit;
    at(L.components, Component::Buffer).energy_fj =
        static_cast<double>(st.mvms) * static_cast<double>(G * st.rows * bits) * t.buffer_read_fj_per_bit +
        static_cast<double>(st.mvms) * static_cast<double>(st.cols * bits) * t.buffer_write_fj_per_bit;
    L.latency.digital_ns = static_cast<double>(mac_cycles) * in.clock_ns;
    L.latency.data_movement_ns = static_cast<double>(data_cycles) * in.clock_ns;
    return L;
}

}  // namespace xbarsim::cost::detail
