// `xbarsim bench`: throughput of the engine on a model, next to the time plain OpenBLAS needs for
// exactly the GEMMs the engine issued (same shapes, same thread count), measured in the same run.
// The ratio engine/GEMM-only says how much the engine adds on top of the unavoidable matrix work.
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <memory>
#include <random>

#include "../cpu_ops.hpp"
#include "analog_setup.hpp"
#include "commands.hpp"
#include "validators.hpp"
#include "xbarsim/analog/recombine.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/cuda_backend.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/host_memory.hpp"
#include "xbarsim/node_profile.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/report.hpp"

namespace xbarsim::cli {

namespace {

struct BenchArgs {
    std::string model, out, config, backend = "cpu";
    int64_t batch = 64, iters = 5, threads = 0, chips = 1;
    bool profile = false;
    AnalogArgs analog;
};

using Clock = std::chrono::steady_clock;

// Mean seconds of `iters` calls of `pass`.
template <class F>
double mean_seconds(int64_t iters, F&& pass) {
    const auto t = Clock::now();
    for (int64_t i = 0; i < iters; ++i) pass();
    return std::chrono::duration<double>(Clock::now() - t).count() / static_cast<double>(iters);
}

// Mean seconds of `iters` forward passes on `input` (the caller has warmed the backend up).
double seconds_per_pass(Backend& backend, const Tensor& input, int64_t iters) {
    return mean_seconds(iters, [&] { backend.forward(input); });
}

// Where `iters` passes spend their time, per op kind and the slowest nodes (separate passes
// from the timed ones: profiling waits for every pass).
struct PassProfile {
    std::vector<OpProfile> kinds;
    std::vector<NodeProfile> slowest;
};

PassProfile profile_passes(Backend& backend, const Graph& graph, const Tensor& input, int64_t iters,
                           const std::vector<size_t>& analog_nodes) {
    std::vector<double> seconds;
    backend.record_node_times(&seconds);
    seconds_per_pass(backend, input, iters);
    backend.record_node_times(nullptr);
    return {profile_by_op(graph, seconds, iters, analog_nodes), slowest_nodes(graph, seconds, iters, analog_nodes, 8)};
}

void print_profile(const char* title, const PassProfile& p) {
    std::printf("profile        %s, per pass:\n", title);
    for (const auto& k : p.kinds)
        std::printf("  %-22s %4lld nodes %10.3f ms %6.1f %%\n", k.kind.c_str(), static_cast<long long>(k.nodes),
                    k.seconds_per_pass * 1e3, k.share * 100.0);
    std::printf("  slowest nodes:");
    for (const auto& n : p.slowest) std::printf(" %s (%s) %.3f ms;", n.name.c_str(), n.kind.c_str(), n.seconds_per_pass * 1e3);
    std::printf("\n");
}

nlohmann::json profile_json(const PassProfile& p) {
    nlohmann::json kinds = nlohmann::json::array(), slowest = nlohmann::json::array();
    for (const auto& k : p.kinds)
        kinds.push_back({{"kind", k.kind}, {"nodes", k.nodes}, {"seconds_per_pass", k.seconds_per_pass}, {"share", k.share}});
    for (const auto& n : p.slowest) slowest.push_back({{"node", n.name}, {"kind", n.kind}, {"seconds_per_pass", n.seconds_per_pass}});
    return {{"by_op", kinds}, {"slowest_nodes", slowest}};
}

void bench(const BenchArgs& a) {
    if (a.iters < 1) throw Error("--iters must be at least 1");
    if (a.chips > 1 && a.config.empty()) throw Error("--chips needs --config (chips are instances of its analog layers)");
    if (!a.out.empty()) require_output_file_path(a.out);
    const Graph graph = load_onnx(a.model);
    auto backend = make_backend(a.backend, {static_cast<int>(a.threads)});
    // The input batch lives in host memory on every backend, the activations too on the CPU.
    const bool on_cpu = backend->name() == "cpu";
    require_host_memory(on_cpu ? activation_peak_bytes(graph, a.batch)
                               : static_cast<uint64_t>(numel(graph.input_shape()) / std::max<int64_t>(graph.import_batch, 1)) *
                                     static_cast<uint64_t>(a.batch) * sizeof(float),
                        "a batch of " + std::to_string(a.batch), "--batch");
    backend->load(graph);

    Shape shape = graph.input_shape();
    shape[0] = a.batch;
    Tensor input(shape);
    std::mt19937 rng(12345);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto& v : input.data) v = dist(rng);

    std::vector<GemmShape> gemms;
    backend->record_gemms(&gemms);
    backend->forward(input);  // warm-up, and the GEMM list of one forward pass
    backend->record_gemms(nullptr);

    const double engine_s = seconds_per_pass(*backend, input, a.iters);
    std::optional<PassProfile> engine_profile, analog_profile;
    if (a.profile) engine_profile = profile_passes(*backend, graph, input, a.iters, {});

    // The same network with the config's analog layers, in the same run.
    double analog_s = 0.0, chips_s = 0.0;
    size_t analog_layers = 0;
    int passes = 1;  // analog passes per MVM: weight slices x input slices (largest over the layers)
    if (!a.config.empty()) {
        const Config config = load_config(a.config);
        AnalogArgs args = a.analog;
        std::optional<PreparedAnalog> prepared;
        if (config.analog.enabled && args.ranges.empty() && args.calibration_data.empty()) {
            // No calibration data named: ranges do not change the work done, so the benchmark uses
            // the input range 1 and ADC ranges of one full array.
            prepared = PreparedAnalog{make_analog_plan(graph, config.analog, config.run.seed), "benchmark defaults"};
            for (auto& l : prepared->plan.layers) {
                if (!(l.input_range > 0.0f)) l.input_range = 1.0f;
                for (auto& r : l.adc_range)
                    if (!(r > 0.0f) && l.config.adc_bits > 0) r = static_cast<float>(std::min(l.rows, l.config.mapping.array_rows));
                l.calibrated = true;
            }
        } else {
            prepared = prepare_analog(graph, config, nullptr, args, false);
        }
        if (!prepared) throw Error("config '" + a.config + "' has no analog layers to benchmark");
        analog_layers = prepared->plan.layers.size();
        for (const auto& l : prepared->plan.layers)
            passes = std::max(passes, l.slices * analog::input_slice_count(l.config.input_bits, l.input_signed, l.config.input_slice_bits));
        auto analog = make_backend(a.backend, {static_cast<int>(a.threads)});
        analog->load(graph, &prepared->plan);
        analog->program(0);
        analog->forward(input);  // warm-up
        analog_s = seconds_per_pass(*analog, input, a.iters);
        if (a.profile) {
            std::vector<size_t> analog_nodes;
            for (const auto& l : prepared->plan.layers) analog_nodes.push_back(l.node);
            analog_profile = profile_passes(*analog, graph, input, a.iters, analog_nodes);
        }
        if (a.chips > 1) {
            // Monte Carlo chips side by side: one pass runs the batch on every chip.
            if (analog->max_chips() < a.chips)
                throw Error("--chips " + std::to_string(a.chips) + ": backend '" + analog->name() + "' fits " +
                            std::to_string(analog->max_chips()) + " chip instances per pass");
            std::vector<uint32_t> trials;
            for (int64_t c = 0; c < a.chips; ++c) trials.push_back(static_cast<uint32_t>(c));
            analog->program_chips(trials);
            analog->forward(input);  // warm-up
            chips_s = seconds_per_pass(*analog, input, a.iters);
        }
    }

    // Baseline: the same GEMM sequence on random operands, nothing else (cuBLAS on the GPU).
    const bool on_gpu = backend->name() == "cuda";
    std::map<std::tuple<int64_t, int64_t, int64_t>, std::array<std::vector<float>, 3>> buffers;
    for (const auto& g : gemms) {
        auto& b = buffers[{g.m, g.n, g.k}];
        if (!b[0].empty()) continue;
        b[0].resize(static_cast<size_t>(g.m * g.k));
        b[1].resize(static_cast<size_t>(g.k * g.n));
        b[2].resize(static_cast<size_t>(g.m * g.n));
        for (auto& v : b[0]) v = dist(rng);
        for (auto& v : b[1]) v = dist(rng);
    }
    auto run_gemms = [&] {
        for (const auto& g : gemms) {
            auto& b = buffers[{g.m, g.n, g.k}];
            cpu::sgemm(false, false, g.m, g.n, g.k, 1.0f, b[0].data(), g.k, b[1].data(), g.n, 0.0f, b[2].data(), g.n, nullptr);
        }
    };
    double gemm_s = 0.0;
    if (on_gpu) {
        gemm_s = cuda_time_gemms(gemms, a.iters);
    } else {
        run_gemms();  // warm-up
        gemm_s = mean_seconds(a.iters, run_gemms);
    }

    double flops = 0;
    for (const auto& g : gemms) flops += 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
    const double batch = static_cast<double>(a.batch);
    std::printf("model          %s\n", a.model.c_str());
    std::printf("backend        %s, batch %lld, %lld timed iterations\n", backend->name().c_str(),
                static_cast<long long>(a.batch), static_cast<long long>(a.iters));
    std::printf("GEMMs/forward  %zu (%.2f GFLOP)\n", gemms.size(), flops * 1e-9);
    std::printf("engine         %10.1f images/s  (%.4f s per batch)\n", batch / engine_s, engine_s);
    std::printf("%s %10.1f images/s  (%.4f s per batch, %.1f GFLOP/s)\n", on_gpu ? "cuBLAS only   " : "GEMM only     ",
                batch / gemm_s, gemm_s, flops / gemm_s * 1e-9);
    std::printf("ratio          %10.2f x  (engine time / GEMM-only time)\n", engine_s / gemm_s);
    if (analog_s > 0) {
        std::printf("analog         %10.1f images/s  (%.4f s per batch, %zu analog layers, config %s)\n", batch / analog_s,
                    analog_s, analog_layers, a.config.c_str());
        std::printf("ratio          %10.2f x  (analog time / digital engine time)\n", analog_s / engine_s);
        std::printf("pass limit     %10.2f x  (analog time / (digital time x %d weight-slice x input-slice passes))\n",
                    analog_s / (engine_s * passes), passes);
    }
    const double chips = static_cast<double>(a.chips);
    if (chips_s > 0)
        std::printf("%lld chips       %10.1f chip-images/s  (%.4f s per pass, %.2f x the throughput of one chip per pass)\n",
                    static_cast<long long>(a.chips), chips * batch / chips_s, chips_s, chips * analog_s / chips_s);
    if (engine_profile) print_profile("digital engine", *engine_profile);
    if (analog_profile) print_profile(("analog, " + a.config).c_str(), *analog_profile);
    if (!a.out.empty()) {
        nlohmann::json j = report_header("bench");
        j["model"] = describe_model(graph, a.model);
        j["backend"] = backend->name();
        j["batch"] = a.batch;
        j["iterations"] = a.iters;
        j["gemms_per_forward"] = gemms.size();
        j["gflop_per_forward"] = flops * 1e-9;
        j["engine"] = {{"seconds_per_batch", engine_s}, {"images_per_second", batch / engine_s}};
        j["gemm_only"] = {{"seconds_per_batch", gemm_s}, {"images_per_second", batch / gemm_s}};
        j["ratio_engine_over_gemm"] = engine_s / gemm_s;
        if (analog_s > 0) {
            j["analog"] = {{"config", a.config}, {"layers", analog_layers}, {"seconds_per_batch", analog_s},
                           {"images_per_second", batch / analog_s}, {"ratio_over_digital", analog_s / engine_s},
                           {"passes", passes}, {"ratio_over_pass_limit", analog_s / (engine_s * passes)}};
        }
        if (chips_s > 0)
            j["chips_side_by_side"] = {{"chips", a.chips}, {"seconds_per_pass", chips_s},
                                       {"chip_images_per_second", chips * batch / chips_s},
                                       {"speedup_over_one_chip_per_pass", chips * analog_s / chips_s}};
        if (engine_profile) j["profile"]["engine"] = profile_json(*engine_profile);
        if (analog_profile) j["profile"]["analog"] = profile_json(*analog_profile);
        write_file_atomic(a.out, report_text(j));
    }
}

}  // namespace

Command add_bench(CLI::App& app) {
    auto a = std::make_shared<BenchArgs>();
    app.add_option("--model", a->model, "ONNX model file")->required()->check(non_empty());
    app.add_option("--backend", a->backend, "Backend to measure: cpu, cuda, or auto (cuda when a GPU is present)")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
    app.add_option("--batch", a->batch, "Batch size")->check(positive_integer());
    app.add_option("--iters", a->iters, "Timed iterations (after one warm-up)")->check(positive_integer());
    app.add_option("--threads", a->threads, "CPU threads, 0 = all cores")->check(integer_in(0, kMaxThreads));
    app.add_option("--config", a->config, "Also time the network with this config's analog layers")->check(non_empty());
    app.add_option("--chips", a->chips,
                   "Also time this many Monte Carlo chip instances side by side in one pass (needs --config)")
        ->check(positive_integer());
    app.add_flag("--profile", a->profile,
                 "Also time every node (separate passes) and print the time per op kind and the slowest nodes");
    add_analog_options(app, a->analog);
    app.add_option("--out", a->out, "Write the figures as JSON")->check(non_empty());
    return [a] { bench(*a); };
}

}  // namespace xbarsim::cli
