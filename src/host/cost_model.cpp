// The chip around the layers (docs/cost.md, "Chip"): one clock, a shared activation buffer, the
// interconnect between buffer and tiles, leakage, and how layers share time (layer by layer or
// pipelined).
#include "xbarsim/cost/cost_model.hpp"

#include <algorithm>
#include <cmath>

#include "cost_layer.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::cost {

const char* component_name(Component c) {
    switch (c) {
    case Component::Array: return "array";
    case Component::InputDrivers: return "input_drivers";
    case Component::WriteDrivers: return "write_drivers";
    case Component::ColumnMux: return "column_mux";
    case Component::Adc: return "adc";
    case Component::ShiftAdd: return "shift_add";
    case Component::AdderTree: return "adder_tree";
    case Component::Buffer: return "buffer";
    case Component::Interconnect: return "interconnect";
    case Component::Digital: return "digital";
    case Component::Count: break;
    }
    return "?";
}

ComponentCost& ComponentCost::operator+=(const ComponentCost& o) {
    area_um2 += o.area_um2;
    energy_fj += o.energy_fj;
    leakage_uw += o.leakage_uw;
    return *this;
}

LatencyParts& LatencyParts::operator+=(const LatencyParts& o) {
    sensing_ns += o.sensing_ns;
    accumulation_ns += o.accumulation_ns;
    data_movement_ns += o.data_movement_ns;
    digital_ns += o.digital_ns;
    return *this;
}

Counts& Counts::operator+=(const Counts& o) {
    macs += o.macs;
    vectors += o.vectors;
    arrays += o.arrays;
    adc_conversions += o.adc_conversions;
    array_activations += o.array_activations;
    sensing_cycles += o.sensing_cycles;
    cycles += o.cycles;
    adder_tree_adds += o.adder_tree_adds;
    buffer_bits += o.buffer_bits;
    return *this;
}

double LayerCost::area_um2() const {
    double a = 0;
    for (const auto& c : components) a += c.area_um2;
    return a;
}

double LayerCost::energy_fj() const {
    double e = 0;
    for (const auto& c : components) e += c.energy_fj;
    return e;
}

double CostReport::area_mm2() const {
    double a = 0;
    for (const auto& c : totals) a += c.area_um2;
    return a * 1e-6;
}
double CostReport::dynamic_energy_uj() const {
    double e = 0;
    for (const auto& c : totals) e += c.energy_fj;
    return e * 1e-9;
}
double CostReport::leakage_mw() const {
    double p = 0;
    for (const auto& c : totals) p += c.leakage_uw;
    return p * 1e-3;
}
double CostReport::leakage_energy_uj() const { return leakage_mw() * 1e-3 * interval_ns * 1e-9 * 1e6; }
double CostReport::energy_uj() const { return dynamic_energy_uj() + leakage_energy_uj(); }
double CostReport::tops() const { return interval_ns > 0 ? 2.0 * static_cast<double>(counts.macs) / (interval_ns * 1e-9) * 1e-12 : 0.0; }
double CostReport::tops_per_w() const {
    const double e = energy_uj();
    return e > 0 ? 2.0 * static_cast<double>(counts.macs) / (e * 1e-6) * 1e-12 : 0.0;
}
double CostReport::tops_per_mm2() const { return area_mm2() > 0 ? tops() / area_mm2() : 0.0; }
double CostReport::edap() const { return energy_uj() * latency_ns * 1e-3 * area_mm2(); }

namespace {

ComponentCost& at(Components& c, Component k) { return c[static_cast<size_t>(k)]; }

int64_t per_sample(const Shape& s) { return s.empty() || s[0] == 0 ? 0 : numel(s) / s[0]; }

// The cell technology a device model stands for, when the config does not name one.
std::string default_cell(analog::DeviceKind kind) {
    switch (kind) {
    case analog::DeviceKind::PCM: return "pcm";
    case analog::DeviceKind::SONOS: return "sonos";
    default: return "rram";  // ideal, generic, custom and the RRAM models
    }
}

// Element-wise work of the non-MVM ops per image (activations, pooling windows, adds), in 8-bit ops.
double elementwise_ops(const Graph& graph) {
    double ops = 0;
    for (const auto& n : graph.nodes) {
        switch (n.op) {
        case OpType::Conv: case OpType::Linear: case OpType::Flatten: case OpType::Reshape: case OpType::Identity:
        case OpType::Transpose: case OpType::Concat: break;
        case OpType::MaxPool: case OpType::AveragePool:
            ops += static_cast<double>(per_sample(graph.value(n.output).shape) * n.attrs.kernel[0] * n.attrs.kernel[1]);
            break;
        case OpType::GlobalAveragePool:
            ops += static_cast<double>(per_sample(graph.value(n.inputs.at(0)).shape));
            break;
        default: ops += static_cast<double>(per_sample(graph.value(n.output).shape)); break;
        }
    }
    return ops;
}

// Activation buffer capacity: layer by layer it holds one layer's input and output at a time;
// pipelined, every layer holds its own input.
double buffer_bits(const Graph& graph, const CostConfig& config, Execution execution) {
    double largest = 0, all_inputs = 0;
    for (const auto& n : graph.nodes) {
        if (!is_mvm_layer(n.op)) continue;
        const double in = static_cast<double>(per_sample(graph.value(n.inputs.at(0)).shape));
        const double out = static_cast<double>(per_sample(graph.value(n.output).shape));
        largest = std::max(largest, (in + out) * config.activation_bits);
        all_inputs += in * config.activation_bits;
    }
    return execution == Execution::LayerByLayer ? largest : all_inputs;
}

}  // namespace

DeviceCost resolve_cell(const CostConfig& config, const TechParams& tech, analog::DeviceKind device) {
    const std::string name = config.cell.empty() ? default_cell(device) : config.cell;
    DeviceCost cell;
    try {
        cell = tech.device(name);
    } catch (const Error& e) {
        if (config.cell.empty()) throw;
        // The device table's message (it lists the devices), with the key that named the cell.
        throw Error((config.file.empty() ? std::string("config") : config.file) + ": key 'cost.cell': " + e.what());
    }
    if (config.r_on_ohm > 0) cell.r_on_ohm = config.r_on_ohm;
    if (config.on_off_ratio > 0) cell.on_off_ratio = config.on_off_ratio;
    return cell;
}

CostReport estimate_cost(const Graph& graph, const AnalogPlan& plan, const CostConfig& config, const TechParams& tech,
                         const ActivityStats* activity) {
    CostReport r;
    r.tech = tech.name;
    r.tech_file = tech.file;
    r.execution = config.execution;
    r.interconnect = config.interconnect;
    const DeviceCost cell = resolve_cell(config, tech, plan.device.kind);
    r.cell = cell.name;
    r.r_on_ohm = cell.r_on_ohm;
    r.on_off_ratio = cell.on_off_ratio;
    r.activity_source = activity ? activity->source : "defaults (cost.input_duty, cost.weight_level_fraction)";

    // The clock: fixed, or set by the slowest sensing cycle (synchronous); asynchronous layers
    // run at their own sensing cycle and the digital parts at the slowest one.
    std::vector<detail::AnalogShape> shapes;
    for (const auto& l : plan.layers) shapes.push_back(detail::analog_shape(graph, l, tech));
    double slowest = 0;
    for (const auto& s : shapes) slowest = std::max(slowest, tech.latency_factor * s.sensing_ns);
    r.clock_ns = config.clock_ns > 0 ? config.clock_ns : (slowest > 0 ? slowest : 1.0);

    detail::LayerInputs in;
    in.config = &config;
    in.tech = &tech;
    in.cell = &cell;
    in.clock_ns = r.clock_ns;
    int mvm_index = 0;
    size_t next_shape = 0;
    bool any_digital = false;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (!is_mvm_layer(graph.nodes[i].op)) continue;
        const AnalogLayerPlan* p = plan.find(i);
        if (p) {
            detail::LayerInputs li = in;
            li.activity = activity ? activity->find(p->name) : nullptr;
            if (!config.synchronous) li.clock_ns = 0;  // its own sensing cycle
            r.layers.push_back(detail::analog_layer_cost(shapes.at(next_shape++), li));
        } else {
            r.layers.push_back(detail::digital_layer_cost(graph, i, mvm_index, in));
            any_digital = true;
        }
        ++mvm_index;
    }

    // Chip-level items: buffer capacity, MAC units of the digital layers, element-wise ops.
    at(r.shared, Component::Buffer).area_um2 = buffer_bits(graph, config, config.execution) * tech.buffer_um2_per_bit;
    if (any_digital) at(r.shared, Component::Digital).area_um2 = tech.cmos_um2(config.digital_macs_per_cycle * tech.mac8_transistors);
    at(r.shared, Component::Digital).energy_fj = elementwise_ops(graph) * tech.elementwise_op_fj;

    // Interconnect over the floorplan without it: tiles of arrays_per_tile arrays (a layer owns
    // its tiles) plus one for buffer and digital units, on a square chip of side L.
    double area_um2 = 0;
    int64_t tiles = 1;
    for (const auto& l : r.layers) {
        area_um2 += l.area_um2();
        if (l.analog) tiles += (l.counts.arrays + config.arrays_per_tile - 1) / config.arrays_per_tile;
    }
    for (const auto& c : r.shared) area_um2 += c.area_um2;
    const double side_mm = std::sqrt(area_um2 * 1e-6);
    const double leaves = std::sqrt(static_cast<double>(tiles));
    // H-tree: 1.5·L·√tiles of wire, a bit travels one root-to-leaf path (≈ L). Bus: one trunk and
    // a branch per row of tiles, L·(√tiles + 1); an unsegmented bus drives half of it on average.
    const double wire_mm = config.interconnect == InterconnectKind::HTree ? 1.5 * side_mm * leaves : side_mm * (leaves + 1);
    const double path_mm = config.interconnect == InterconnectKind::HTree ? side_mm : wire_mm / 2;
    at(r.shared, Component::Interconnect).area_um2 = wire_mm * 1e3 * config.bus_width_bits * tech.wire_pitch_um;
    for (auto& l : r.layers)
        at(l.components, Component::Interconnect).energy_fj = static_cast<double>(l.counts.buffer_bits) * path_mm * tech.wire_fj_per_bit_mm;

    // Leakage of the CMOS periphery (non-volatile cells hold their state without power; SRAM cells leak).
    const bool cells_leak = r.cell == "sram";
    auto leak = [&](Components& cs) {
        for (size_t c = 0; c < kComponentCount; ++c)
            if (c != static_cast<size_t>(Component::Array) || cells_leak)
                cs[c].leakage_uw = cs[c].area_um2 * 1e-6 * tech.leakage_uw_per_mm2;
    };
    for (auto& l : r.layers) leak(l.components);
    leak(r.shared);

    double slowest_layer = 0;
    for (const auto& l : r.layers) {
        for (size_t c = 0; c < kComponentCount; ++c) r.totals[c] += l.components[c];
        r.latency += l.latency;
        r.counts += l.counts;
        slowest_layer = std::max(slowest_layer, l.latency.total());
    }
    for (size_t c = 0; c < kComponentCount; ++c) r.totals[c] += r.shared[c];
    r.latency_ns = r.latency.total();
    r.interval_ns = config.execution == Execution::LayerByLayer ? r.latency_ns : slowest_layer;
    return r;
}

}  // namespace xbarsim::cost
