#include "run_cost.hpp"

#include <cstdio>

#include "xbarsim/cost/cost_model.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::cli {

RunCost::RunCost(const Graph& graph, const Config& config, const std::string& config_path, const AnalogPlan& plan)
    : graph_(graph), config_(config), config_path_(config_path), plan_(plan), inputs_(plan) {}

nlohmann::json RunCost::finish() {
    try {
        const cost::TechParams tech = cost::load_config_tech(config_.cost.tech, config_path_);
        const cost::DeviceCost cell = cost::resolve_cell(config_.cost, tech, plan_.device.kind);
        const cost::ActivityStats activity = cost::measure_activity(graph_, plan_, 1.0 / cell.on_off_ratio, &inputs_);
        const cost::CostReport r = cost::estimate_cost(graph_, plan_, config_.cost, tech, &activity);
        std::printf("cost      %.2f mm2, %.2f uJ/image (+ %.2f uJ leakage), %.2f us/image, %.2f TOPS/W (%s, %s; docs/cost.md)\n",
                    r.area_mm2(), r.dynamic_energy_uj(), r.leakage_energy_uj(), r.latency_ns * 1e-3, r.tops_per_w(),
                    r.tech.c_str(), r.cell.c_str());
        return r.to_json();
    } catch (const Error& e) {
        std::printf("cost      not estimated: %s\n", e.what());
        return {{"error", e.what()}};
    }
}

}  // namespace xbarsim::cli
