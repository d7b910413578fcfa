#include "xbarsim/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "xbarsim/batch_stream.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/progress.hpp"

namespace xbarsim {

namespace {
constexpr const char* kPreprocessKey = "xbarsim.preprocess";
}

PreprocessSpec resolve_preprocess(const Graph& graph, const DatasetInfo& dataset) {
    auto it = graph.metadata.find(kPreprocessKey);
    if (it != graph.metadata.end()) {
        const std::string where = graph.source + ": metadata '" + kPreprocessKey + "'";
        YAML::Node node;
        try {
            node = YAML::Load(it->second);
        } catch (const YAML::ParserException& e) {
            throw Error(where + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
        }
        const std::string dir = std::filesystem::path(graph.source).parent_path().string();
        PreprocessSpec spec = parse_preprocess(node, where, dir.empty() ? "." : dir);
        spec.source = "model metadata (" + graph.source + ")";
        return spec;
    }
    if (dataset.has_preprocessing) {
        PreprocessSpec spec = dataset.preprocessing;
        spec.source = "dataset (" + dataset.dir + "/dataset.yaml)";
        return spec;
    }
    PreprocessSpec spec;
    spec.source = "none (raw sample values)";
    return spec;
}

void check_dataset_matches_model(const Graph& graph, const DatasetInfo& dataset) {
    if (graph.inputs.size() != 1)
        throw Error(graph.source + ": the model has " + std::to_string(graph.inputs.size()) +
                    " inputs; evaluating on a dataset needs exactly one");
    const Shape& in = graph.input_shape();
    const Shape sample(in.begin() + 1, in.end());
    if (sample != dataset.sample_shape)
        throw Error("dataset " + dataset.dir + " provides samples of shape " + shape_str(dataset.sample_shape) +
                    " but model " + graph.source + " expects " + shape_str(sample) + " per sample (input " +
                    shape_str(in) + ")");
    if (graph.outputs.empty()) throw Error(graph.source + ": the model has no outputs");
    const Shape& out = graph.value(graph.outputs[0]).shape;
    if (out.size() != 2)
        throw Error(graph.source + ": first output '" + graph.value(graph.outputs[0]).name + "' has shape " +
                    shape_str(out) + "; class scores [batch, classes] are needed for accuracy");
    if (dataset.classes > 0 && out[1] < dataset.classes)
        throw Error("dataset " + dataset.dir + " has " + std::to_string(dataset.classes) + " classes but model " +
                    graph.source + " outputs only " + std::to_string(out[1]) + " scores");
}

namespace {

// Scores `chips` x `n` rows of class scores (chip-major) against the batch's labels into one
// result per chip.
void score_rows(const Graph& graph, const Dataset& dataset, const Tensor& scores, const Batch& batch, int64_t chips,
                std::vector<EvalResult>& results) {
    const int64_t n = static_cast<int64_t>(batch.labels.size()), classes = scores.dim(1);
    if (scores.dim(0) != chips * n)
        throw Error("backend returned " + std::to_string(scores.dim(0)) + " rows of scores for " + std::to_string(chips) +
                    " chips x " + std::to_string(n) + " samples");
    for (int64_t c = 0; c < chips; ++c) {
        EvalResult& r = results[static_cast<size_t>(c)];
        for (int64_t i = 0; i < n; ++i) {
            const float* s = scores.ptr() + (c * n + i) * classes;
            const int32_t label = batch.labels[static_cast<size_t>(i)];
            if (label < 0 || label >= classes)
                throw Error("dataset " + dataset.info().dir + ": sample " + std::to_string(r.images + i) + " has label " +
                            std::to_string(label) + " but model " + graph.source + " outputs " + std::to_string(classes) +
                            " classes");
            const auto best = static_cast<int32_t>(std::max_element(s, s + classes) - s);
            // top-5: the label is among the 5 best when fewer than 5 classes score strictly higher.
            int64_t higher = 0;
            for (int64_t k = 0; k < classes; ++k) higher += s[k] > s[label];
            r.top1_correct += best == label;
            r.top5_correct += higher < 5;
            r.predictions.push_back(best);
        }
        r.images += n;
    }
}

// One pass over the data with the chips currently programmed (`chips` of them side by side).
std::vector<EvalResult> evaluate_programmed(const Graph& graph, Backend& backend, Dataset& dataset,
                                            const PreprocessSpec& preprocess, const EvalOptions& options, int64_t chips) {
    check_dataset_matches_model(graph, dataset.info());
    const int64_t total = options.images > 0 ? std::min(options.images, dataset.size()) : dataset.size();
    std::vector<EvalResult> results(static_cast<size_t>(chips));
    for (auto& r : results) r.predictions.reserve(static_cast<size_t>(total));
    const auto start = std::chrono::steady_clock::now();
    std::optional<ProgressBar> bar;
    if (options.progress) bar.emplace(total, chips > 1 ? "evaluating " + std::to_string(chips) + " chips" : "evaluating");
    const Preprocessor preprocessor(preprocess, dataset.info().sample_shape);
    BatchStreamOptions stream_options;
    stream_options.batch_size = options.batch;
    stream_options.limit = total;
    BatchStream stream(dataset, &preprocessor, stream_options);
    // Two batches in flight: while the backend computes one, the next is read, preprocessed,
    // submitted (its copy to the device overlapping the compute), then the first is scored.
    Batch current, next;
    int in_flight = 0;
    try {
        bool have = stream.next(current);
        if (have) {
            backend.submit({current.x});
            ++in_flight;
        }
        while (have) {
            const bool more = stream.next(next);
            if (more) {
                backend.submit({next.x});
                ++in_flight;
            }
            --in_flight;
            score_rows(graph, dataset, backend.collect().at(0), current, chips, results);
            if (bar) bar->update(results.front().images);
            std::swap(current, next);
            have = more;
        }
    } catch (...) {
        // Leave the backend with no pass in flight for whoever uses it next.
        for (; in_flight > 0; --in_flight) {
            try {
                backend.collect();
            } catch (...) {
            }
        }
        throw;
    }
    if (bar) bar->finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& r : results) r.seconds = seconds / static_cast<double>(chips);
    return results;
}

}  // namespace

EvalResult evaluate(const Graph& graph, Backend& backend, Dataset& dataset, const PreprocessSpec& preprocess,
                    const EvalOptions& options) {
    return evaluate_programmed(graph, backend, dataset, preprocess, options, 1).front();
}

int64_t chips_per_pass(const Backend& backend, const EvalOptions& options) {
    const int64_t fit = std::max<int64_t>(backend.max_chips(), 1);
    return options.max_chips > 0 ? std::min(fit, options.max_chips) : fit;
}

std::vector<EvalResult> evaluate_trials(const Graph& graph, Backend& backend, Dataset& dataset, const PreprocessSpec& preprocess,
                                        const EvalOptions& options, const std::vector<uint32_t>& trials) {
    std::vector<EvalResult> results;
    const auto per_pass = static_cast<size_t>(chips_per_pass(backend, options));
    for (size_t t0 = 0; t0 < trials.size(); t0 += per_pass) {
        const std::vector<uint32_t> group(trials.begin() + static_cast<std::ptrdiff_t>(t0),
                                          trials.begin() + static_cast<std::ptrdiff_t>(std::min(trials.size(), t0 + per_pass)));
        backend.program_chips(group);
        auto part = evaluate_programmed(graph, backend, dataset, preprocess, options, static_cast<int64_t>(group.size()));
        for (auto& r : part) results.push_back(std::move(r));
    }
    return results;
}

}  // namespace xbarsim
