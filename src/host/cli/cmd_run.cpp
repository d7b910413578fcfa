// `xbarsim run`: evaluate a model on a dataset, print accuracy and throughput, write a report.
#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/report.hpp"

namespace xbarsim::cli {

namespace {

struct RunArgs {
    std::string model, data, config, out;
    int64_t images = -1, batch = -1, threads = -1;
    bool quiet = false;
};

void run(const RunArgs& a) {
    const auto t0 = std::chrono::steady_clock::now();
    Config config;
    if (!a.config.empty()) config = load_config(a.config);
    if (a.images >= 0) config.run.images = a.images;
    if (a.batch > 0) config.run.batch_size = a.batch;
    if (a.threads >= 0) config.run.threads = a.threads;

    const Graph graph = load_onnx(a.model);
    auto dataset = open_dataset(a.data);
    check_dataset_matches_model(graph, dataset->info());
    const PreprocessSpec pre = resolve_preprocess(graph, dataset->info());
    auto backend = make_backend(config.run.backend, {static_cast<int>(config.run.threads)});
    backend->load(graph);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const EvalResult r = evaluate(graph, *backend, *dataset, pre, {config.run.images, config.run.batch_size, !a.quiet});
    std::printf("model     %s\n", a.model.c_str());
    std::printf("dataset   %s (%lld of %lld samples)\n", a.data.c_str(), static_cast<long long>(r.images),
                static_cast<long long>(dataset->size()));
    std::printf("config    %s (%s)\n", config.name.c_str(), config.source.c_str());
    std::printf("backend   %s\n", backend->name().c_str());
    std::printf("top-1     %.2f %%  (%lld/%lld)\n", 100.0 * r.top1(), static_cast<long long>(r.top1_correct),
                static_cast<long long>(r.images));
    std::printf("top-5     %.2f %%  (%lld/%lld)\n", 100.0 * r.top5(), static_cast<long long>(r.top5_correct),
                static_cast<long long>(r.images));
    std::printf("speed     %.1f images/s  (%.2f s)\n", r.images_per_second(), r.seconds);
    if (!a.out.empty()) {
        const auto report = make_run_report(config, graph, a.model, dataset->info(), pre, r, backend->name(), load_s);
        write_file_atomic(a.out, report.dump(2) + "\n");
        std::printf("report    %s\n", a.out.c_str());
    }
}

}  // namespace

Command add_run(CLI::App& app) {
    auto a = std::make_shared<RunArgs>();
    app.add_option("--model", a->model, "ONNX model file")->required();
    app.add_option("--data", a->data, "Dataset directory (holding dataset.yaml)")->required();
    app.add_option("--config", a->config, "Simulation config YAML (see configs/ and docs/config.md)");
    app.add_option("--images", a->images, "Evaluate only the first N samples (0 = all; overrides run.images)");
    app.add_option("--batch", a->batch, "Samples per forward pass (overrides run.batch_size)")->check(CLI::PositiveNumber);
    app.add_option("--threads", a->threads, "CPU threads, 0 = all cores (overrides run.threads)")->check(CLI::NonNegativeNumber);
    app.add_option("--out", a->out, "Write a JSON report here (written only when the run succeeds)");
    app.add_flag("--quiet", a->quiet, "No progress bar");
    return [a] { run(*a); };
}

}  // namespace xbarsim::cli
