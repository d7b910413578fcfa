#pragma once
// Internal to the cost model: one layer's circuit and its counts, in two steps because the clock
// of a synchronous chip depends on every layer's sensing cycle.
#include "xbarsim/cost/adc_model.hpp"
#include "xbarsim/cost/cost_model.hpp"

namespace xbarsim::cost::detail {

// Everything the mapping fixes for one analog layer, before the clock is known.
struct AnalogShape {
    const AnalogLayerPlan* plan = nullptr;
    int64_t vectors = 0;         // input vectors per image (output pixels)
    int64_t macs = 0;
    int64_t row_blocks = 0, col_blocks = 0;
    int64_t arrays = 0;          // groups × row blocks × column blocks × weight slices
    int64_t readouts = 0;        // columns digitized per array (2C for separately read pairs)
    int64_t adcs_per_array = 0;
    int input_slices = 1;        // analog MVMs per vector (bit-serial slices)
    int conversion_rounds = 1;   // ADC passes per vector (1 with analog accumulation of input slices)
    int mux_steps = 1;           // conversions in sequence per ADC and round
    int64_t sensing_cycles_per_vector = 0;
    AdcCost adc;
    double sensing_ns = 0;       // array read + conversion, before the latency factor
};

AnalogShape analog_shape(const Graph& graph, const AnalogLayerPlan& plan, const TechParams& tech);

// The layer's line items for a clock of `clock_ns` (its sensing cycle may take several clocks).
struct LayerInputs {
    const CostConfig* config = nullptr;
    const TechParams* tech = nullptr;
    const DeviceCost* cell = nullptr;
    const LayerActivity* activity = nullptr;  // may be null
    double clock_ns = 0;
};
LayerCost analog_layer_cost(const AnalogShape& shape, const LayerInputs& in);

// A Conv/Linear layer kept digital: MAC units shared by all digital layers (their area is chip-level).
LayerCost digital_layer_cost(const Graph& graph, size_t node, int mvm_index, const LayerInputs& in);

}  // namespace xbarsim::cost::detail
