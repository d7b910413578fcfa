// The command-line tool end to end: a successful run and its report, and every kind of bad input
// giving one clear message, a non-zero exit status and no report file.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>

#include "test_util.hpp"
#include "xbarsim/file_util.hpp"

namespace xbarsim::test {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Expects failure with a message containing every one of `needles`, and no report at `report`.
void expect_clean_failure(const std::string& args, const std::vector<std::string>& needles, const std::string& report) {
    const auto r = run_cli(args + " --out " + report);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("xbarsim: error:"), std::string::npos) << r.output;
    for (const auto& n : needles) EXPECT_NE(r.output.find(n), std::string::npos) << "missing '" << n << "' in: " << r.output;
    EXPECT_FALSE(fs::exists(report)) << "a failed run left a report behind";
    // Exactly one message.
    size_t lines = 0;
    for (size_t p = r.output.find("xbarsim: error:"); p != std::string::npos; p = r.output.find("xbarsim: error:", p + 1))
        ++lines;
    EXPECT_EQ(lines, 1u) << r.output;
}

const std::string kMnistModel = repo("models/mnist_cnn6.onnx");
const std::string kMnistData = repo("data/mnist-test");

TEST(Cli, RunWritesReportWithAccuracyAndProvenance) {
    TempDir dir;
    const std::string report = dir.file("report.json");
    const auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData +
                           " --images 16 --batch 5 --out " + report);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("top-1"), std::string::npos);
    EXPECT_NE(r.output.find("images/s"), std::string::npos);
    const auto j = nlohmann::json::parse(read_text(report));
    // Expected hits from the independent NumPy reference on the same 16 images.
    const auto probs = load_tensor(repo("tests/fixtures/models/mnist_cnn6.probabilities.npy"));
    const auto labels = read_npy(repo("tests/fixtures/models/mnist_cnn6.labels.npy")).to_int64();
    int64_t correct = 0;
    for (int64_t i = 0; i < 16; ++i) {
        const float* p = probs.ptr() + i * 10;
        correct += std::max_element(p, p + 10) - p == labels[static_cast<size_t>(i)];
    }
    EXPECT_EQ(j["results"]["images"], 16);
    EXPECT_EQ(j["results"]["trials"], 1);
    EXPECT_EQ(j["results"]["per_trial"][0]["top1_correct"], correct);
    EXPECT_DOUBLE_EQ(j["results"]["top1"]["mean"].get<double>(), static_cast<double>(correct) / 16.0);
    EXPECT_FALSE(j.contains("analog"));  // a digital run
    EXPECT_EQ(j["model"]["sha256"], sha256_file(kMnistModel));
    EXPECT_EQ(j["model"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(j["dataset"]["samples"], 10000);
    EXPECT_EQ(j["config"]["run"]["batch_size"], 5);  // the flag overrides the default
    EXPECT_EQ(j["preprocessing"]["scale"].get<double>(), 1.0 / 255.0);
    EXPECT_TRUE(j.contains("version"));
    EXPECT_GT(j["timing"]["images_per_second"].get<double>(), 0.0);
}

TEST(Cli, ConfigFileIsReadAndFlagsOverrideIt) {
    TempDir dir;
    const std::string cfg = dir.file("c.yaml"), report = dir.file("r.json");
    std::ofstream(cfg) << "name: mine\nrun:\n  batch_size: 7\n  images: 9\n";
    const auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --config " + cfg +
                           " --images 3 --out " + report);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(read_text(report));
    EXPECT_EQ(j["config"]["name"], "mine");
    EXPECT_EQ(j["config"]["run"]["batch_size"], 7);
    EXPECT_EQ(j["results"]["images"], 3);
}

TEST(Cli, HelpOnEveryCommand) {
    for (const char* cmd : {"", "run ", "inspect ", "bench ", "calibrate ", "devices ", "search "}) {
        const auto r = run_cli(std::string(cmd) + "--help");
        EXPECT_EQ(r.status, 0) << cmd;
        EXPECT_NE(r.output.find("--"), std::string::npos) << cmd;
    }
    EXPECT_NE(run_cli("").status, 0);               // a subcommand is required
    EXPECT_NE(run_cli("run --model x").status, 0);  // --data is required
}

TEST(Cli, InspectPrintsLayersWithMacsAndParameters) {
    const auto r = run_cli("inspect --model " + kMnistModel);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("dense_1"), std::string::npos);
    EXPECT_NE(r.output.find("294 x 200 x 1"), std::string::npos);  // K x N x MVMs of dense_1
    EXPECT_NE(r.output.find("240,728 MACs"), std::string::npos);   // total from the layer table
    EXPECT_NE(r.output.find("61,622 parameters"), std::string::npos);
}

TEST(Cli, BenchComparesEngineWithTheSameGemms) {
    TempDir dir;
    const auto r = run_cli("bench --model " + kMnistModel + " --batch 4 --iters 1 --out " + dir.file("b.json"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("ratio"), std::string::npos);
    const auto j = nlohmann::json::parse(read_text(dir.file("b.json")));
    EXPECT_EQ(j["gemms_per_forward"], 6);  // one GEMM per Conv/Gemm layer of CNN6 at this batch
    // 2 x MACs per image x batch: the GEMMs are exactly the network's matrix work.
    EXPECT_NEAR(j["gflop_per_forward"].get<double>(), 2.0 * 240728 * 4 * 1e-9, 1e-12);
    EXPECT_GT(j["ratio_engine_over_gemm"].get<double>(), 0.0);
}

// --profile: the time per op kind of the digital and the analog pass, in the output and the JSON,
// analog layers named as such; every MVM layer of CNN6 (4 Conv, 2 Gemm) is counted.
TEST(Cli, BenchProfilesTheNodes) {
    TempDir dir;
    const auto r = run_cli("bench --model " + kMnistModel + " --batch 4 --iters 2 --config " + repo("configs/ideal.yaml") +
                           " --profile --out " + dir.file("b.json"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("profile        digital engine, per pass:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Conv (analog)"), std::string::npos) << r.output;
    const auto j = nlohmann::json::parse(read_text(dir.file("b.json")));
    int64_t engine_mvm = 0, analog_mvm = 0;
    for (const auto& k : j["profile"]["engine"]["by_op"]) {
        const std::string kind = k["kind"];
        if (kind == "Conv" || kind == "Linear" || kind == "Gemm") engine_mvm += k["nodes"].get<int64_t>();
        EXPECT_GE(k["seconds_per_pass"].get<double>(), 0.0);
    }
    for (const auto& k : j["profile"]["analog"]["by_op"]) {
        const std::string kind = k["kind"];
        if (kind.find("(analog)") != std::string::npos) analog_mvm += k["nodes"].get<int64_t>();
    }
    EXPECT_EQ(engine_mvm, 6);
    EXPECT_EQ(analog_mvm, 6);
    EXPECT_FALSE(j["profile"]["analog"]["slowest_nodes"].empty());
}

// More chips side by side than the backend fits (the CPU backend: one) is a clear error, and no
// figures file is written.
TEST(Cli, BenchRefusesMoreChipsThanTheBackendFits) {
    TempDir dir;
    const auto r = run_cli("bench --model " + kMnistModel + " --batch 4 --iters 1 --config " + repo("configs/ideal.yaml") +
                           " --chips 2 --out " + dir.file("b.json"));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("--chips 2: backend 'cpu' fits 1 chip instances per pass"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("b.json")));
}

TEST(Cli, DevicesListsTheCpu) {
    const auto r = run_cli("devices");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.rfind("cpu", 0), 0u) << r.output;
    EXPECT_NE(r.output.find("cuda"), std::string::npos) << r.output;
}

TEST(CliErrors, MissingModelFile) {
    TempDir dir;
    expect_clean_failure("run --model /nonexistent/m.onnx --data " + kMnistData, {"/nonexistent/m.onnx"}, dir.file("r.json"));
}

TEST(CliErrors, TruncatedAndNonOnnxModel) {
    TempDir dir;
    expect_clean_failure("run --model " + repo("tests/fixtures/bad/not_onnx.onnx") + " --data " + kMnistData,
                         {"not_onnx.onnx", "not a valid ONNX model"}, dir.file("r.json"));
    const std::string cut = dir.file("cut.onnx");
    const std::string bytes = read_text(kMnistModel);
    std::ofstream(cut, std::ios::binary).write(bytes.data(), 1000);
    expect_clean_failure("run --model " + cut + " --data " + kMnistData, {"cut.onnx"}, dir.file("r.json"));
}

TEST(CliErrors, UnknownOp) {
    TempDir dir;
    expect_clean_failure("run --model " + repo("tests/fixtures/bad/unsupported_op.onnx") + " --data " + kMnistData,
                         {"Resize", "my_resize"}, dir.file("r.json"));
}

TEST(CliErrors, DatasetShapeDoesNotMatchModel) {
    TempDir dir;
    expect_clean_failure("run --model " + kMnistModel + " --data " + repo("data/cifar10-test"),
                         {"[3, 32, 32]", "[1, 28, 28]", "cifar10-test"}, dir.file("r.json"));
}

// A tiny IDX dataset (uncompressed) with `images` 28x28 images and `labels` labels.
void write_idx_dataset(const std::string& dir, uint32_t images, uint32_t labels) {
    auto be32 = [](std::ofstream& o, uint32_t v) {
        const unsigned char b[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                                    static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
        o.write(reinterpret_cast<const char*>(b), 4);
    };
    std::ofstream img(dir + "/img.idx", std::ios::binary), lab(dir + "/lab.idx", std::ios::binary);
    be32(img, 2051);
    be32(img, images);
    be32(img, 28);
    be32(img, 28);
    img << std::string(images * 784, '\x10');
    be32(lab, 2049);
    be32(lab, labels);
    lab << std::string(labels, '\x01');
    std::ofstream(dir + "/dataset.yaml") << "name: tiny\nformat: idx\nimages: img.idx\nlabels: lab.idx\nshape: [1, 28, 28]\n";
}

TEST(CliErrors, LabelCountMismatch) {
    TempDir dir;
    write_idx_dataset(dir.str(), 10, 9);
    expect_clean_failure("run --model " + kMnistModel + " --data " + dir.str(), {"lab.idx", "10", "9"}, dir.file("r.json"));
    write_idx_dataset(dir.str(), 10, 10);  // and the consistent set runs
    EXPECT_EQ(run_cli("run --quiet --model " + kMnistModel + " --data " + dir.str()).status, 0);
}

TEST(Cli, AnalogRunCalibratesAndReportsEveryLayer) {
    TempDir dir;
    const std::string cfg = repo("configs/ideal.yaml");
    auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --config " + cfg +
                     " --images 100 --calibration-images 64 --out " + dir.file("r.json"));
    ASSERT_EQ(r.status, 0) << r.output;
    auto j = nlohmann::json::parse(read_text(dir.file("r.json")));
    EXPECT_EQ(j["analog"]["layers"].size(), 6u);
    EXPECT_NE(j["analog"]["ranges"].get<std::string>().find("calibrated on"), std::string::npos);
    EXPECT_NE(j["analog"]["ranges"].get<std::string>().find("mnist-calib"), std::string::npos);
    EXPECT_EQ(j["analog"]["layers"][4]["rows"], 294);
    // calibrate writes the ranges; run --ranges uses them without calibrating again.
    r = run_cli("calibrate --quiet --model " + kMnistModel + " --data " + repo("data/mnist-calib") + " --config " + cfg +
                " --images 64 --out " + dir.file("ranges.yaml"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --config " + cfg + " --images 100 --ranges " +
                dir.file("ranges.yaml") + " --out " + dir.file("r2.json"));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j2 = nlohmann::json::parse(read_text(dir.file("r2.json")));
    EXPECT_EQ(j2["analog"]["ranges"], dir.file("ranges.yaml"));
    // The same 64 calibration images give the same ranges, hence the same predictions.
    EXPECT_EQ(j2["results"]["per_trial"][0]["top1_correct"], j["results"]["per_trial"][0]["top1_correct"]);
}

// The readout and calibration options together, through the whole CLI: separately digitized
// pairs with 4-bit per-column ADCs on MSE ranges, bit-serial inputs accumulated in analog, offset
// cells with a reference column on the last layer. Ideal devices: accuracy stays near digital
// (98.57 % on the full MNIST test set; >= 96 % on these 300 images allows the 4-bit ADCs' loss).
TEST(Cli, ReadoutAndCalibrationOptionsRunEndToEnd) {
    TempDir dir;
    const std::string cfg = dir.file("c.yaml");
    std::ofstream(cfg) << R"(
analog:
  enabled: true
  weight_scaling: column
  differential_readout: separate
  input: {bits: 6, slice_bits: 2, accumulation: analog, method: mse}
  adc: {bits: 5, per_column: true, method: mse}
layers:
  - {match: -1, mapping: offset, cell_bits: 8, offset_reference: column}
device: {model: ideal}
)";
    auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --config " + cfg +
                     " --images 300 --calibration-images 200 --out " + dir.file("r.json"));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(read_text(dir.file("r.json")));
    EXPECT_GE(j["results"]["top1"]["mean"].get<double>(), 0.96) << j["results"].dump();
}

// The co-search end to end on the quick MNIST space: outputs, the final re-evaluation with CI,
// refusal to overwrite a search, --resume continuing it, and --workers.
TEST(Cli, SearchWritesFrontAndResumes) {
    TempDir dir;
    const std::string out = dir.file("s");
    const std::string base = "search --space " + repo("configs/search/mnist-quick-space.yaml") + " --data " + repo("data/mnist-calib") +
                             " --out " + out + " --population 8 --final-images 200 --final-trials 2 --quiet --workers 2";
    auto r = run_cli(base + " --generations 1");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("(2 workers)"), std::string::npos) << r.output;
    const auto s = nlohmann::json::parse(read_text(out + "/summary.json"));
    EXPECT_EQ(s["workers"].get<int>(), 2);
    ASSERT_GE(s["points"].size(), 1u);
    EXPECT_TRUE(s["points"][0]["baseline"].get<bool>());
    EXPECT_EQ(s["points"][0]["test"]["per_trial"].size(), 2u);
    EXPECT_LE(s["points"][0]["test"]["ci95"][0].get<double>(), s["points"][0]["test"]["mean"].get<double>());
    EXPECT_EQ(s["candidates_evaluated"].get<int>(), 16);  // 8 in generation 0 and 8 new ones in generation 1
    const std::string ev1 = read_text(out + "/evaluated.csv");
    r = run_cli(base + " --generations 2");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
    r = run_cli(base + " --generations 2 --resume");
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string ev2 = read_text(out + "/evaluated.csv");
    EXPECT_EQ(ev2.substr(0, ev1.size()), ev1);  // the first generation's rows, then more
    EXPECT_GT(ev2.size(), ev1.size());
    const std::string hv = read_text(out + "/hypervolume.csv");
    EXPECT_EQ(std::count(hv.begin(), hv.end(), '\n'), 4);  // header and generations 0, 1, 2
    r = run_cli(base + " --workers 0");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("--workers: must be a positive integer, got 0"), std::string::npos) << r.output;
}

TEST(Cli, MonteCarloIsReproducibleAcrossBatchSizes) {
    TempDir dir;
    const std::string base = "run --quiet --model " + kMnistModel + " --data " + kMnistData + " --config " +
                             repo("configs/pcm.yaml") + " --images 120 --trials 2 --calibration-images 64 --seed 9";
    ASSERT_EQ(run_cli(base + " --batch 7 --out " + dir.file("a.json")).status, 0);
    ASSERT_EQ(run_cli(base + " --batch 50 --threads 1 --out " + dir.file("b.json")).status, 0);
    const auto a = nlohmann::json::parse(read_text(dir.file("a.json")));
    const auto b = nlohmann::json::parse(read_text(dir.file("b.json")));
    ASSERT_EQ(a["results"]["trials"], 2);
    for (int t = 0; t < 2; ++t)
        EXPECT_EQ(a["results"]["per_trial"][t]["top1_correct"], b["results"]["per_trial"][t]["top1_correct"]) << t;
    EXPECT_EQ(a["analog"]["seed"], 9);
    const auto ci = a["results"]["top1"]["ci95"];
    EXPECT_LE(ci[0].get<double>(), a["results"]["top1"]["mean"].get<double>());
    EXPECT_GE(ci[1].get<double>(), a["results"]["top1"]["mean"].get<double>());
}

TEST(Cli, DriftTimesEvaluateTheSameChipsAtEachTime) {
    TempDir dir;
    const auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --config " +
                           repo("configs/pcm.yaml") + " --images 50 --trials 1 --calibration-images 32" +
                           " --drift-times 1,3600,86400,31536000 --out " + dir.file("d.json"));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(read_text(dir.file("d.json")));
    ASSERT_EQ(j["results_by_drift_time"].size(), 4u);
    EXPECT_EQ(j["results_by_drift_time"][3]["time_s"], 31536000.0);
    EXPECT_EQ(j["results_by_drift_time"][0]["results"]["images"], 50);
    EXPECT_NE(r.output.find("t = 3600 s"), std::string::npos) << r.output;
    EXPECT_NE(run_cli("run --model " + kMnistModel + " --data " + kMnistData + " --config " + repo("configs/ideal.yaml") +
                      " --drift-times 1,2")
                  .output.find("--drift-times needs"),
              std::string::npos);
}

TEST(Cli, LayerStatsGiveHighSnrForIdealDevicesAndLowerForPcm) {
    TempDir dir;
    auto snr = [&](const std::string& preset) {
        const auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --config " +
                               repo("configs/" + preset) + " --images 50 --trials 1 --calibration-images 64 --layer-stats 50 --out " +
                               dir.file(preset + ".json"));
        EXPECT_EQ(r.status, 0) << r.output;
        return nlohmann::json::parse(read_text(dir.file(preset + ".json")))["layer_snr"];
    };
    const auto ideal = snr("ideal.yaml"), pcm = snr("pcm.yaml");
    ASSERT_EQ(ideal.size(), 6u);
    // 8-bit weights and inputs: quantization noise alone, tens of dB below the signal.
    for (const auto& l : ideal) EXPECT_GT(l["snr_db"].get<double>(), 20.0) << l["layer"];
    // PCM programming error and drift (about 5-10 % per cell) cost the first layer more.
    EXPECT_LT(pcm[0]["snr_db"].get<double>(), ideal[0]["snr_db"].get<double>() - 6.0);
}

TEST(CliErrors, AnalogRunWithoutCalibrationData) {
    TempDir dir;
    write_idx_dataset(dir.str(), 10, 10);  // no `calibration:` entry
    expect_clean_failure("run --model " + kMnistModel + " --data " + dir.str() + " --config " + repo("configs/ideal.yaml"),
                         {"--ranges", "--calibration-data"}, dir.file("r.json"));
    expect_clean_failure("run --model " + kMnistModel + " --data " + kMnistData + " --ranges " + dir.file("none.yaml"),
                         {"digitally"}, dir.file("r.json"));
}

TEST(CliErrors, ConfigUnknownKeyWrongTypeAndSyntaxError) {
    TempDir dir;
    const std::string cfg = dir.file("bad.yaml");
    const std::string base = "run --model " + kMnistModel + " --data " + kMnistData + " --config " + cfg;
    std::ofstream(cfg) << "name: x\nrun:\n  batch_sise: 4\n";
    expect_clean_failure(base, {"bad.yaml:3", "run.batch_sise", "unknown key"}, dir.file("r.json"));
    std::ofstream(cfg) << "run:\n  batch_size: many\n";
    expect_clean_failure(base, {"bad.yaml:2", "run.batch_size", "many"}, dir.file("r.json"));
    std::ofstream(cfg) << "run:\n  batch_size: [1, 2\n";
    expect_clean_failure(base, {"bad.yaml:", "YAML syntax error"}, dir.file("r.json"));
    std::ofstream(cfg) << "run:\n  batch_size: 0\n";
    expect_clean_failure(base, {"bad.yaml:2", "run.batch_size", "at least 1"}, dir.file("r.json"));
    expect_clean_failure("run --model " + kMnistModel + " --data " + kMnistData + " --config " + dir.file("none.yaml"),
                         {"none.yaml", "cannot open"}, dir.file("r.json"));
}

TEST(CliErrors, MissingDatasetDirectory) {
    TempDir dir;
    expect_clean_failure("run --model " + kMnistModel + " --data " + dir.file("nothing"), {"nothing", "not found"},
                         dir.file("r.json"));
}

TEST(CliErrors, ReportDirectoryMissingLeavesNothing) {
    TempDir dir;
    const auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --images 2 --out " +
                           dir.file("no/such/dir/r.json"));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("no/such/dir/r.json"), std::string::npos) << r.output;
}

// Option values are checked when parsed, with a plain message (CLI11's own checks print a range
// up to 1.8e308 and let out-of-range integers saturate), before any work.
TEST(CliErrors, BadOptionValuesNameTheOption) {
    const std::string base = "run --quiet --model " + kMnistModel + " --data " + kMnistData + " --images 2 ";
    const struct {
        std::string args, message;
    } cases[] = {
        {base + "--batch 0", "--batch: must be an integer from 1 to 65536, got 0"},
        {base + "--batch 70000", "--batch: must be an integer from 1 to 65536, got 70000"},
        {base + "--batch 1.5", "--batch: must be an integer from 1 to 65536, got '1.5'"},
        {base + "--trials -1", "--trials: must be an integer from 1 to 1000000, got -1"},
        {"run --quiet --model " + kMnistModel + " --data " + kMnistData + " --images -1", "--images: must be an integer >= 0, got -1"},
        {base + "--seed 99999999999999999999", "--seed: '99999999999999999999' is out of range"},
        {base + "--config " + repo("configs/pcm.yaml") + " --drift-times 1,nan", "--drift-times: must be a finite number of seconds >= 0, got nan"},
        {"bench --model " + kMnistModel + " --iters 1 --chips 4", "--chips needs --config"},
        {"bench --model " + kMnistModel + " --iters 1 --threads 100000", "--threads: must be an integer from 0 to 4096"},
        {base + "--out ''", "--out: must not be empty"},
        {base + "--chips-per-pass 5", "--chips-per-pass needs a config with analog layers"},
    };
    for (const auto& c : cases) {
        const auto r = run_cli(c.args);
        EXPECT_NE(r.status, 0) << c.args;
        EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << ": " << r.output;
        EXPECT_EQ(r.output.find("1797693"), std::string::npos) << r.output;
    }
}

// A batch that cannot fit in host memory is refused before anything is allocated (the kernel's
// out-of-memory killer would end the process without a word).
TEST(CliErrors, BatchLargerThanMemoryIsRefused) {
    const auto r = run_cli("bench --model " + kMnistModel + " --iters 1 --batch 1000000000000");
    EXPECT_NE(r.status, 0);
    EXPECT_HAS(r.output, "a batch of 1000000000000 needs at least");
    EXPECT_HAS(r.output, "use a smaller --batch");
}

// A config string that is not UTF-8 (JSON must be) is written with U+FFFD in its place: the run
// used to finish and then fail to write its report.
TEST(Cli, ReportReplacesInvalidUtf8) {
    TempDir dir;
    std::ofstream(dir.file("c.yaml"), std::ios::binary) << "name: bad\xff\xfename\n";
    const std::string report = dir.file("r.json");
    const auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --images 2 --config " +
                           dir.file("c.yaml") + " --out " + report);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_HAS(read_text(report), "bad\xef\xbf\xbd\xef\xbf\xbdname");
}

// An output path that is a directory is refused before the run, with the real reason.
TEST(CliErrors, ReportPathThatIsADirectory) {
    TempDir dir;
    fs::create_directories(dir.file("taken"));
    const auto r = run_cli("run --quiet --model " + kMnistModel + " --data " + kMnistData + " --images 2 --out " + dir.file("taken"));
    EXPECT_NE(r.status, 0);
    EXPECT_HAS(r.output, "--out " + dir.file("taken") + ": is a directory");
    EXPECT_EQ(r.output.find("top-1"), std::string::npos) << "the run should not have started: " << r.output;
}

}  // namespace
}  // namespace xbarsim::test
