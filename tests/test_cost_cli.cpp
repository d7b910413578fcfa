// `xbarsim cost` end to end, the cost section of `run` reports, and bad cost inputs giving one
// clear message and a non-zero exit status.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cost_test_util.hpp"

namespace xbarsim::test {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

const std::string kVgg8 = repo("models/vgg8_cifar10.onnx.gz");
const std::string kNeuroSim = repo("configs/neurosim-vgg8.yaml");

TEST(CostCli, PrintsTheBreakdownAndWritesJson) {
    TempDir dir;
    const std::string out = dir.file("cost.json");
    const auto r = run_cli("cost --model " + kVgg8 + " --config " + kNeuroSim + " --out " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    for (const char* s : {"area", "TOPS/W", "component", "adc", "shift_add", "conv1", "fc2", "615,917,568 MACs"})
        EXPECT_HAS(r.output, s);
    const auto j = read_json(out);
    EXPECT_EQ(j["command"], "cost");
    EXPECT_EQ(j["model"]["sha256"].get<std::string>().size(), 64u);
    const auto& c = j["cost"];
    EXPECT_EQ(c["tech"]["name"], "22nm");
    EXPECT_EQ(c["tech"]["cell"], "rram");
    EXPECT_EQ(c["counts"]["macs"], 615917568);
    EXPECT_EQ(c["layers"].size(), 8u);
    // Totals are the sum of the components (areas in mm², energies in µJ).
    double area = 0, energy = 0;
    for (const auto& [name, v] : c["components"].items()) {
        area += v["area_mm2"].get<double>();
        energy += v["energy_uj"].get<double>();
    }
    EXPECT_NEAR(area, c["totals"]["area_mm2"].get<double>(), 1e-9 * area);
    EXPECT_NEAR(energy, c["totals"]["dynamic_energy_uj"].get<double>(), 1e-9 * energy);
    for (const char* k : {"tops", "tops_per_w", "tops_per_mm2", "edap_uj_us_mm2", "latency_us", "leakage_mw"})
        EXPECT_GT(c["totals"][k].get<double>(), 0.0) << k;
    for (const auto& l : c["layers"]) {
        EXPECT_GT(l["counts"]["arrays"].get<int64_t>(), 0);
        EXPECT_GT(l["utilization"].get<double>(), 0.0);
        EXPECT_LE(l["utilization"].get<double>(), 1.0);
    }
    EXPECT_EQ(j["config"]["cost"]["execution"], "layer_by_layer");
}

TEST(CostCli, TechFlagPicksAnotherNode) {
    const auto r = run_cli("cost --model " + kVgg8 + " --config " + kNeuroSim + " --tech 7nm");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_HAS(r.output, "tech      7nm");
    EXPECT_NE(run_cli("cost --help").output.find("--tech"), std::string::npos);
    EXPECT_EQ(run_cli("cost --help").status, 0);
}

// One "xbarsim: error:" line containing every needle, a non-zero status and no report.
void expect_failure(const std::string& args, const std::vector<std::string>& needles, const std::string& report) {
    const auto r = run_cli(args + " --out " + report);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_HAS(r.output, "xbarsim: error:");
    for (const auto& n : needles) EXPECT_HAS(r.output, n);
    EXPECT_FALSE(fs::exists(report));
}

TEST(CostCliErrors, MissingTechnologyBadKeysAndBadTechFiles) {
    TempDir dir;
    const std::string report = dir.file("cost.json");
    const std::string model = repo("models/mnist_cnn6.onnx");
    expect_failure("cost --model " + model + " --config " + kNeuroSim + " --tech 3nm", {"technology '3nm' not found"}, report);
    expect_failure("cost --model " + model + " --config " + kNeuroSim + " --tech /nonexistent/t.yaml", {"not found"}, report);

    expect_failure("cost --model " + model + " --config " + kNeuroSim + " --tech " + dir.str(), {"--tech: ", "is a directory"}, report);

    const std::string cfg = dir.file("c.yaml");
    std::ofstream(cfg) << "analog: {adc: {bits: 5}}\ncost:\n  tech: 5nm\n";  // the error names the key that asked for it
    expect_failure("cost --model " + model + " --config " + cfg, {"c.yaml: key 'cost.tech': technology '5nm' not found"}, report);
    std::ofstream(cfg) << "analog: {adc: {bits: 5}}\ncost: {cell: unobtainium}\n";
    expect_failure("cost --model " + model + " --config " + cfg, {"c.yaml: key 'cost.cell': ", "no device 'unobtainium'"}, report);
    std::ofstream(cfg) << "analog: {adc: {bits: 5}}\ncost:\n  tech: 22nm\n  executon: pipelined\n";
    expect_failure("cost --model " + model + " --config " + cfg, {"c.yaml:4", "cost.executon", "unknown key"}, report);
    std::ofstream(cfg) << "analog: {adc: {bits: 5, type: delta_sigma}}\n";
    expect_failure("cost --model " + model + " --config " + cfg, {"c.yaml:1", "analog.adc.type", "flash, sar or ramp"}, report);
    std::ofstream(cfg) << "analog: {adc: {bits: 5}}\ncost: {bus_width_bits: wide}\n";
    expect_failure("cost --model " + model + " --config " + cfg, {"cost.bus_width_bits", "expected an integer"}, report);

    // A technology file with a typo and one missing a constant.
    std::string text;
    {
        std::ifstream in(repo("configs/tech/22nm.yaml"));
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string bad = dir.file("bad.yaml");
    std::string typo = text;
    typo.replace(typo.find("  cycle_ns:"), 11, "  cycle_nss:");
    std::ofstream(bad) << typo;
    expect_failure("cost --model " + model + " --tech " + bad, {"bad.yaml:", "adc.sar.cycle_nss", "unknown key"}, report);
    std::string missing = text;
    const size_t at = missing.find("  wire_pitch_um:");
    missing.erase(at, missing.find('\n', at) - at + 1);
    std::ofstream(bad) << missing;
    expect_failure("cost --model " + model + " --tech " + bad, {"interconnect.wire_pitch_um", "required key is missing"}, report);
}

TEST(CostCli, RunReportsCarryACostSectionWithMeasuredActivity) {
    TempDir dir;
    const std::string cfg = dir.file("a.yaml"), report = dir.file("r.json");
    std::ofstream(cfg) << "analog:\n  weight_bits: 8\n  array: {rows: 128, cols: 64}\n"
                          "  input: {bits: 8, slice_bits: 1}\n  adc: {bits: 6, type: sar, columns_per_adc: 4}\n"
                          "cost: {tech: 22nm, cell: pcm}\n";
    const auto r = run_cli("run --quiet --model " + repo("models/mnist_cnn6.onnx") + " --data " + repo("data/mnist-test") +
                           " --config " + cfg + " --images 8 --calibration-images 16 --out " + report);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_HAS(r.output, "cost      ");
    const auto j = read_json(report);
    ASSERT_TRUE(j.contains("cost")) << j.dump(1);
    const auto& c = j["cost"];
    EXPECT_EQ(c["tech"]["cell"], "pcm");
    EXPECT_GT(c["totals"]["area_mm2"].get<double>(), 0.0);
    EXPECT_HAS(c["activity"].get<std::string>(), "measured");
    for (const auto& l : c["layers"]) {
        if (!l["analog"].get<bool>()) continue;
        EXPECT_TRUE(l["activity_measured"].get<bool>());
        EXPECT_GE(l["input_duty"].get<double>(), 0.0);
        EXPECT_LE(l["input_duty"].get<double>(), 1.0);
    }
}

TEST(CostCli, RunStillSucceedsWhenTheCostCannotBeEstimated) {
    TempDir dir;
    const std::string cfg = dir.file("a.yaml"), report = dir.file("r.json");
    std::ofstream(cfg) << "analog:\n  adc: {bits: 0}\n";  // an ideal ADC has no circuit to cost
    const auto r = run_cli("run --quiet --model " + repo("models/mnist_cnn6.onnx") + " --data " + repo("data/mnist-test") +
                           " --config " + cfg + " --images 4 --calibration-images 8 --out " + report);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_HAS(r.output, "cost      not estimated");
    EXPECT_HAS(read_json(report)["cost"]["error"].get<std::string>(), "ideal ADC");
}

}  // namespace
}  // namespace xbarsim::test
