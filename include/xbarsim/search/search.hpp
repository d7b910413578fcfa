#pragma once
// The co-search driver (issue 7): a multi-objective evolutionary search (pagmo2's NSGA-II) over
// integer genomes, each gene one choice among a list (network, ADC type and bits, columns per ADC,
// input bits, slices, array size, device, technology, analog or digital). An Evaluator turns a
// genome into accuracy and cost; the driver caches evaluations by genome, applies the constraints,
// checkpoints every generation and writes evaluated.csv, pareto.csv and hypervolume.csv.
#include <cstdint>
#include <string>
#include <vector>

namespace xbarsim::search {

using Genome = std::vector<int>;  // one choice index per gene

struct Gene {
    std::string name;                  // column name: "network", "array_size", "g1.adc_bits", ...
    std::string key;                   // what it sets: "network", "adc_bits", ...
    int group = -1;                    // layer group of a per-group gene; -1 = global
    std::vector<std::string> choices;  // the values, as written in the space file
};

enum class Objective { Accuracy, Energy, Latency, Area, Edap };
const char* objective_name(Objective o);  // "accuracy", "energy", ...
Objective parse_objective(const std::string& name);  // throws Error for unknown names

// What one candidate measured. Costs are per image.
struct Evaluation {
    bool ok = true;          // false: the evaluation failed (reason says why); infeasible
    std::string reason;      // failure or violated constraints
    double accuracy = 0;     // top-1 fraction on the fitness images (mean over trials)
    double energy_uj = 0, latency_us = 0, area_mm2 = 0, edap = 0, tops_per_w = 0, tops_per_mm2 = 0;
};

// An evaluation that failed: infeasible, with `reason` saying why.
Evaluation failed_evaluation(std::string reason);

class Evaluator {
public:
    virtual ~Evaluator() = default;
    virtual Evaluation evaluate(const Genome& genome) = 0;
    // One evaluation per genome, in order. The driver hands over a population's new candidates
    // together so that an evaluator can measure them concurrently. A candidate that fails must
    // come back as failed_evaluation(reason) without failing the others; the default evaluates
    // one after another and records each exception so.
    virtual std::vector<Evaluation> evaluate_batch(const std::vector<Genome>& genomes);
};

struct Constraints {
    double area_mm2_max = 0;        // > 0: area budget
    double accuracy_min = 0;        // > 0: accuracy floor (fraction)
    double accuracy_loss_max = -1;  // >= 0: at most this much below the baseline's accuracy (fraction)
};

struct SearchProblem {
    std::vector<Gene> genes;
    Genome baseline;                    // the reference design; evaluated first
    std::vector<Objective> objectives;  // two to four
    Constraints constraints;
    std::string space_text;             // the space file, to refuse resuming a different search
};

struct SearchOptions {
    std::string out_dir;
    int population = 16;       // a multiple of 4, at least 8 (NSGA-II's tournament pairs)
    int generations = 10;      // after the initial population
    uint64_t seed = 1;
    bool resume = false;       // continue from out_dir/checkpoint.json
    double hv_reference = 2.0; // hypervolume reference: cost objectives at this ratio to the baseline
    bool progress = true;      // one line per generation on stdout
};

struct Candidate {
    int id = 0;          // evaluation order
    int generation = 0;  // first proposed in
    Genome genome;
    Evaluation eval;
    bool feasible = false;
};

struct SearchResult {
    std::vector<Candidate> evaluated;  // every distinct genome, in evaluation order
    std::vector<int> pareto;           // ids of the feasible non-dominated candidates
    std::vector<double> hypervolume;   // per generation (0 = initial population)
    std::vector<int64_t> evaluated_by_generation;  // candidates evaluated up to each generation
    int baseline_id = 0;
};

// Runs (or resumes) the search; writes evaluated.csv, pareto.csv, hypervolume.csv and
// checkpoint.json into options.out_dir (created if missing). The candidates are evaluated in
// batches (the initial population after the baseline, each generation's offspring, the
// replacements of duplicates); ids follow the order a batch lists its new genomes, so the
// outputs do not depend on how an evaluator schedules a batch. Evaluations that throw are
// recorded as infeasible with their message, except the baseline's: a failed baseline throws
// Error (the objectives are normalized by it). With options.resume, out_dir/checkpoint.json must
// exist and is validated field by field against the problem (Error naming the file and field).
// A summary.json left in out_dir is removed first: the caller writes it last, to mark a complete
// run.
SearchResult run_search(const SearchProblem& problem, Evaluator& evaluator, const SearchOptions& options);

// The objective vector the search minimizes: accuracy as error (1 - accuracy), costs as ratios to
// the baseline's. Infeasible candidates get 1000 + violation on every objective, so every
// feasible candidate dominates them and smaller violations dominate larger ones.
std::vector<double> objective_vector(const SearchProblem& problem, const Candidate& c, const Evaluation& baseline);

// Indices of the non-dominated vectors among `points` (all minimized).
std::vector<size_t> non_dominated(const std::vector<std::vector<double>>& points);

}  // namespace xbarsim::search
