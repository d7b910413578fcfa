// `xbarsim calibrate`: measure the input and ADC ranges of a config's analog layers on
// calibration images and write them to a ranges file for `xbarsim run --ranges`.
#include <cstdio>
#include <memory>

#include "analog_setup.hpp"
#include "commands.hpp"
#include "validators.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::cli {

namespace {

struct CalibrateArgs {
    std::string model, data, config, out, backend;
    int64_t images = 500, batch = 64;
    bool quiet = false;
};

void calibrate_command(const CalibrateArgs& a) {
    require_output_file_path(a.out);
    const Config config = load_config(a.config);
    if (!config.analog.enabled) throw Error("config '" + a.config + "' runs every layer digitally: nothing to calibrate");
    const Graph graph = load_onnx(a.model);
    auto data = open_dataset(a.data);
    check_dataset_matches_model(graph, data->info());
    AnalogPlan plan = make_analog_plan(graph, config.analog, config.run.seed);
    CalibrationOptions o;
    o.images = std::min(a.images, data->size());
    o.batch = a.batch;
    o.progress = !a.quiet;
    o.backend = a.backend.empty() ? config.run.backend : a.backend;
    calibrate(graph, plan, *data, resolve_preprocess(graph, data->info()), o);
    const std::string provenance = "model " + a.model + " (sha256 " + sha256_file(a.model) + "), config " + a.config +
                                   ", " + std::to_string(o.images) + " images of " + a.data;
    save_ranges(plan, a.out, provenance);
    std::printf("%-28s %12s %6s  %s\n", "layer", "input range", "signed", "ADC range per slice");
    for (const auto& l : plan.layers) {
        std::string adc;
        for (float r : l.adc_range) adc += (adc.empty() ? "" : ", ") + std::to_string(r);
        std::printf("%-28s %12.5g %6s  %s\n", l.name.c_str(), static_cast<double>(l.input_range), l.input_signed ? "yes" : "no",
                    adc.c_str());
    }
    std::printf("ranges    %s (%lld images of %s)\n", a.out.c_str(), static_cast<long long>(o.images), a.data.c_str());
}

}  // namespace

Command add_calibrate(CLI::App& app) {
    auto a = std::make_shared<CalibrateArgs>();
    app.add_option("--model", a->model, "ONNX model file")->required()->check(non_empty());
    app.add_option("--data", a->data, "Calibration dataset: training images, not the test set (e.g. data/cifar10-calib)")->required()->check(non_empty());
    app.add_option("--config", a->config, "Simulation config YAML with analog layers")->required()->check(non_empty());
    app.add_option("--images", a->images, "Calibration samples (default 500)")->check(positive_integer());
    app.add_option("--batch", a->batch, "Samples per forward pass")->check(integer_in(1, kMaxBatchSize));
    app.add_option("--out", a->out, "Ranges file to write (YAML)")->required()->check(non_empty());
    app.add_option("--backend", a->backend, "Backend of the calibration passes: cpu, cuda, or auto (overrides run.backend)")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
    app.add_flag("--quiet", a->quiet, "No progress bar");
    return [a] { calibrate_command(*a); };
}

}  // namespace xbarsim::cli
