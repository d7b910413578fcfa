#pragma once
// What the array read energy depends on besides the circuit: how long rows are driven (input
// activity) and how much conductance the cells hold. Measured when a simulation ran (weights
// mapped as the simulator maps them, inputs seen by the analog layers); otherwise the cost model
// uses the defaults of CostConfig.
#include <cstdint>
#include <map>
#include <string>

#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim::cost {

struct LayerActivity {
    double input_duty = -1;        // mean of |input slice| / slice full scale over rows and slices; < 0: unknown
    double mean_conductance = -1;  // mean normalized conductance g = G / G_max over every cell; < 0: unknown
    int64_t input_samples = 0;     // input values the duty was measured on
};

struct ActivityStats {
    std::map<std::string, LayerActivity> layers;  // by layer name
    std::string source;                           // how it was measured, for reports
    const LayerActivity* find(const std::string& layer) const;
};

// Mean normalized conductance of every cell of `layer` as the mapping programs it (ideal devices:
// target conductances, weight full scale per layer), g_min = `g_min`.
double mean_cell_conductance(const Graph& graph, const AnalogLayerPlan& layer, double g_min);

// Input duty of one value: the input code through the layer's DAC, split into slices as the
// simulator does, each slice's magnitude over its full scale, averaged over the slices.
double input_duty_of(float x, const AnalogLayerPlan& layer);

// Sees the inputs of the analog layers during a simulation and averages their duty (at most
// `max_values_per_layer` values per layer, so that watching a long run costs little).
class InputActivityObserver final : public MvmObserver {
public:
    explicit InputActivityObserver(const AnalogPlan& plan, int64_t max_values_per_layer = int64_t{1} << 22);
    void on_mvm_input(size_t node, int64_t group, const float* cols, int64_t k, int64_t m) override;
    // Until it has its values of the layer.
    bool watching(size_t node) const override;
    // Adds the measured duties to `stats` (layers with no values are left out).
    void fill(ActivityStats& stats) const;

private:
    struct Sum {
        const AnalogLayerPlan* layer = nullptr;
        double duty = 0;
        int64_t count = 0;
    };
    std::map<size_t, Sum> sums_;
    int64_t max_values_;
};

// Conductances of every analog layer of `plan` (from the graph's weights) plus, when given, the
// input duties an observer measured.
ActivityStats measure_activity(const Graph& graph, const AnalogPlan& plan, double g_min,
                               const InputActivityObserver* inputs = nullptr);

}  // namespace xbarsim::cost
