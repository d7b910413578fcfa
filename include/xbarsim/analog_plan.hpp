#pragma once
// Which MVM layers of a graph run on crossbars, with which settings and ranges. Built from a
// Graph and an AnalogConfig; ranges that are "calibrated" are filled by calibrate() or read from a
// ranges file (`xbarsim calibrate` writes one, `xbarsim run --ranges` reads it).
#include <cstdint>
#include <string>
#include <vector>

#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/analog_config.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/graph.hpp"
#include "xbarsim/preprocess.hpp"

namespace xbarsim {

struct AnalogLayerPlan {
    size_t node = 0;              // index into Graph::nodes
    std::string name;
    int mvm_index = 0;            // position among the graph's MVM layers
    AnalogLayerConfig config;
    int64_t groups = 1;           // Conv groups, each its own matrix
    int64_t rows = 0, cols = 0;   // per group: K inputs x N outputs
    int slices = 1;               // weight slices actually used
    // Ranges (filled from config, calibration or a ranges file).
    float input_range = 0.0f;     // full scale of the DAC
    bool input_signed = true;
    std::vector<float> adc_range; // per slice, normalized array-output units
    std::vector<float> adc_column_range;  // adc.per_column: [slice][group][column], else empty
    bool calibrated = false;
};

// What the arrays of a layer are given, the same for both backends and for calibration.
analog::MatrixMapping layer_mapping(const AnalogLayerPlan& l);  // the config's, with its read-noise mode
analog::InputSpec layer_input(const AnalogLayerPlan& l);        // the DAC, with the calibrated range
// True where no array output can be negative: offset cells without a reference column, or one
// polarity of a separately digitized pair, driven by non-negative inputs.
bool layer_outputs_nonnegative(const AnalogLayerPlan& l);
// The ADC with its per-slice ranges: an asymmetric ADC spans [0, range] where outputs cannot be
// negative, [-range, range] otherwise.
analog::AdcSpec layer_adc(const AnalogLayerPlan& l);
// The ADC of Conv group `group`: layer_adc, plus that group's per-column ranges when there are any.
analog::AdcSpec layer_group_adc(const AnalogLayerPlan& l, int64_t group);

struct AnalogPlan {
    std::vector<AnalogLayerPlan> layers;  // analog layers only, in graph order
    analog::DeviceParams device;
    uint64_t seed = 1;
    std::string model;                    // the graph's source file, for messages
    std::vector<std::string> mvm_layers;  // every Conv/Gemm/MatMul layer of the model, analog or not
    bool needs_calibration() const;       // some range is still to be measured
    const AnalogLayerPlan* find(size_t node) const;
};

// Names of the graph's Conv/Gemm/MatMul layers in graph order (what `match` indices count).
std::vector<std::string> mvm_layer_names(const Graph& graph);

// Resolves every MVM layer's settings; layers kept digital are left out. An override of the
// config that matches no MVM layer of the graph is an Error (check_overrides_match). Explicit and "max"
// ranges are filled in where they need no data.
AnalogPlan make_analog_plan(const Graph& graph, const AnalogConfig& config, uint64_t seed);

struct CalibrationOptions {
    int64_t images = 500;  // calibration samples
    int64_t batch = 64;
    bool progress = true;
    std::string backend = "cpu";  // backend of the calibration forward passes (cpu, cuda, auto)
};

// Measures the calibrated ranges on `dataset` (training images, never the ones accuracy is
// reported on): input ranges from the digital network's activations, then ADC ranges from the
// ideal arrays' outputs for those inputs, as percentiles of |value| with streaming histograms.
void calibrate(const Graph& graph, AnalogPlan& plan, Dataset& dataset, const PreprocessSpec& preprocess,
               const CalibrationOptions& options);

// Ranges file (YAML): per layer name, input range, input sign and ADC range per slice.
void save_ranges(const AnalogPlan& plan, const std::string& path, const std::string& provenance);
// Fills the plan's ranges from a file; every analog layer must be present and every layer named
// must be an MVM layer of the model (errors name the layer, file and line). Ranges must be finite,
// positive and at most kMaxRangeValue as floats.
void load_ranges(AnalogPlan& plan, const std::string& path);

}  // namespace xbarsim
