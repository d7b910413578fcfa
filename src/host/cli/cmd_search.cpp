// `xbarsim search`: the hardware/network co-search. Runs (or resumes) the NSGA-II search of a
// space file, then re-evaluates the baseline and the front on the test set with several chip
// instances and reports accuracy mean ± CI next to the cost ratios against the baseline.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "validators.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/report.hpp"
#include "xbarsim/search/space.hpp"
#include "xbarsim/stats.hpp"

namespace xbarsim::cli {

namespace {

struct SearchArgs {
    std::string space, data, out, test_data;
    int population = -1, generations = -1, workers = -1;
    int64_t seed = -1, final_trials = -1, final_images = -1;
    bool resume = false, quiet = false;
};

nlohmann::json genes_json(const search::SearchProblem& p, const search::Genome& g) {
    nlohmann::json j;
    for (size_t i = 0; i < p.genes.size(); ++i) j[p.genes[i].name] = p.genes[i].choices[static_cast<size_t>(g[i])];
    return j;
}

nlohmann::json cost_json(const search::Evaluation& e) {
    return {{"energy_uj", e.energy_uj}, {"latency_us", e.latency_us}, {"area_mm2", e.area_mm2}, {"edap", e.edap},
            {"tops_per_w", e.tops_per_w}, {"tops_per_mm2", e.tops_per_mm2}};
}

void run(const SearchArgs& a) {
    const auto t0 = std::chrono::steady_clock::now();
    search::SearchSpace space = search::load_space(a.space);
    if (a.workers > 0) space.fitness.workers = a.workers;
    search::SearchOptions o = space.defaults;
    o.out_dir = a.out;
    if (a.population > 0) o.population = a.population;
    if (a.generations >= 0) o.generations = a.generations;
    if (a.seed >= 0) o.seed = static_cast<uint64_t>(a.seed);
    o.resume = a.resume;
    o.progress = !a.quiet;
    if (!a.resume && std::filesystem::exists(std::filesystem::path(a.out) / "checkpoint.json"))
        throw Error(a.out + " holds a search already: pass --resume to continue it, or choose another --out");
    search::SimulatorEvaluator evaluator(space, a.data);
    // The test set of the final re-evaluation is checked now, not after the whole search.
    const std::string test = !a.test_data.empty() ? a.test_data : space.final_eval.data;
    if (!test.empty()) evaluator.check_test_data(test);
    const search::SearchResult r = search::run_search(space.problem, evaluator, o);
    const double search_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& base = r.evaluated[static_cast<size_t>(r.baseline_id)];
    std::printf("search    %zu candidates evaluated, %zu on the front, %.1f s (%d worker%s)\n", r.evaluated.size(), r.pareto.size(), search_s,
                evaluator.workers(), evaluator.workers() == 1 ? "" : "s");

    // The final re-evaluation: the baseline and the most accurate front members on the test set.
    const int64_t trials = a.final_trials > 0 ? a.final_trials : space.final_eval.trials;
    const int64_t images = a.final_images >= 0 ? a.final_images : space.final_eval.images;
    std::vector<int> ids = r.pareto;
    std::stable_sort(ids.begin(), ids.end(), [&](int x, int y) {
        return r.evaluated[static_cast<size_t>(x)].eval.accuracy > r.evaluated[static_cast<size_t>(y)].eval.accuracy;
    });
    if (static_cast<int64_t>(ids.size()) > space.final_eval.max_points) ids.resize(static_cast<size_t>(space.final_eval.max_points));
    ids.erase(std::remove(ids.begin(), ids.end(), r.baseline_id), ids.end());
    ids.insert(ids.begin(), r.baseline_id);
    nlohmann::json summary;
    summary["space"] = a.space;
    summary["fitness_data"] = a.data;
    summary["candidates_evaluated"] = r.evaluated.size();
    summary["generations"] = o.generations;
    summary["population"] = o.population;
    summary["seed"] = o.seed;
    summary["search_seconds"] = search_s;
    summary["workers"] = evaluator.workers();
    summary["hypervolume"] = r.hypervolume;
    nlohmann::json points = nlohmann::json::array();
    double best_edap = 0;
    nlohmann::json best;
    double base_acc = base.eval.accuracy;
    for (int id : ids) {
        const auto& c = r.evaluated[static_cast<size_t>(id)];
        nlohmann::json p{{"id", id}, {"baseline", id == r.baseline_id}, {"genes", genes_json(space.problem, c.genome)},
                         {"fitness_accuracy", c.eval.accuracy}, {"cost", cost_json(c.eval)}};
        double acc = c.eval.accuracy;
        if (!test.empty()) {
            const auto accs = evaluator.accuracy(c.genome, test, images, trials);
            const TrialSummary s = summarize(accs);
            p["test"] = {{"data", test}, {"trials", trials}, {"per_trial", accs}, {"mean", s.mean}, {"std", s.std}, {"ci95", {s.ci95_low, s.ci95_high}}};
            acc = s.mean;
            if (id == r.baseline_id) base_acc = acc;
        }
        const auto& b = base.eval;
        p["ratios"] = {{"edap_gain", b.edap / c.eval.edap}, {"energy_gain", b.energy_uj / c.eval.energy_uj},
                       {"tops_per_w", c.eval.tops_per_w / b.tops_per_w}, {"tops_per_mm2", c.eval.tops_per_mm2 / b.tops_per_mm2},
                       {"area_gain", b.area_mm2 / c.eval.area_mm2}, {"latency_gain", b.latency_us / c.eval.latency_us}};
        p["accuracy_loss"] = base_acc - acc;
        if (id != r.baseline_id && base_acc - acc <= 0.01 && b.edap / c.eval.edap > best_edap) {
            best_edap = b.edap / c.eval.edap;
            best = p;
        }
        points.push_back(p);
        if (!a.quiet) {
            std::printf("%-9s acc %6.2f %%", id == r.baseline_id ? "baseline" : ("#" + std::to_string(id)).c_str(), 100.0 * acc);
            if (p.contains("test")) std::printf(" (95%% CI %.2f-%.2f)", 100.0 * p["test"]["ci95"][0].get<double>(), 100.0 * p["test"]["ci95"][1].get<double>());
            std::printf("  EDAP x%.2f  TOPS/W x%.2f  TOPS/mm2 x%.2f  area %.2f mm2\n", p["ratios"]["edap_gain"].get<double>(),
                        p["ratios"]["tops_per_w"].get<double>(), p["ratios"]["tops_per_mm2"].get<double>(), c.eval.area_mm2);
        }
    }
    summary["accuracy_source"] = test.empty() ? "fitness images" : "test set (" + test + ", " + std::to_string(trials) + " trials)";
    summary["points"] = points;
    summary["best_edap_within_1pct"] = best.is_null() ? nlohmann::json(nullptr) : best;
    summary["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_file_atomic((std::filesystem::path(a.out) / "summary.json").string(), report_text(summary));
    if (!best.is_null())
        std::printf("best      EDAP x%.2f at <= 1 %% top-1 loss (#%d), TOPS/W x%.2f, TOPS/mm2 x%.2f\n", best_edap, best["id"].get<int>(),
                    best["ratios"]["tops_per_w"].get<double>(), best["ratios"]["tops_per_mm2"].get<double>());
    std::printf("outputs   %s/{evaluated,pareto,hypervolume}.csv, summary.json\n", a.out.c_str());
}

}  // namespace

Command add_search(CLI::App& app) {
    auto a = std::make_shared<SearchArgs>();
    app.add_option("--space", a->space, "Search space file (configs/search/*-space.yaml; docs/search.md)")->required()->check(CLI::ExistingFile);
    app.add_option("--data", a->data, "Dataset for fitness (use training images, e.g. data/cifar10-calib)")->required()->check(non_empty());
    app.add_option("--out", a->out, "Output directory")->required()->check(non_empty());
    app.add_option("--generations", a->generations, "Generations after the initial population (default: the space file's)")
        ->check(non_negative_integer());
    app.add_option("--population", a->population, "Population size, a multiple of 4 (default: the space file's)")
        ->check(positive_integer());
    app.add_option("--seed", a->seed, "Seed of the search and of every simulation")->check(non_negative_integer());
    app.add_option("--workers", a->workers, "Candidates evaluated at once, each on its own host thread and backend "
                                            "(default: fitness.workers, else 4 on CUDA and 1 on the CPU)")
        ->check(positive_integer());
    app.add_flag("--resume", a->resume, "Continue the search in --out from its checkpoint");
    app.add_option("--test-data", a->test_data, "Test set for the final re-evaluation of the front (default: the space file's final.data)")->check(non_empty());
    app.add_option("--final-trials", a->final_trials, "Chip instances per front member in the final re-evaluation")
        ->check(positive_integer());
    app.add_option("--final-images", a->final_images, "Test images in the final re-evaluation (0 = all)")->check(non_negative_integer());
    app.add_flag("--quiet", a->quiet, "No per-generation lines");
    return [a] { run(*a); };
}

}  // namespace xbarsim::cli
