#pragma once
// Accuracy evaluation: stream a dataset through a backend and count top-1/top-5 hits.
#include <cstdint>
#include <string>
#include <vector>

#include "xbarsim/backend.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/graph.hpp"
#include "xbarsim/preprocess.hpp"

namespace xbarsim {

// The preprocessing that applies to `graph` on `dataset`: the model's own (ONNX metadata key
// "xbarsim.preprocess", paths relative to the model file) when it has one, else the dataset's,
// else identity. `spec.source` says which.
PreprocessSpec resolve_preprocess(const Graph& graph, const DatasetInfo& dataset);

// Fails with a message naming both when the dataset's samples cannot feed the model (shape) or
// its labels cannot index the model's outputs (class count).
void check_dataset_matches_model(const Graph& graph, const DatasetInfo& dataset);

struct EvalOptions {
    int64_t images = 0;     // first N samples; 0 = all
    int64_t batch = 64;
    bool progress = true;   // progress bar on stderr (only drawn when it is a terminal)
    int64_t max_chips = 0;  // evaluate_trials: chips side by side per pass, 0 = as many as fit
};

struct EvalResult {
    int64_t images = 0;
    int64_t top1_correct = 0;
    int64_t top5_correct = 0;
    double seconds = 0.0;               // wall time of the whole loop (loading included)
    std::vector<int32_t> predictions;   // top-1 class per sample
    double top1() const { return images ? static_cast<double>(top1_correct) / static_cast<double>(images) : 0.0; }
    double top5() const { return images ? static_cast<double>(top5_correct) / static_cast<double>(images) : 0.0; }
    double images_per_second() const { return seconds > 0 ? static_cast<double>(images) / seconds : 0.0; }
};

// Runs the backend (already loaded with `graph`) over the dataset. The first graph output is
// taken as class scores [batch, classes].
EvalResult evaluate(const Graph& graph, Backend& backend, Dataset& dataset, const PreprocessSpec& preprocess,
                    const EvalOptions& options);

// How many chips evaluate_trials runs side by side per pass on `backend` with `options`.
int64_t chips_per_pass(const Backend& backend, const EvalOptions& options);

// Evaluates the chip instances `trials` (Monte Carlo trials, each what backend.program(trial)
// then evaluate() gives), as many side by side per pass over the data as backend.max_chips()
// allows (program_chips). One result per trial, in order; each result's `seconds` is its share of
// the wall time of the pass it ran in.
std::vector<EvalResult> evaluate_trials(const Graph& graph, Backend& backend, Dataset& dataset, const PreprocessSpec& preprocess,
                                        const EvalOptions& options, const std::vector<uint32_t>& trials);

}  // namespace xbarsim
