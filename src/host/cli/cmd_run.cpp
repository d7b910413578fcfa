// `xbarsim run`: evaluate a model on a dataset — digitally, or with its MVM layers on simulated
// crossbars over one or more Monte Carlo trials — print accuracy and throughput, write a report.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "analog_setup.hpp"
#include "commands.hpp"
#include "validators.hpp"
#include "run_cost.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/host_memory.hpp"
#include "xbarsim/layer_stats.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/report.hpp"
#include "xbarsim/stats.hpp"

namespace xbarsim::cli {

namespace {

struct RunArgs {
    std::string model, data, config, out, backend;
    int64_t images = -1, batch = -1, threads = -1, trials = -1, seed = -1, chips_per_pass = 0;
    std::vector<double> drift_times;
    int64_t layer_stats = 0;
    bool quiet = false;
    AnalogArgs analog;
};

void print_summary(const std::vector<EvalResult>& trials, const std::string& data, int64_t dataset_size) {
    const EvalResult& r = trials.front();
    std::printf("dataset   %s (%lld of %lld samples)\n", data.c_str(), static_cast<long long>(r.images),
                static_cast<long long>(dataset_size));
    if (trials.size() == 1) {
        std::printf("top-1     %.2f %%  (%lld/%lld)\n", 100.0 * r.top1(), static_cast<long long>(r.top1_correct),
                    static_cast<long long>(r.images));
        std::printf("top-5     %.2f %%  (%lld/%lld)\n", 100.0 * r.top5(), static_cast<long long>(r.top5_correct),
                    static_cast<long long>(r.images));
        return;
    }
    std::vector<double> top1, top5;
    for (const auto& t : trials) {
        top1.push_back(100.0 * t.top1());
        top5.push_back(100.0 * t.top5());
    }
    const auto s1 = summarize(top1), s5 = summarize(top5);
    std::printf("top-1     %.2f %% +- %.2f (std), 95 %% CI [%.2f, %.2f] over %zu trials\n", s1.mean, s1.std, s1.ci95_low,
                s1.ci95_high, trials.size());
    std::printf("top-5     %.2f %% +- %.2f (std), 95 %% CI [%.2f, %.2f]\n", s5.mean, s5.std, s5.ci95_low, s5.ci95_high);
}

void run(const RunArgs& a) {
    if (!a.out.empty()) require_output_file_path(a.out);
    const auto t0 = std::chrono::steady_clock::now();
    Config config;
    if (!a.config.empty()) config = load_config(a.config);
    if (a.images >= 0) config.run.images = a.images;
    if (a.batch > 0) config.run.batch_size = a.batch;
    if (a.threads >= 0) config.run.threads = a.threads;
    if (a.trials > 0) config.run.trials = a.trials;
    if (a.seed >= 0) config.run.seed = static_cast<uint64_t>(a.seed);
    if (!a.backend.empty()) config.run.backend = a.backend;

    const Graph graph = load_onnx(a.model);
    auto dataset = open_dataset(a.data);
    check_dataset_matches_model(graph, dataset->info());
    const PreprocessSpec pre = resolve_preprocess(graph, dataset->info());
    auto analog = prepare_analog(graph, config, &dataset->info(), a.analog, !a.quiet);
    if (a.chips_per_pass > 0 && !analog)
        throw Error("--chips-per-pass needs a config with analog layers (chip instances differ only in their devices)");
    if (!a.drift_times.empty() && (!analog || !analog->plan.device.drift.enabled))
        throw Error("--drift-times needs a config whose device drifts (device.drift.enabled)");
    std::unique_ptr<Backend> backend;
    try {
        backend = make_backend(config.run.backend, {static_cast<int>(config.run.threads)});
    } catch (const Error& e) {
        if (!a.backend.empty() || a.config.empty()) throw;
        throw Error(a.config + ": key 'run.backend': " + e.what());  // the config asked for it
    }
    if (backend->name() == "cpu") {
        const int64_t count = dataset->info().count;
        const int64_t samples = config.run.images > 0 ? std::min(config.run.images, count) : count;
        const int64_t batch = std::min<int64_t>(config.run.batch_size, samples);
        require_host_memory(activation_peak_bytes(graph, batch), "a batch of " + std::to_string(batch),
                            "--batch (run.batch_size)");
    }
    backend->load(graph, analog ? &analog->plan : nullptr);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const EvalOptions eval_options{config.run.images, config.run.batch_size, !a.quiet, a.chips_per_pass};
    std::printf("model     %s\n", a.model.c_str());
    std::printf("config    %s (%s)\n", config.name.c_str(), config.source.c_str());
    if (backend->max_chips() > 1 && config.run.trials > 1)
        std::printf("backend   %s (up to %lld chip instances side by side per pass)\n", backend->name().c_str(),
                    static_cast<long long>(chips_per_pass(*backend, eval_options)));
    else
        std::printf("backend   %s\n", backend->name().c_str());
    if (analog)
        std::printf("analog    %zu of the MVM layers on crossbars, ranges: %s\n", analog->plan.layers.size(),
                    analog->ranges_source.c_str());
    // Each drift time evaluates the same chip instances (same programming error and drift
    // exponents, re-read at that time).
    std::vector<double> times = a.drift_times;
    if (times.empty()) times.push_back(analog ? analog->plan.device.drift.time_s : 0.0);
    std::vector<std::vector<EvalResult>> by_time;
    // The cost model watches the analog layers' inputs during the first evaluation.
    std::optional<RunCost> cost;
    if (analog) cost.emplace(graph, config, a.config, analog->plan);
    for (double time : times) {
        if (analog) analog->plan.device.drift.time_s = static_cast<float>(time);
        std::vector<EvalResult> trials;
        std::vector<uint32_t> ids;
        for (int64_t t = 0; t < config.run.trials; ++t) ids.push_back(static_cast<uint32_t>(t));
        if (cost && by_time.empty()) {
            // The cost model watches chip 0 alone, so that its input statistics are one chip's.
            backend->program(ids.front());
            backend->observe(cost->observer());
            trials.push_back(evaluate(graph, *backend, *dataset, pre, eval_options));
            backend->observe(nullptr);
            ids.erase(ids.begin());
        }
        // The other chips side by side where the backend can (the GPU: several per pass).
        for (auto& r : evaluate_trials(graph, *backend, *dataset, pre, eval_options, ids)) trials.push_back(std::move(r));
        if (config.run.trials > 1)
            for (size_t t = 0; t < trials.size(); ++t)
                std::printf("trial %-3zu top-1 %.2f %%  top-5 %.2f %%\n", t, 100.0 * trials[t].top1(), 100.0 * trials[t].top5());
        if (a.drift_times.size() > 0) std::printf("drift     t = %g s after programming\n", time);
        print_summary(trials, a.data, dataset->size());
        by_time.push_back(std::move(trials));
    }
    const std::vector<EvalResult>& trials = by_time.front();
    const EvalResult& r = trials.front();
    double seconds = 0;
    for (const auto& ts : by_time)
        for (const auto& t : ts) seconds += t.seconds;
    std::printf("speed     %.1f images/s  (%.2f s)\n",
                static_cast<double>(r.images * config.run.trials) * static_cast<double>(by_time.size()) / seconds, seconds);
    const nlohmann::json cost_json = cost ? cost->finish() : nlohmann::json();
    nlohmann::json snr_json = nlohmann::json::array();
    if (a.layer_stats > 0) {
        if (!analog) throw Error("--layer-stats compares analog layers with digital ones; the config has none");
        backend->program(0);  // chip instance 0, at the last evaluation time
        const auto snr = measure_layer_snr(graph, analog->plan, *backend, *dataset, pre,
                                           std::min(a.layer_stats, dataset->size()), config.run.batch_size);
        std::printf("layer SNR against the digital network (trial 0, %lld samples):\n", static_cast<long long>(std::min(a.layer_stats, dataset->size())));
        for (const auto& s : snr) {
            std::printf("  %-28s %8.2f dB\n", s.name.c_str(), s.snr_db());
            snr_json.push_back({{"layer", s.name}, {"snr_db", std::isfinite(s.snr_db()) ? nlohmann::json(s.snr_db()) : nlohmann::json(nullptr)}});
        }
    }
    if (!a.out.empty()) {
        auto report = make_run_report(config, graph, a.model, dataset->info(), pre, trials, backend->name(), load_s,
                                      analog ? &analog->plan : nullptr, analog ? analog->ranges_source : "");
        if (!a.drift_times.empty()) {
            // One summary per evaluation time (the first is also the report's main results).
            for (size_t i = 0; i < times.size(); ++i)
                report["results_by_drift_time"].push_back({{"time_s", times[i]}, {"results", trial_results(by_time[i])}});
        }
        if (!snr_json.empty()) report["layer_snr"] = snr_json;
        if (cost) report["cost"] = cost_json;
        write_file_atomic(a.out, report_text(report));
        std::printf("report    %s\n", a.out.c_str());
    }
}

}  // namespace

Command add_run(CLI::App& app) {
    auto a = std::make_shared<RunArgs>();
    app.add_option("--model", a->model, "ONNX model file")->required()->check(non_empty());
    app.add_option("--data", a->data, "Dataset directory (holding dataset.yaml)")->required()->check(non_empty());
    app.add_option("--config", a->config, "Simulation config YAML (see configs/ and docs/config.md)")->check(non_empty());
    app.add_option("--images", a->images, "Evaluate only the first N samples (0 = all; overrides run.images)")
        ->check(non_negative_integer());
    app.add_option("--batch", a->batch, "Samples per forward pass (overrides run.batch_size)")->check(integer_in(1, kMaxBatchSize));
    app.add_option("--threads", a->threads, "CPU threads, 0 = all cores (overrides run.threads)")->check(integer_in(0, kMaxThreads));
    app.add_option("--trials", a->trials, "Monte Carlo chip instances (overrides run.trials)")->check(integer_in(1, kMaxTrials));
    app.add_option("--chips-per-pass", a->chips_per_pass,
                   "Monte Carlo chips evaluated side by side in one pass (GPU; 0 = as many as fit in memory)")
        ->check(non_negative_integer());
    app.add_option("--seed", a->seed, "Seed of every random draw (overrides run.seed)")->check(non_negative_integer());
    app.add_option("--backend", a->backend, "cpu, cuda, or auto (cuda when a GPU is present; overrides run.backend)")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
    add_analog_options(app, a->analog);
    app.add_option("--drift-times", a->drift_times,
                   "Evaluate the same chips at these times after programming, seconds (e.g. 1,3600,86400)")
        ->delimiter(',')
        ->check(non_negative_float_seconds());
    app.add_option("--layer-stats", a->layer_stats,
                   "Per-layer output SNR (dB) of the analog layers against the digital network, on the first N samples")
        ->check(positive_integer());
    app.add_option("--out", a->out, "Write a JSON report here (written only when the run succeeds)")->check(non_empty());
    app.add_flag("--quiet", a->quiet, "No progress bar");
    return [a] { run(*a); };
}

}  // namespace xbarsim::cli
