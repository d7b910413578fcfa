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

EvalResult evaluate(const Graph& graph, Backend& backend, Dataset& dataset, const PreprocessSpec& preprocess,
                    const EvalOptions& options) {
    check_dataset_matches_model(graph, dataset.info());
    const int64_t total = options.images > 0 ? std::min(options.images, dataset.size()) : dataset.size();
    EvalResult r;
    r.predictions.reserve(static_cast<size_t>(total));
    const auto start = std::chrono::steady_clock::now();
    std::optional<ProgressBar> bar;
    if (options.progress) bar.emplace(total, "evaluating");
    const Preprocessor preprocessor(preprocess, dataset.info().sample_shape);
    BatchStreamOptions stream_options;
    stream_options.batch_size = options.batch;
    stream_options.limit = total;
    BatchStream stream(dataset, &preprocessor, stream_options);
    Batch batch;
    while (stream.next(batch)) {
        const Tensor scores = backend.forward(batch.x).at(0);
        const int64_t n = scores.dim(0), classes = scores.dim(1);
        for (int64_t i = 0; i < n; ++i) {
            const float* s = scores.ptr() + i * classes;
            const int32_t label = batch.labels[static_cast<size_t>(i)];
            if (label < 0 || label >= classes)
                throw Error("dataset " + dataset.info().dir + ": sample " + std::to_string(r.images + i) + " has label " +
                            std::to_string(label) + " but model " + graph.source + " outputs " +
                            std::to_string(classes) + " classes");
            const auto best = static_cast<int32_t>(std::max_element(s, s + classes) - s);
            // top-5: the label is among the 5 best when fewer than 5 classes score strictly higher.
            int64_t higher = 0;
            for (int64_t c = 0; c < classes; ++c) higher += s[c] > s[label];
            r.top1_correct += best == label;
            r.top5_correct += higher < 5;
            r.predictions.push_back(best);
        }
        r.images += n;
        if (bar) bar->update(r.images);
    }
    if (bar) bar->finish();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace xbarsim
