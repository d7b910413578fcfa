#pragma once
// Analytic area, energy and latency of the simulated chip (docs/cost.md states every formula and
// its source). estimate_cost() is pure and fast: it reads the graph's shapes, the analog plan (the
// same mapping the simulator uses), the cost settings and the technology, and returns line items
// per layer and per component. No I/O: the co-search calls it many times per second.
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "xbarsim/analog_plan.hpp"
#include "xbarsim/cost/activity.hpp"
#include "xbarsim/cost/cost_config.hpp"
#include "xbarsim/cost/tech.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim::cost {

enum class Component {
    Array,         // memory cells: area, read energy Σ V²·G·t_sense
    InputDrivers,  // per row: input register, word-line driver or DAC
    WriteDrivers,  // level shifters for programming voltages above the logic supply (area only)
    ColumnMux,     // transmission gates and select decoder for M columns per ADC
    Adc,           // converters
    ShiftAdd,      // per ADC: shift-and-add of input slices, accumulators for its M columns
    AdderTree,     // sums of row blocks and weight slices
    Buffer,        // activation buffer (capacity area, read/write energy)
    Interconnect,  // H-tree or bus between buffer and tiles
    Digital,       // layers kept digital (MAC units) and element-wise ops (activations, pooling, adds)
    Count
};
inline constexpr size_t kComponentCount = static_cast<size_t>(Component::Count);
const char* component_name(Component c);  // "array", "input_drivers", ...

struct ComponentCost {
    double area_um2 = 0;
    double energy_fj = 0;   // dynamic energy per image
    double leakage_uw = 0;  // static power
    ComponentCost& operator+=(const ComponentCost& o);
};
using Components = std::array<ComponentCost, kComponentCount>;

// Where an image's time goes (ns per image).
struct LatencyParts {
    double sensing_ns = 0;       // array read + conversion cycles
    double accumulation_ns = 0;  // adder-tree pipeline fill
    double data_movement_ns = 0; // activations through buffer and interconnect
    double digital_ns = 0;       // layers kept digital
    double total() const { return sensing_ns + accumulation_ns + data_movement_ns + digital_ns; }
    LatencyParts& operator+=(const LatencyParts& o);
};

// Integer counts per image, so the arithmetic can be checked by hand.
struct Counts {
    int64_t macs = 0;               // multiply-accumulates (analog and digital)
    int64_t vectors = 0;            // matrix-vector products (input vectors) per layer and group
    int64_t arrays = 0;             // physical arrays (row blocks × column blocks × slices × groups)
    int64_t adc_conversions = 0;
    int64_t array_activations = 0;  // one array driven with one input slice
    int64_t sensing_cycles = 0;     // clock cycles spent reading and converting
    int64_t cycles = 0;             // all clock cycles
    int64_t adder_tree_adds = 0;
    int64_t buffer_bits = 0;        // bits read from and written to the buffer
    Counts& operator+=(const Counts& o);
};

struct LayerCost {
    std::string name;
    int mvm_index = 0;
    bool analog = true;
    std::string adc;            // e.g. "flash 5-bit, 8 columns/ADC" ("" for digital layers)
    int64_t row_blocks = 0, col_blocks = 0;
    int input_slices = 1;       // analog MVMs per input vector
    double utilization = 0;     // weights / cells of the arrays used
    double sensing_ns = 0;      // one sensing cycle: array read + conversion (before the latency factor)
    double input_duty = 0;      // activity used for the array energy
    double mean_conductance = 0;
    bool activity_measured = false;
    Counts counts;
    Components components{};
    LatencyParts latency;
    double area_um2() const;
    double energy_fj() const;
};

struct CostReport {
    std::string tech, tech_file, cell;
    double r_on_ohm = 0, on_off_ratio = 0;
    Execution execution = Execution::LayerByLayer;
    InterconnectKind interconnect = InterconnectKind::HTree;
    double clock_ns = 0;
    std::string activity_source;
    std::vector<LayerCost> layers;  // every Conv/Linear layer in graph order
    Components shared{};            // chip-level items not owned by one layer (buffer, wiring, element-wise ops)
    Components totals{};            // layers + shared
    LatencyParts latency;           // per image, summed over layers
    double latency_ns = 0;          // one image, input to output
    double interval_ns = 0;         // between two images (= latency_ns layer by layer; slowest layer pipelined)
    Counts counts;

    double area_mm2() const;
    double dynamic_energy_uj() const;  // per image
    double leakage_mw() const;
    double leakage_energy_uj() const;  // per image: leakage power over the image interval
    double energy_uj() const;          // dynamic + leakage
    double tops() const;               // 2·MACs per interval
    double tops_per_w() const;         // 2·MACs per (dynamic + leakage) energy
    double tops_per_mm2() const;
    double edap() const;               // energy (µJ) × latency (µs) × area (mm²)
    nlohmann::json to_json() const;
};

// The cell the chip is built from: cost.cell (or the technology standing for the config's device
// model) from the technology's device table, with cost.r_on_ohm / cost.on_off_ratio applied.
DeviceCost resolve_cell(const CostConfig& config, const TechParams& tech, analog::DeviceKind device);

// The cost of running `graph` with the mapping of `plan` (analog layers; MVM layers absent from
// the plan are digital). `activity` (may be null) supplies measured input duty and conductances.
CostReport estimate_cost(const Graph& graph, const AnalogPlan& plan, const CostConfig& config, const TechParams& tech,
                         const ActivityStats* activity = nullptr);

// A readable table: totals, per component, per layer.
std::string format_cost(const CostReport& report);

}  // namespace xbarsim::cost
