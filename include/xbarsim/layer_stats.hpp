#pragma once
// Per-layer signal-to-noise ratio of an analog network against its digital reference: for every
// analog MVM layer, SNR_dB = 10 log10(sum y_digital^2 / sum (y_analog - y_digital)^2) over the
// layer's outputs on the given samples. Errors accumulate along the network (each analog layer
// sees the outputs of the analog layers before it), as they would on the chip.
#include <string>
#include <vector>

#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/graph.hpp"
#include "xbarsim/preprocess.hpp"

namespace xbarsim {

struct LayerSnr {
    std::string name;
    double signal = 0.0;  // sum of squared digital outputs
    double error = 0.0;   // sum of squared differences
    double snr_db() const;
};

// `analog` must be loaded with `plan` and programmed; the digital reference is built here.
std::vector<LayerSnr> measure_layer_snr(const Graph& graph, const AnalogPlan& plan, Backend& analog, Dataset& dataset,
                                        const PreprocessSpec& preprocess, int64_t images, int64_t batch);

}  // namespace xbarsim
