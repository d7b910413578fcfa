#pragma once
// Shared by run, calibrate and bench: options that say where analog ranges come from, and the
// step that turns a config into a ready AnalogPlan (ranges loaded or calibrated).
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "xbarsim/analog_plan.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim::cli {

struct AnalogArgs {
    std::string ranges;            // ranges file from `xbarsim calibrate`
    std::string calibration_data;  // dataset to calibrate on (default: the test set's `calibration:`)
    int64_t calibration_images = 500;
};

void add_analog_options(CLI::App& app, AnalogArgs& args);

struct PreparedAnalog {
    AnalogPlan plan;
    std::string ranges_source;  // "config", a ranges file, or "calibrated on DIR (N images)"
};

// Nothing when the config keeps every layer digital. `data` (may be null) supplies the default
// calibration dataset.
std::optional<PreparedAnalog> prepare_analog(const Graph& graph, const Config& config, const DatasetInfo* data,
                                             const AnalogArgs& args, bool progress);

}  // namespace xbarsim::cli
