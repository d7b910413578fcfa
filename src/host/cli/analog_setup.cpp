#include "analog_setup.hpp"

#include "validators.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/evaluate.hpp"

namespace xbarsim::cli {

void add_analog_options(CLI::App& app, AnalogArgs& a) {
    app.add_option("--ranges", a.ranges, "Calibrated input/ADC ranges from `xbarsim calibrate` (skips calibration)")->check(non_empty());
    app.add_option("--calibration-data", a.calibration_data,
                   "Dataset to calibrate analog ranges on (default: the `calibration:` entry of the dataset)")->check(non_empty());
    app.add_option("--calibration-images", a.calibration_images, "Calibration samples (default 500)")
        ->check(positive_integer());
}

std::optional<PreparedAnalog> prepare_analog(const Graph& graph, const Config& config, const DatasetInfo* data,
                                             const AnalogArgs& a, bool progress) {
    // Checked for digital configs too: an override naming no layer of this model is a typo.
    check_overrides_match(config.analog, mvm_layer_names(graph), graph.source);
    if (!config.analog.enabled) {
        if (!a.ranges.empty()) throw Error("--ranges given but config '" + config.source + "' runs every layer digitally");
        return std::nullopt;
    }
    PreparedAnalog p;
    p.plan = make_analog_plan(graph, config.analog, config.run.seed);
    p.ranges_source = "config";
    if (!a.ranges.empty()) {
        load_ranges(p.plan, a.ranges);
        p.ranges_source = a.ranges;
    } else if (p.plan.needs_calibration()) {
        const std::string dir = !a.calibration_data.empty() ? a.calibration_data : (data ? data->calibration : "");
        if (dir.empty())
            throw Error("config '" + config.source +
                        "' has calibrated ranges: pass --ranges FILE (from xbarsim calibrate) or --calibration-data DIR, "
                        "or name a calibration dataset with `calibration:` in the dataset's dataset.yaml");
        auto calib = open_dataset(dir);
        check_dataset_matches_model(graph, calib->info());
        CalibrationOptions o;
        o.images = std::min(a.calibration_images, calib->size());
        o.batch = config.run.batch_size;
        o.progress = progress;
        o.backend = config.run.backend;
        calibrate(graph, p.plan, *calib, resolve_preprocess(graph, calib->info()), o);
        p.ranges_source = "calibrated on " + dir + " (" + std::to_string(o.images) + " images)";
    }
    return p;
}

}  // namespace xbarsim::cli
