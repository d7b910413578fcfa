#pragma once
// The cost section of a `run` report: the input activity of the analog layers is watched during
// the first chip instance's evaluation, then the cost model runs with the measured activity and
// the conductances the weights program. The cost is an addition to the accuracy run: when it
// cannot be estimated (no technology file, an ideal ADC), the run still succeeds and the report
// says why.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "xbarsim/analog_plan.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/cost/activity.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim::cli {

class RunCost {
public:
    RunCost(const Graph& graph, const Config& config, const std::string& config_path, const AnalogPlan& plan);
    // Attach to the backend for one evaluation, then detach.
    MvmObserver* observer() { return &inputs_; }
    // Estimates the cost, prints a one-line summary, and returns the report section.
    nlohmann::json finish();

private:
    const Graph& graph_;
    const Config& config_;
    std::string config_path_;
    const AnalogPlan& plan_;
    cost::InputActivityObserver inputs_;
};

}  // namespace xbarsim::cli
