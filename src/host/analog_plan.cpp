#include "xbarsim/analog_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/analog/conv_columns.hpp"
#include "xbarsim/analog/recombine.hpp"
#include "xbarsim/batch_stream.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/progress.hpp"
#include "xbarsim/streaming_histogram.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim {

bool AnalogPlan::needs_calibration() const {
    return std::any_of(layers.begin(), layers.end(), [](const AnalogLayerPlan& l) { return !l.calibrated; });
}

const AnalogLayerPlan* AnalogPlan::find(size_t node) const {
    for (const auto& l : layers)
        if (l.node == node) return &l;
    return nullptr;
}

analog::MatrixMapping layer_mapping(const AnalogLayerPlan& l) {
    analog::MatrixMapping m = l.config.mapping;
    m.per_cell_read_noise = l.config.read_noise_mode == ReadNoiseMode::PerCell;
    return m;
}

analog::InputSpec layer_input(const AnalogLayerPlan& l) {
    analog::InputSpec in;
    in.bits = l.config.input_bits;
    in.range = l.input_range;
    in.is_signed = l.input_signed;
    in.slice_bits = l.config.input_slice_bits;
    in.analog_accumulation = l.config.input_analog_accumulation;
    return in;
}

bool layer_outputs_nonnegative(const AnalogLayerPlan& l) {
    const auto& m = l.config.mapping;
    return !l.input_signed && ((m.mapping == analog::Mapping::Offset && !m.reference_column) || m.separate_differential);
}

analog::AdcSpec layer_adc(const AnalogLayerPlan& l) {
    analog::AdcSpec a;
    a.bits = l.config.adc_bits;
    a.symmetric = l.config.adc_symmetric;
    a.stochastic = l.config.stochastic_rounding;
    a.hi = l.adc_range;
    if (!a.symmetric)
        for (float h : l.adc_range) a.lo.push_back(layer_outputs_nonnegative(l) ? 0.0f : -h);
    return a;
}

analog::AdcSpec layer_group_adc(const AnalogLayerPlan& l, int64_t group) {
    analog::AdcSpec a = layer_adc(l);
    if (l.adc_column_range.empty()) return a;
    // adc_column_range is [slice][group][column]: this group's columns of every slice.
    const auto cols = static_cast<size_t>(l.cols), groups = static_cast<size_t>(l.groups);
    if (l.adc_column_range.size() != static_cast<size_t>(l.slices) * groups * cols)
        throw Error("analog layer '" + l.name + "': per-column ADC ranges need one value per slice and output column");
    for (size_t s = 0; s < static_cast<size_t>(l.slices); ++s) {
        const float* r = l.adc_column_range.data() + (s * groups + static_cast<size_t>(group)) * cols;
        a.column_hi.insert(a.column_hi.end(), r, r + cols);
    }
    if (!a.symmetric)
        for (float h : a.column_hi) a.column_lo.push_back(layer_outputs_nonnegative(l) ? 0.0f : -h);
    return a;
}

namespace {

int slices_used(const AnalogLayerConfig& c) { return c.mapping.weight_bits > 0 ? c.mapping.slices : 1; }

// Fills what needs no data: explicit values, and the ADC's "max" (the largest array output:
// every row at full conductance and full input, i.e. +-rows in normalized units).
void fill_static_ranges(AnalogLayerPlan& l) {
    const auto& c = l.config;
    if (c.input_range.mode == RangeMode::Value) l.input_range = c.input_range.value;
    if (c.input_sign != InputSign::Auto) l.input_signed = c.input_sign == InputSign::Signed;
    l.adc_range.assign(static_cast<size_t>(l.slices), 0.0f);
    if (c.adc_range.mode == RangeMode::Value) std::fill(l.adc_range.begin(), l.adc_range.end(), c.adc_range.value);
    if (c.adc_range.mode == RangeMode::Max)
        std::fill(l.adc_range.begin(), l.adc_range.end(), static_cast<float>(std::min(c.mapping.array_rows, l.rows)));
    if (c.adc_bits == 0) std::fill(l.adc_range.begin(), l.adc_range.end(), 0.0f);  // ideal ADC: no range
    const bool input_known = c.input_range.mode == RangeMode::Value && c.input_sign != InputSign::Auto;
    const bool adc_known = c.adc_bits == 0 || c.adc_range.mode != RangeMode::Calibrated;
    l.calibrated = input_known && adc_known;
}

}  // namespace

std::vector<std::string> mvm_layer_names(const Graph& graph) {
    std::vector<std::string> names;
    for (const auto& n : graph.nodes)
        if (is_mvm_layer(n.op)) names.push_back(n.name);
    return names;
}

AnalogPlan make_analog_plan(const Graph& graph, const AnalogConfig& config, uint64_t seed) {
    AnalogPlan plan;
    plan.device = config.device;
    plan.seed = seed;
    plan.model = graph.source.empty() ? std::string("(in memory)") : graph.source;
    std::vector<size_t> mvm;
    for (size_t i = 0; i < graph.nodes.size(); ++i)
        if (is_mvm_layer(graph.nodes[i].op)) mvm.push_back(i);
    plan.mvm_layers = mvm_layer_names(graph);
    check_overrides_match(config, plan.mvm_layers, plan.model);
    for (size_t j = 0; j < mvm.size(); ++j) {
        const Node& n = graph.nodes[mvm[j]];
        AnalogLayerPlan l;
        l.node = mvm[j];
        l.name = n.name;
        l.mvm_index = static_cast<int>(j);
        l.config = resolve_layer(config, n.name, l.mvm_index, static_cast<int>(mvm.size()));
        if (!l.config.analog) continue;
        const Shape& w = graph.value(n.inputs[1]).shape;
        l.groups = n.op == OpType::Conv ? n.attrs.group : 1;
        l.cols = w[0] / l.groups;
        l.rows = n.op == OpType::Conv ? w[1] * w[2] * w[3] : w[1];
        l.slices = slices_used(l.config);
        if (l.config.weight_range == WeightRange::Percentile) {
            // Weight full scale at a percentile of |W| over the whole layer; larger weights clip.
            std::vector<float> a(graph.value(n.inputs[1]).data.data);
            for (auto& v : a) v = std::fabs(v);
            const auto k = static_cast<size_t>(std::ceil(l.config.weight_percentile / 100.0 * static_cast<double>(a.size())));
            std::nth_element(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(k, 1) - 1), a.end());
            l.config.mapping.w_max = a[std::max<size_t>(k, 1) - 1];
        }
        fill_static_ranges(l);
        plan.layers.push_back(std::move(l));
    }
    return plan;
}

namespace {

// Pass 1: |input| statistics of every analog layer (all groups together).
class InputStats final : public MvmObserver {
public:
    explicit InputStats(const AnalogPlan& plan) {
        for (const auto& l : plan.layers) hist_.emplace(l.node, StreamingHistogram());
    }
    void on_mvm_input(size_t node, int64_t, const float* cols, int64_t k, int64_t m) override {
        auto it = hist_.find(node);
        if (it != hist_.end()) it->second.add(cols, k * m);
    }
    const StreamingHistogram& at(size_t node) const { return hist_.at(node); }

private:
    std::map<size_t, StreamingHistogram> hist_;
};

// Pass 2: the ideal arrays' column outputs before the ADC, per layer and slice (and per output
// column for per-column ranges), for the inputs the DAC produces with the ranges of pass 1.
class ArrayOutputStats final : public MvmObserver {
public:
    static constexpr int kColumnBins = 1024;  // per-column histograms are many: keep each small

    ArrayOutputStats(const Graph& g, const AnalogPlan& plan) {
        for (const auto& l : plan.layers) {
            if (l.config.adc_bits == 0 || l.config.adc_range.mode != RangeMode::Calibrated) continue;
            auto& entry = layers_[l.node];
            entry.plan = &l;
            entry.hist.assign(static_cast<size_t>(l.slices), StreamingHistogram());
            if (l.config.adc_per_column)
                entry.column_hist.assign(static_cast<size_t>(l.slices * l.groups * l.cols), StreamingHistogram(kColumnBins));
            const Tensor& w = g.value(g.nodes[l.node].inputs[1]).data;
            for (int64_t grp = 0; grp < l.groups; ++grp)
                entry.matrices.emplace_back(w.ptr() + grp * l.cols * l.rows, l.cols, l.rows, l.config.mapping);
        }
    }
    void on_mvm_input(size_t node, int64_t group, const float* cols, int64_t, int64_t m) override {
        auto it = layers_.find(node);
        if (it == layers_.end()) return;
        auto& e = it->second;
        out_.resize(static_cast<size_t>(e.plan->cols * m));
        e.matrices[static_cast<size_t>(group)].mvm(cols, m, layer_input(*e.plan), analog::AdcSpec{}, out_.data(), recorder(e, group));
    }
    // A convolution's input in place: the DAC applied while it is padded (padding stays
    // dac(0) = 0), then the same array outputs as from the unrolled columns.
    bool takes_conv_input(size_t node) const override {
        auto it = layers_.find(node);
        return it != layers_.end() && it->second.matrices.front().takes_conv_columns();
    }
    void on_conv_input(size_t node, int64_t group, const analog::ConvInput& x) override {
        auto it = layers_.find(node);
        if (it == layers_.end()) return;
        auto& e = it->second;
        const analog::InputSpec in = layer_input(*e.plan);
        analog::dac_all(x, in, dac_cols_);
        out_.resize(static_cast<size_t>(e.plan->cols * dac_cols_.cols()));
        e.matrices[static_cast<size_t>(group)].mvm_conv(dac_cols_, in, analog::AdcSpec{}, out_.data(), 0, recorder(e, group));
    }
    struct Entry {
        const AnalogLayerPlan* plan = nullptr;
        std::vector<analog::AnalogMatrix> matrices;
        std::vector<StreamingHistogram> hist;         // per slice
        std::vector<StreamingHistogram> column_hist;  // per slice, group and column (per-column ranges)
    };
    const Entry* at(size_t node) const {
        auto it = layers_.find(node);
        return it == layers_.end() ? nullptr : &it->second;
    }

private:
    // Adds each slice's array outputs to the histograms of the layer (and of each output column).
    static analog::AnalogMatrix::PartialSumObserver recorder(Entry& e, int64_t group) {
        return [&e, group](int s, const float* v, int64_t rows, int64_t width) {
            e.hist[static_cast<size_t>(s)].add(v, rows * width);
            if (e.column_hist.empty()) return;
            for (int64_t o = 0; o < rows; ++o)
                e.column_hist[(static_cast<size_t>(s) * static_cast<size_t>(e.plan->groups) + static_cast<size_t>(group)) *
                                  static_cast<size_t>(e.plan->cols) + static_cast<size_t>(o)]
                    .add(v + o * width, width);
        };
    }

    std::map<size_t, Entry> layers_;
    std::vector<float> out_;
    analog::ConvColumns dac_cols_;
};

// The range a calibrated RangeSpec picks from a histogram of |value|, for a quantizer with
// `levels` steps between 0 and the range (0: not quantized).
double calibrated_range(const StreamingHistogram& h, const RangeSpec& spec, double levels) {
    if (spec.method == CalibrationMethod::Mse && levels > 0.0) return h.mse_optimal_range(levels);
    return h.percentile(spec.percentile);
}

// Steps between 0 and the ADC's range: symmetric sign-magnitude 2^(B-1) - 1; an asymmetric ADC
// spreads 2^B - 1 steps over [-range, range], or over [0, range] for non-negative outputs.
double adc_levels(const AnalogLayerPlan& l) {
    const int b = l.config.adc_bits;
    if (l.config.adc_symmetric) return analog::signed_max_level(b);
    const double top = analog::unsigned_max_level(b);
    return layer_outputs_nonnegative(l) ? top : top / 2.0;
}

void run_pass(const Graph& graph, Dataset& dataset, const PreprocessSpec& preprocess, const CalibrationOptions& o,
              MvmObserver& observer, const char* label) {
    auto backend = make_backend(o.backend);
    backend->load(graph);
    backend->observe(&observer);
    const Preprocessor pre(preprocess, dataset.info().sample_shape);
    BatchStreamOptions so;
    so.batch_size = o.batch;
    so.limit = o.images;
    BatchStream stream(dataset, &pre, so);
    std::optional<ProgressBar> bar;
    if (o.progress) bar.emplace(stream.num_samples(), label);
    Batch b;
    int64_t done = 0;
    while (stream.next(b)) {
        backend->forward(b.x);
        done += b.size();
        if (bar) bar->update(done);
    }
}

}  // namespace

void calibrate(const Graph& graph, AnalogPlan& plan, Dataset& dataset, const PreprocessSpec& preprocess,
               const CalibrationOptions& options) {
    if (options.images < 1) throw Error("calibration needs at least one image");
    InputStats inputs(plan);
    run_pass(graph, dataset, preprocess, options, inputs, "calibrating inputs");
    for (auto& l : plan.layers) {
        const StreamingHistogram& h = inputs.at(l.node);
        if (l.config.input_sign == InputSign::Auto) l.input_signed = h.saw_negative();
        if (l.config.input_range.mode == RangeMode::Calibrated) {
            const int b = l.config.input_bits;
            const double levels = b > 0 ? analog::input_code_max(b, l.input_signed) : 0.0;
            l.input_range = static_cast<float>(calibrated_range(h, l.config.input_range, levels));
        }
        if (l.config.input_range.mode == RangeMode::Max) l.input_range = static_cast<float>(h.max());
        if (!(l.input_range > 0.0f)) l.input_range = 1.0f;  // a layer that only ever saw zeros
    }
    ArrayOutputStats outputs(graph, plan);
    run_pass(graph, dataset, preprocess, options, outputs, "calibrating ADCs");
    for (auto& l : plan.layers) {
        if (const auto* e = outputs.at(l.node)) {
            const double levels = adc_levels(l);
            for (size_t s = 0; s < e->hist.size(); ++s) {
                const double v = calibrated_range(e->hist[s], l.config.adc_range, levels);
                l.adc_range[s] = v > 0.0 ? static_cast<float>(v) : 1.0f;
            }
            l.adc_column_range.clear();
            for (const auto& h : e->column_hist) {
                const double v = calibrated_range(h, l.config.adc_range, levels);
                l.adc_column_range.push_back(v > 0.0 ? static_cast<float>(v) : 1.0f);
            }
        }
        l.calibrated = true;
    }
}

void save_ranges(const AnalogPlan& plan, const std::string& path, const std::string& provenance) {
    YAML::Emitter out;
    out << YAML::Comment("xbarsim calibrated ranges: " + provenance);
    out << YAML::BeginMap << YAML::Key << "layers" << YAML::Value << YAML::BeginMap;
    for (const auto& l : plan.layers) {
        out << YAML::Key << l.name << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "input_range" << YAML::Value << l.input_range;
        out << YAML::Key << "input_signed" << YAML::Value << l.input_signed;
        out << YAML::Key << "adc_range" << YAML::Value << YAML::Flow << l.adc_range;
        if (!l.adc_column_range.empty())  // [slice][group][column], flattened
            out << YAML::Key << "adc_column_range" << YAML::Value << YAML::Flow << l.adc_column_range;
        out << YAML::EndMap;
    }
    out << YAML::EndMap << YAML::EndMap;
    write_file_atomic(path, std::string(out.c_str()) + "\n");
}

namespace {

// A range value of a ranges file as the float it is stored in: finite, positive, at most
// kMaxRangeValue (calibration never writes more; a larger one is an edited or foreign file).
float stored_range(const std::string& path, const YAML::Node& node, const std::string& key, double v) {
    const float f = yaml_as_float(path, node, key, v);
    if (!(f > 0.0f && f <= kMaxRangeValue)) {
        char got[64];
        std::snprintf(got, sizeof got, "%g", v);
        yaml_fail(path, node, key, std::string("must be positive and at most 1e20, got ") + got);
    }
    return f;
}

// Each value of the list `key` of `e` checked by stored_range, with the element's own line.
std::vector<float> range_list(const std::string& path, const YAML::Node& e, const std::string& key, const std::string& sec) {
    const auto values = yaml_number_list(path, e, key, sec);
    const YAML::Node n = e[key];
    std::vector<float> out;
    out.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i)
        out.push_back(stored_range(path, n.IsSequence() ? n[i] : n, sec + "." + key + "[" + std::to_string(i) + "]", values[i]));
    return out;
}

// Every layer named in the file must be a Conv/Gemm/MatMul layer of the model: a ranges file is
// written for one model, and a name it does not know means the file belongs to another.
// Layers of the model that this config keeps digital are allowed (a file calibrated with more
// analog layers serves a config with fewer).
void check_ranges_layers(const AnalogPlan& plan, const std::string& path, const YAML::Node& layers) {
    std::vector<std::string> known = plan.mvm_layers;
    if (known.empty())
        for (const auto& l : plan.layers) known.push_back(l.name);
    for (const auto& kv : layers) {
        const std::string name = yaml_key(path, kv.first, "layers");
        if (std::find(known.begin(), known.end(), name) != known.end()) continue;
        yaml_fail(path, kv.first, "layers." + name,
                  "no Conv/Gemm/MatMul layer of this name in model '" + plan.model +
                      "' (the ranges file was written for another model; calibrate with this model and config)");
    }
}

}  // namespace

void load_ranges(AnalogPlan& plan, const std::string& path) {
    const YAML::Node root = load_yaml_file(path);
    if (!root.IsDefined() || root.IsNull())
        throw Error(path + ": empty ranges file (expected 'layers:' as written by xbarsim calibrate)");
    yaml_check_keys(path, root, "", {"layers"});
    const YAML::Node layers = root["layers"];
    if (!layers.IsDefined() || layers.IsNull())
        yaml_fail(path, root, "layers", "required key is missing or empty (a ranges file as written by xbarsim calibrate)");
    yaml_require_map(path, layers, "layers");
    yaml_check_unique_keys(path, layers, "layers");
    check_ranges_layers(plan, path, layers);
    for (auto& l : plan.layers) {
        const YAML::Node e = layers[l.name];
        if (!e.IsDefined()) throw Error(path + ": no ranges for analog layer '" + l.name + "' (calibrate with the same model and config)");
        const std::string sec = "layers." + l.name;
        yaml_check_keys(path, e, sec, {"input_range", "input_signed", "adc_range", "adc_column_range"});
        const double input_range = yaml_number_required(path, e, "input_range", sec);
        l.input_range = stored_range(path, e["input_range"], sec + ".input_range", input_range);
        l.input_signed = yaml_bool(path, e, "input_signed", true, sec);
        const auto adc = range_list(path, e, "adc_range", sec);
        if (adc.size() != static_cast<size_t>(l.slices))
            yaml_fail(path, e["adc_range"], sec + ".adc_range",
                      "has " + std::to_string(adc.size()) + " values; the layer has " + std::to_string(l.slices) + " weight slices");
        l.adc_range = adc;
        l.adc_column_range.clear();
        const bool wants_columns = l.config.adc_per_column && l.config.adc_bits > 0;
        if (e["adc_column_range"].IsDefined() != wants_columns)
            yaml_fail(path, e, sec, wants_columns ? "has no adc_column_range but the config asks for per-column ADC ranges"
                                                  : "has adc_column_range but the config does not ask for per-column ADC ranges");
        if (wants_columns) {
            const auto col = range_list(path, e, "adc_column_range", sec);
            const auto expected = static_cast<size_t>(l.slices * l.groups * l.cols);
            if (col.size() != expected)
                yaml_fail(path, e["adc_column_range"], sec + ".adc_column_range",
                          "has " + std::to_string(col.size()) + " values; expected slices x columns = " + std::to_string(expected));
            l.adc_column_range = col;
        }
        l.calibrated = true;
    }
}

}  // namespace xbarsim
