// The analog part of configs (defaults, per-layer overrides, validation), the analog plan and
// its ranges, and the analog path through the whole network.
#include <fstream>

#include "test_util.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::test {
namespace {

Config config_from(TempDir& dir, const std::string& text) {
    const std::string path = dir.file("c.yaml");
    std::ofstream(path) << text;
    return load_config(path);
}

std::string config_error(const std::string& text) {
    TempDir dir;
    try {
        config_from(dir, text);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(AnalogConfig, DefaultsAndOverridesByNameGlobAndIndex) {
    TempDir dir;
    const Config c = config_from(dir, R"(
analog:
  enabled: true
  weight_bits: 6
  adc: {bits: 7, range: max}
layers:
  - match: conv2d_1
    digital: true
  - match: "dense_*"
    adc: {bits: 10}
  - match: -1
    weight_bits: 4
  - match: 2
    mapping: offset
    cell_bits: 5
)");
    ASSERT_TRUE(c.analog.enabled);
    const auto first = resolve_layer(c.analog, "conv2d_1", 0, 6);
    EXPECT_FALSE(first.analog);
    const auto third = resolve_layer(c.analog, "conv2d_3", 2, 6);
    EXPECT_TRUE(third.analog);
    EXPECT_EQ(third.mapping.mapping, analog::Mapping::Offset);
    EXPECT_EQ(third.mapping.cell_bits, 5);
    EXPECT_EQ(third.mapping.weight_bits, 6);
    EXPECT_EQ(third.adc_bits, 7);
    EXPECT_EQ(third.adc_range.mode, RangeMode::Max);
    const auto dense1 = resolve_layer(c.analog, "dense_1", 4, 6);
    EXPECT_EQ(dense1.adc_bits, 10);
    EXPECT_EQ(dense1.adc_range.mode, RangeMode::Max);  // keys not given keep the defaults
    const auto last = resolve_layer(c.analog, "dense_2", 5, 6);
    EXPECT_EQ(last.adc_bits, 10);
    EXPECT_EQ(last.mapping.weight_bits, 4);
    EXPECT_TRUE(layer_matches("-2", "x", 4, 6));
    EXPECT_FALSE(layer_matches("conv?", "conv12", 0, 1));
}

TEST(AnalogConfig, DigitalWhenAbsentOrDisabled) {
    TempDir dir;
    EXPECT_FALSE(config_from(dir, "name: x\n").analog.enabled);
    EXPECT_FALSE(config_from(dir, "analog: {enabled: false, weight_bits: 4}\n").analog.enabled);
}

TEST(AnalogConfig, BadValuesNameKeyAndLine) {
    auto e = config_error("analog:\n  enabled: true\n  adc:\n    bitz: 4\n");
    EXPECT_NE(e.find("c.yaml:4"), std::string::npos) << e;
    EXPECT_NE(e.find("analog.adc.bitz"), std::string::npos) << e;
    e = config_error("analog:\n  mapping: diagonal\n");
    EXPECT_NE(e.find("analog.mapping"), std::string::npos) << e;
    e = config_error("analog:\n  weight_bits: 0\n  slices: 2\n");
    EXPECT_NE(e.find("bit slicing"), std::string::npos) << e;
    e = config_error("analog:\n  input: {range: -3}\n");
    EXPECT_NE(e.find("analog.input.range"), std::string::npos) << e;
    e = config_error("analog:\n  weight_bits: 40\n");
    EXPECT_NE(e.find("analog.weight_bits"), std::string::npos) << e;
    e = config_error("layers:\n  - digital: true\n");
    EXPECT_NE(e.find("layers[0].match"), std::string::npos) << e;
    e = config_error("layers: {a: 1}\n");
    EXPECT_NE(e.find("'layers'"), std::string::npos) << e;
    e = config_error("layers:\n  - match: x\n    adc: {bits: 3, sym: true}\n");
    EXPECT_NE(e.find("layers[0].adc.sym"), std::string::npos) << e;
    EXPECT_NE(e.find("c.yaml:3"), std::string::npos) << e;
    e = config_error("analog:\n  adc: {method: median}\n");
    EXPECT_NE(e.find("analog.adc.method"), std::string::npos) << e;
    e = config_error("analog:\n  input: {accumulation: optical}\n");
    EXPECT_NE(e.find("analog.input.accumulation"), std::string::npos) << e;
    e = config_error("analog:\n  weight_scaling: row\n");
    EXPECT_NE(e.find("analog.weight_scaling"), std::string::npos) << e;
    e = config_error("analog:\n  mapping: offset\n  differential_readout: separate\n");
    EXPECT_NE(e.find("analog.differential_readout"), std::string::npos) << e;
    e = config_error("analog:\n  offset_reference: column\n");
    EXPECT_NE(e.find("analog.offset_reference"), std::string::npos) << e;
    e = config_error("analog:\n  adc: {range: max, per_column: true}\n");
    EXPECT_NE(e.find("analog.adc.per_column"), std::string::npos) << e;
    e = config_error("analog:\n  weight_range: percentile\n  weight_scaling: column\n");
    EXPECT_NE(e.find("analog.weight_scaling"), std::string::npos) << e;
}

TEST(AnalogConfig, ReadoutScalingAndCalibrationKeys) {
    TempDir dir;
    const Config c = config_from(dir, R"(
analog:
  enabled: true
  weight_scaling: column
  differential_readout: separate
  input: {slice_bits: 1, accumulation: analog, method: mse}
  adc: {per_column: true, method: mse}
)");
    const auto& d = c.analog.defaults;
    EXPECT_TRUE(d.mapping.per_column_scale);
    EXPECT_TRUE(d.mapping.separate_differential);
    EXPECT_TRUE(d.input_analog_accumulation);
    EXPECT_EQ(d.input_range.method, CalibrationMethod::Mse);
    EXPECT_EQ(d.adc_range.method, CalibrationMethod::Mse);
    EXPECT_TRUE(d.adc_per_column);
    // An override switching to offset cells does not use the defaults' differential readout.
    const Config sw = config_from(dir, "analog:\n  differential_readout: separate\nlayers:\n  - {match: 0, mapping: offset}\n");
    EXPECT_FALSE(resolve_layer(sw.analog, "conv", 0, 3).mapping.separate_differential);
    EXPECT_TRUE(resolve_layer(sw.analog, "fc", 1, 3).mapping.separate_differential);
    const Config ok = config_from(dir, R"(
analog:
  enabled: true
layers:
  - {match: 0, mapping: offset, offset_reference: column}
)");
    const AnalogLayerConfig l0 = resolve_layer(ok.analog, "conv", 0, 3), l1 = resolve_layer(ok.analog, "fc", 1, 3);
    EXPECT_TRUE(l0.mapping.reference_column);
    EXPECT_FALSE(l1.mapping.reference_column);
}

TEST(AnalogPlan, LayersShapesAndStaticRanges) {
    TempDir dir;
    const Graph g = load_onnx(repo("models/mnist_cnn6.onnx"));
    const Config c = config_from(dir, R"(
analog:
  array: {rows: 100, cols: 64}
  input: {range: 2.0, sign: unsigned}
  adc: {range: max}
layers:
  - {match: 0, digital: true}
)");
    const AnalogPlan p = make_analog_plan(g, c.analog, 1);
    ASSERT_EQ(p.layers.size(), 5u);
    EXPECT_EQ(p.layers[0].name, "conv2d_2");
    EXPECT_EQ(p.layers[0].rows, 27);   // 3x3x3 (layer table of the model)
    EXPECT_EQ(p.layers[0].cols, 3);
    EXPECT_EQ(p.layers[3].name, "dense_1");
    EXPECT_EQ(p.layers[3].rows, 294);
    EXPECT_EQ(p.layers[3].cols, 200);
    EXPECT_FLOAT_EQ(p.layers[3].adc_range.at(0), 100.0f);  // "max": one full array of rows
    EXPECT_FLOAT_EQ(p.layers[0].adc_range.at(0), 27.0f);   // fewer rows than the array
    EXPECT_FLOAT_EQ(p.layers[0].input_range, 2.0f);
    EXPECT_FALSE(p.needs_calibration());
}

// With every converter and the weights unquantized, crossbars compute exactly the digital product:
// the analog path through im2col, groups, Linear transposes and fused activations is transparent.
TEST(AnalogPlan, UnquantizedAnalogNetworkEqualsDigital) {
    TempDir dir;
    for (const char* model : {"models/mnist_cnn6.onnx", "tests/fixtures/ops/net_mobilenet_block_op14.onnx"}) {
        const Graph g = load_onnx(repo(model));
        const Config c = config_from(dir, R"(
analog:
  weight_bits: 0
  array: {rows: 7, cols: 5}
  input: {bits: 0, range: 1000.0, sign: signed}
  adc: {bits: 0}
device: {model: ideal, on_off_ratio: 10}
)");
        const AnalogPlan plan = make_analog_plan(g, c.analog, 1);
        ASSERT_FALSE(plan.layers.empty());
        Shape s = g.input_shape();
        s[0] = 3;
        Tensor x(s);
        for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<float>((i * 7919) % 101) / 101.0f - 0.3f;
        auto digital = make_backend("cpu"), analog = make_backend("cpu");
        digital->load(g);
        analog->load(g, &plan);
        analog->program(0);
        EXPECT_TRUE(close(analog->forward(x).at(0), digital->forward(x).at(0), 1e-4)) << model;
    }
}

TEST(AnalogPlan, RangesFileRoundTripAndErrors) {
    TempDir dir;
    const Graph g = load_onnx(repo("models/mnist_cnn6.onnx"));
    const Config c = config_from(dir, "analog: {enabled: true, weight_bits: 8, slices: 2}\n");
    AnalogPlan p = make_analog_plan(g, c.analog, 1);
    EXPECT_TRUE(p.needs_calibration());
    auto calib = open_dataset(repo("data/mnist-calib"));
    CalibrationOptions o;
    o.images = 64;
    o.progress = false;
    calibrate(g, p, *calib, resolve_preprocess(g, calib->info()), o);
    EXPECT_FALSE(p.needs_calibration());
    EXPECT_FALSE(p.layers[0].input_signed);          // pixels / 255 are never negative
    EXPECT_NEAR(p.layers[0].input_range, 1.0, 0.01);  // 99.99th percentile of pixel/255 on MNIST
    EXPECT_EQ(p.layers[0].adc_range.size(), 2u);      // one range per weight slice
    save_ranges(p, dir.file("r.yaml"), "test");
    AnalogPlan q = make_analog_plan(g, c.analog, 1);
    load_ranges(q, dir.file("r.yaml"));
    for (size_t i = 0; i < p.layers.size(); ++i) {
        EXPECT_FLOAT_EQ(q.layers[i].input_range, p.layers[i].input_range);
        EXPECT_EQ(q.layers[i].adc_range, p.layers[i].adc_range);
    }
    // Per-column ADC ranges with the error-minimizing search: one range per slice and column.
    const Config pc = config_from(dir, "analog: {enabled: true, weight_bits: 8, slices: 2, adc: {per_column: true, method: mse}}\n");
    AnalogPlan col = make_analog_plan(g, pc.analog, 1);
    calibrate(g, col, *calib, resolve_preprocess(g, calib->info()), o);
    for (const auto& l : col.layers) {
        ASSERT_EQ(l.adc_column_range.size(), static_cast<size_t>(l.slices * l.groups * l.cols)) << l.name;
        // Each column's range is at most about the layer's largest output seen (the MSE range
        // never exceeds the max of its histogram) and positive.
        for (float v : l.adc_column_range) EXPECT_GT(v, 0.0f);
    }
    save_ranges(col, dir.file("rc.yaml"), "test");
    AnalogPlan col2 = make_analog_plan(g, pc.analog, 1);
    load_ranges(col2, dir.file("rc.yaml"));
    for (size_t i = 0; i < col.layers.size(); ++i) EXPECT_EQ(col2.layers[i].adc_column_range, col.layers[i].adc_column_range);
    EXPECT_THROW(load_ranges(q, dir.file("rc.yaml")), Error);  // per-column ranges for a per-slice config
    EXPECT_THROW(load_ranges(col2, dir.file("r.yaml")), Error);  // and the other way round
    // MSE ranges of an 8-bit ADC clip more than the 99.99th percentile on heavy-tailed outputs
    // but not all of it: between 10 % and 100 % of the percentile range, layer by layer.
    const Config pm = config_from(dir, "analog: {enabled: true, adc: {method: mse}}\n");
    AnalogPlan mse = make_analog_plan(g, pm.analog, 1), pct = make_analog_plan(g, c.analog, 1);
    const Config pp = config_from(dir, "analog: {enabled: true}\n");
    pct = make_analog_plan(g, pp.analog, 1);
    calibrate(g, mse, *calib, resolve_preprocess(g, calib->info()), o);
    calibrate(g, pct, *calib, resolve_preprocess(g, calib->info()), o);
    for (size_t i = 0; i < mse.layers.size(); ++i) {
        EXPECT_LE(mse.layers[i].adc_range[0], pct.layers[i].adc_range[0] * 1.05f) << mse.layers[i].name;
        EXPECT_GE(mse.layers[i].adc_range[0], pct.layers[i].adc_range[0] * 0.1f) << mse.layers[i].name;
    }
    std::ofstream(dir.file("bad.yaml")) << "layers:\n  conv2d_1: {input_range: 1, adc_range: [1, 1]}\n";
    try {
        load_ranges(q, dir.file("bad.yaml"));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("conv2d_2"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace xbarsim::test
