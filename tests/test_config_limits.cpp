// Bad input in the YAML readers (configs, ranges files, technology files, preprocessing): every
// value is bounded, finite and checked as it is stored, keys are plain and unique, and every
// failure is an Error naming the file, the key and its line, never a yaml-cpp exception.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/cost/tech.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/preprocess.hpp"

namespace xbarsim::test {
namespace {

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir.file(name);
    std::ofstream(path) << text;
    return path;
}

// The error of loading `text` as a config file named c.yaml.
std::string config_error(const std::string& text) {
    TempDir dir;
    const std::string path = write(dir, "c.yaml", text);
    return error_of([&] { load_config(path); });
}

TEST(ConfigLimits, KeysThatAreListsOrMapsAreErrors) {
    std::string e = config_error("[a]: 1\n");
    EXPECT_HAS(e, "c.yaml:1: key at the top level must be a plain string, got a list");
    e = config_error("run:\n  {a: 1}: 2\n");
    EXPECT_HAS(e, "c.yaml:2: key in 'run' must be a plain string, got a mapping");
    e = config_error("device:\n  model: generic\n  [x]: 1\n");  // the device reader checks its own keys
    EXPECT_HAS(e, "c.yaml:3: key in 'device' must be a plain string");
}

TEST(ConfigLimits, DuplicateKeysNameBothLines) {
    std::string e = config_error("run:\n  batch_size: 4\n  batch_size: 8\n");
    EXPECT_HAS(e, "c.yaml:3: key 'run.batch_size': duplicate key (also at line 2)");
    e = config_error("name: a\nname: b\n");
    EXPECT_HAS(e, "c.yaml:2: key 'name': duplicate key (also at line 1)");
    e = config_error("device:\n  model: pcm\n  model: pcm\n");
    EXPECT_HAS(e, "key 'device.model': duplicate key (also at line 2)");
}

TEST(ConfigLimits, DirectoriesAndUnreadableFilesNameThePath) {
    TempDir dir;
    std::string e = error_of([&] { load_config(dir.str()); });
    EXPECT_HAS(e, dir.str() + ": is a directory, not a YAML file");
    if (std::filesystem::exists("/proc/self/mem")) {  // opens, but every read fails
        e = error_of([] { load_config("/proc/self/mem"); });
        EXPECT_HAS(e, "/proc/self/mem: cannot read file");
    }
    if (std::filesystem::exists("/dev/zero")) {  // endless: reading stops at the size limit
        e = error_of([] { load_config("/dev/zero"); });
        EXPECT_HAS(e, "/dev/zero: larger than 64 MiB");
    }
}

TEST(ConfigLimits, IntegersOutsideTheirBoundsAreNeverNarrowed) {
    std::string e = config_error("analog:\n  array: {rows: 9223372036854775807}\n");
    EXPECT_HAS(e, "c.yaml:2: key 'analog.array.rows': must be 1..65536, got 9223372036854775807");
    e = config_error("analog:\n  array: {cols: 65537}\n");
    EXPECT_HAS(e, "key 'analog.array.cols': must be 1..65536");
    e = config_error("analog:\n  slices: 4294967297\n");  // was 1 after a cast to int
    EXPECT_HAS(e, "c.yaml:2: key 'analog.slices': must be 1..24, got 4294967297");
    e = config_error("analog:\n  input: {slice_bits: 4294967296}\n");  // was 0
    EXPECT_HAS(e, "key 'analog.input.slice_bits': must be 0..24");
    e = config_error("analog:\n  adc: {columns_per_adc: 4294967297}\n");  // was 1
    EXPECT_HAS(e, "key 'analog.adc.columns_per_adc': must be 1..65536");
    e = config_error("layers:\n  - match: x\n    adc: {columns_per_adc: 2147483647}\n");
    EXPECT_HAS(e, "c.yaml:3: key 'layers[0].adc.columns_per_adc': must be 1..65536");
    e = config_error("run: {threads: 100000}\n");
    EXPECT_HAS(e, "key 'run.threads': must be 0..4096");
    e = config_error("run: {batch_size: 65537}\n");
    EXPECT_HAS(e, "key 'run.batch_size': must be 1..65536");
    e = config_error("run: {trials: 1000001}\n");
    EXPECT_HAS(e, "key 'run.trials': must be 1..1000000");
    TempDir dir;  // the bounds themselves are accepted
    const Config c = load_config(write(dir, "ok.yaml",
                                       "run: {batch_size: 65536, threads: 4096, trials: 1000000}\n"
                                       "analog: {slices: 24, array: {rows: 65536, cols: 65536}, adc: {columns_per_adc: 65536}}\n"));
    EXPECT_EQ(c.analog.defaults.mapping.array_rows, 65536);
    EXPECT_EQ(c.analog.defaults.columns_per_adc, 65536);
    EXPECT_EQ(c.analog.defaults.mapping.slices, 24);
}

TEST(ConfigLimits, NumbersAreCheckedAsTheFloatTheyAreStoredIn) {
    std::string e = config_error("analog:\n  input: {range: .inf}\n");
    EXPECT_HAS(e, "c.yaml:2: key 'analog.input.range': must be a finite number within float range");
    e = config_error("analog:\n  input: {range: 1e300}\n");  // inf as a float
    EXPECT_HAS(e, "key 'analog.input.range': must be a finite number within float range");
    e = config_error("analog:\n  input: {range: 1e-300}\n");  // 0 as a float
    EXPECT_HAS(e, "key 'analog.input.range': must be positive and at most 1e20");
    e = config_error("analog:\n  adc: {range: 1e30}\n");
    EXPECT_HAS(e, "key 'analog.adc.range': must be positive and at most 1e20");
    e = config_error("analog:\n  adc: {range: .inf}\n");
    EXPECT_HAS(e, "key 'analog.adc.range': must be a finite number");
    e = config_error("device:\n  model: generic\n  g_max_uS: 1e-300\n");
    EXPECT_HAS(e, "c.yaml:3: key 'device.g_max_uS': must be > 0 (µS), got 1e-300 (0 as float)");
}

TEST(ConfigLimits, PreprocessingValuesMustFitAFloat) {
    const std::string f = "dataset.yaml";
    auto error = [&](const std::string& text) {
        const YAML::Node n = YAML::Load(text)["preprocessing"];
        return error_of([&] { parse_preprocess(n, f, "", "preprocessing"); });
    };
    EXPECT_HAS(error("preprocessing:\n  scale: 1e300\n"), "dataset.yaml:2: key 'preprocessing.scale': must be a finite non-zero number");
    EXPECT_HAS(error("preprocessing:\n  scale: 1e-300\n"), "key 'preprocessing.scale': must be a finite non-zero number");
    EXPECT_HAS(error("preprocessing:\n  mean: 1e300\n"), "dataset.yaml:2: key 'preprocessing.mean': must be a finite number");
    EXPECT_HAS(error("preprocessing:\n  mean: [0, 1e300, 0]\n"), "key 'preprocessing.mean': must be a finite number");
    EXPECT_HAS(error("preprocessing:\n  std: 1e-300\n"), "key 'preprocessing.std': values must be > 0 as a float");
    // Each value fits, their quotient does not: the preprocessor refuses it instead of feeding inf.
    const PreprocessSpec spec = parse_preprocess(YAML::Load("{scale: 1e30, std: 1e-30}"), f, "", "preprocessing");
    EXPECT_HAS(error_of([&] { Preprocessor p(spec, Shape{1, 2, 2}); }), "outside float range");
}

TEST(ConfigLimits, CostValuesAreFiniteAndPlausible) {
    EXPECT_HAS(config_error("cost:\n  clock_ns: .inf\n"), "c.yaml:2: key 'cost.clock_ns': must be 0");
    EXPECT_HAS(config_error("cost:\n  clock_ns: 1e308\n"), "key 'cost.clock_ns'");
    EXPECT_HAS(config_error("cost:\n  r_on_ohm: .inf\n"), "c.yaml:2: key 'cost.r_on_ohm': must be a finite number in [1, 1e+12], got inf");
    EXPECT_HAS(config_error("cost:\n  r_on_ohm: 1e-300\n"), "key 'cost.r_on_ohm': must be a finite number in [1, 1e+12]");
    EXPECT_HAS(config_error("cost:\n  on_off_ratio: .inf\n"), "key 'cost.on_off_ratio'");
    TempDir dir;
    EXPECT_DOUBLE_EQ(load_config(write(dir, "ok.yaml", "cost: {clock_ns: 10, r_on_ohm: 1e6, on_off_ratio: 100}\n")).cost.r_on_ohm, 1e6);
}

// The bundled 22 nm technology with the line starting with `key:` (indented) replaced.
std::string tech_with(const std::string& key, const std::string& line) {
    std::ifstream in(repo("configs/tech/22nm.yaml"));
    std::stringstream out;
    std::string l;
    bool done = false;
    while (std::getline(in, l)) {
        const auto p = l.find_first_not_of(' ');
        if (!done && p != std::string::npos && l.compare(p, key.size() + 1, key + ":") == 0) {
            out << l.substr(0, p) << line << "\n";
            done = true;
        } else {
            out << l << "\n";
        }
    }
    EXPECT_TRUE(done) << key;
    return out.str();
}

TEST(ConfigLimits, TechnologyConstantsAreFiniteAndBounded) {
    TempDir dir;
    auto error = [&](const std::string& text) {
        const std::string path = write(dir, "t.yaml", text);
        return error_of([&] { cost::load_tech(path); });
    };
    EXPECT_HAS(error(tech_with("array_read_ns", "array_read_ns: .inf")), "key 'timing.array_read_ns': must be a finite number");
    EXPECT_HAS(error(tech_with("uW_per_mm2", "uW_per_mm2: 1e308")), "key 'leakage.uW_per_mm2': must be at most 1e+06, got 1e+308");
    EXPECT_HAS(error(tech_with("mac8_fJ", "mac8_fJ: 1e300")), "key 'digital.mac8_fJ': must be at most 1e+09");
    // devices: is the file's last section: an entry appended belongs to it.
    const std::string tech = tech_with("name", "name: 22nm");
    EXPECT_HAS(error(tech + "  [rram]: {}\n"), "key in 'devices' must be a plain string, got a list");
    EXPECT_HAS(error(tech + "  pcm: {}\n"), "key 'devices.pcm': duplicate key (also at line");
    EXPECT_NO_THROW(cost::load_tech(write(dir, "same.yaml", tech_with("name", "name: 22nm"))));
}

class RangesFile : public ::testing::Test {
protected:
    void SetUp() override {
        graph_ = load_onnx(repo("models/mnist_cnn6.onnx"));
        config_ = load_config(write(dir_, "c.yaml", "analog: {enabled: true}\n"));
    }
    // Loads ranges `text` into a fresh plan; the error, or "" when it loads.
    std::string load(const std::string& text) {
        AnalogPlan plan = make_analog_plan(graph_, config_.analog, 1);
        const std::string path = write(dir_, "r.yaml", text);
        try {
            load_ranges(plan, path);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
    // A valid ranges file for the model, with `first` as the entry of its first layer.
    std::string ranges(const std::string& first) {
        const AnalogPlan plan = make_analog_plan(graph_, config_.analog, 1);
        std::string s = "layers:\n";
        for (size_t i = 0; i < plan.layers.size(); ++i)
            s += "  " + plan.layers[i].name + ": " + (i == 0 ? first : "{input_range: 1, input_signed: true, adc_range: [4]}") + "\n";
        return s;
    }
    TempDir dir_;
    Graph graph_;
    Config config_;
};

TEST_F(RangesFile, MissingLayersIsAnError) {
    EXPECT_HAS(load(""), "r.yaml: empty ranges file");
    EXPECT_HAS(load("{}\n"), "r.yaml:1: key 'layers': required key is missing");
    EXPECT_HAS(load("layers:\n"), "key 'layers': required key is missing");
    EXPECT_EQ(load(ranges("{input_range: 1, input_signed: true, adc_range: [4]}")), "");
}

TEST_F(RangesFile, RangesArePositiveFiniteFloats) {
    const std::string base = "{input_range: 1, input_signed: true, adc_range: [";
    EXPECT_HAS(load(ranges(base + "-1]}")), "r.yaml:2: key 'layers.conv2d_1.adc_range[0]': must be positive");
    EXPECT_HAS(load(ranges(base + "0]}")), "key 'layers.conv2d_1.adc_range[0]': must be positive");
    EXPECT_HAS(load(ranges(base + ".nan]}")), "key 'layers.conv2d_1.adc_range[0]': must be a finite number");
    EXPECT_HAS(load(ranges(base + ".inf]}")), "key 'layers.conv2d_1.adc_range[0]': must be a finite number");
    EXPECT_HAS(load(ranges("{input_range: .inf, adc_range: [4]}")), "key 'layers.conv2d_1.input_range': must be a finite number");
    EXPECT_HAS(load(ranges("{input_range: 1e300, adc_range: [4]}")), "key 'layers.conv2d_1.input_range': must be a finite number");
    EXPECT_HAS(load(ranges("{input_range: 1e-300, adc_range: [4]}")), "key 'layers.conv2d_1.input_range': must be positive");
}

TEST_F(RangesFile, LayersNotInTheModelAreErrors) {
    const std::string ok = "{input_range: 1, input_signed: true, adc_range: [4]}";
    const std::string e = load(ranges(ok) + "  resnet_conv9: " + ok + "\n");
    EXPECT_HAS(e, "r.yaml:8: key 'layers.resnet_conv9': no Conv/Gemm/MatMul layer of this name in model '");
    EXPECT_HAS(e, "mnist_cnn6.onnx'");
    EXPECT_HAS(load(ranges(ok) + "  conv2d_1: " + ok + "\n"), "key 'layers.conv2d_1': duplicate key (also at line 2)");
    // A layer of the model that this config keeps digital may stay in the file.
    const Config digital_first = load_config(write(dir_, "d.yaml", "analog: {enabled: true}\nlayers:\n  - {match: 0, digital: true}\n"));
    AnalogPlan plan = make_analog_plan(graph_, digital_first.analog, 1);
    EXPECT_NO_THROW(load_ranges(plan, write(dir_, "r2.yaml", ranges(ok))));
}

TEST(LayerOverrides, AnOverrideMatchingNoLayerIsAnError) {
    TempDir dir;
    const Graph g = load_onnx(repo("models/mnist_cnn6.onnx"));
    auto plan_error = [&](const std::string& text) {
        const Config c = load_config(write(dir, "c.yaml", text));
        return error_of([&] { make_analog_plan(g, c.analog, 1); });
    };
    std::string e = plan_error("analog: {enabled: true}\nlayers:\n  - {match: conv2d_1, digital: true}\n  - {match: nonexistent_layer, adc: {bits: 4}}\n");
    EXPECT_HAS(e, "c.yaml:4: key 'layers[1].match': 'nonexistent_layer' matches no Conv/Gemm/MatMul layer of model '");
    EXPECT_HAS(e, "mnist_cnn6.onnx'");
    EXPECT_HAS(e, "conv2d_1, ");
    e = plan_error("analog: {enabled: true}\nlayers:\n  - match: 99\n    weight_bits: 4\n");
    EXPECT_HAS(e, "c.yaml:3: key 'layers[0].match': '99' matches no Conv/Gemm/MatMul layer");
    EXPECT_HAS(e, "by index 0..5 or -6..-1");
    EXPECT_HAS(plan_error("analog: {enabled: true}\nlayers:\n  - {match: -7, weight_bits: 4}\n"), "'-7' matches no");
    EXPECT_HAS(plan_error("analog: {enabled: true}\nlayers:\n  - {match: \"lstm_*\", weight_bits: 4}\n"), "'lstm_*' matches no");
    // Names, globs and indices that select a layer, the last one by -6, are fine.
    const Config ok = load_config(write(dir, "ok.yaml",
                                        "analog: {enabled: true, input: {range: 1, sign: signed}, adc: {range: max}}\nlayers:\n"
                                        "  - {match: -6, weight_bits: 4}\n  - {match: \"dense_*\", digital: true}\n  - {match: 5, adc: {bits: 6}}\n"));
    EXPECT_EQ(make_analog_plan(g, ok.analog, 1).layers.size(), 4u);
}

}  // namespace
}  // namespace xbarsim::test
