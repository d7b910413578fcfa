#pragma once
// A co-search space file (docs/search.md): the base config, the candidate networks, the genes and
// their choices (global, and per layer group), the baseline design, objectives, constraints, and
// how fitness and the final re-evaluation are measured. Paths are relative to the space file.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xbarsim/config.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/graph.hpp"
#include "xbarsim/search/search.hpp"

namespace xbarsim::search {

struct FitnessSettings {
    int64_t images = 500;             // first N samples of the fitness dataset
    int64_t trials = 1;               // chip instances averaged per candidate (same seeds for all)
    int64_t calibration_images = 200;
    std::string calibration_data;     // "" = the fitness dataset's `calibration:` entry
    std::string backend = "auto";     // cuda when a GPU is present, else cpu
    int64_t batch = 64;
    int64_t workers = 0;              // candidates evaluated at once; 0 = by backend (4 on CUDA, else 1)
};

struct FinalSettings {
    std::string data;      // test set for the final re-evaluation ("" = skip unless --test-data)
    int64_t trials = 5;
    int64_t images = 0;    // 0 = all
    int64_t max_points = 8;  // front members re-evaluated (most accurate first), plus the baseline
};

struct SearchSpace {
    std::string file;
    std::string base_config;           // resolved path
    std::vector<std::string> networks; // resolved paths; genes[0] is "network" when there are several
    int layer_group_count = 0;         // > 0: layers split into this many contiguous groups
    std::vector<std::string> layer_group_matches;  // else: group = first matching entry (name, glob, index)
    SearchProblem problem;
    FitnessSettings fitness;
    FinalSettings final_eval;
    SearchOptions defaults;            // population, generations, seed, hv_reference from `search:`
};

// Parses and validates a space file; errors name the file, key and line. Everything that can be
// checked without the fitness data is checked here: the base config and each device config load,
// each technology loads, every per-layer choice passes the config loader's limits, the datasets
// named (final.data, fitness.calibration_data) open, the numbers are in range.
SearchSpace load_space(const std::string& path);

// The layer group of MVM layer `index` of `count` named `name` (-1: none).
int layer_group(const SearchSpace& space, const std::string& name, int index, int count);

// The network file and the full config a genome stands for (`graph` is that network).
std::string design_model(const SearchSpace& space, const Genome& genome);
Config design_config(const SearchSpace& space, const Genome& genome, const Graph& graph);

// Measures candidates with the simulator (accuracy) and the cost model (cost).
class SimulatorEvaluator final : public Evaluator {
public:
    // Loads every network and checks, before any candidate is measured, what would otherwise
    // fail each of them or the final re-evaluation: each network against the fitness, calibration
    // and final.data datasets, the baseline design's plan and technology. Throws Error.
    SimulatorEvaluator(const SearchSpace& space, const std::string& data_dir);
    ~SimulatorEvaluator() override;
    Evaluation evaluate(const Genome& genome) override;
    // Prepares the candidates one after another (networks, calibrated plans: those caches are
    // not thread-safe), then measures them on workers() host threads, each candidate with its own
    // backend and each thread with its own reader of the fitness dataset.
    std::vector<Evaluation> evaluate_batch(const std::vector<Genome>& genomes) override;
    // fitness.workers, or by backend when the space leaves it out.
    int workers() const;
    // Checks a test set for the final re-evaluation (e.g. --test-data) against every network,
    // so that a bad one fails before the search rather than after it. Throws Error.
    void check_test_data(const std::string& data_dir);
    // Top-1 per trial on `data_dir` (images 0 = all) with `trials` chip instances.
    std::vector<double> accuracy(const Genome& genome, const std::string& data_dir, int64_t images, int64_t trials);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace xbarsim::search
