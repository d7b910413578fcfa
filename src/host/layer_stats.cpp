#include "xbarsim/layer_stats.hpp"

#include <cmath>
#include <limits>

#include "xbarsim/batch_stream.hpp"

namespace xbarsim {

double LayerSnr::snr_db() const {
    if (error <= 0.0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / error);
}

std::vector<LayerSnr> measure_layer_snr(const Graph& graph, const AnalogPlan& plan, Backend& analog, Dataset& dataset,
                                        const PreprocessSpec& preprocess, int64_t images, int64_t batch) {
    std::vector<int> outputs;
    std::vector<LayerSnr> stats;
    for (const auto& l : plan.layers) {
        outputs.push_back(graph.nodes[l.node].output);
        stats.push_back({l.name, 0.0, 0.0});
    }
    auto digital = make_backend("cpu");
    digital->load(graph);
    const Preprocessor pre(preprocess, dataset.info().sample_shape);
    BatchStreamOptions so;
    so.batch_size = batch;
    so.limit = images;
    BatchStream stream(dataset, &pre, so);
    Batch b;
    while (stream.next(b)) {
        const auto ref = digital->forward(b.x, outputs);
        const auto got = analog.forward(b.x, outputs);
        const size_t first = graph.outputs.size();  // extra values follow the graph outputs
        for (size_t i = 0; i < outputs.size(); ++i) {
            const Tensor& r = ref[first + i];
            const Tensor& g = got[first + i];
            for (size_t k = 0; k < r.data.size(); ++k) {
                const double d = static_cast<double>(g.data[k]) - r.data[k];
                stats[i].signal += static_cast<double>(r.data[k]) * r.data[k];
                stats[i].error += d * d;
            }
        }
    }
    return stats;
}

}  // namespace xbarsim
