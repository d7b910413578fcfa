// `xbarsim cost`: area, energy and latency of the chip a config describes for a model, from the
// analytic cost model (docs/cost.md). Needs no dataset: activity takes the config's defaults.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "validators.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/config.hpp"
#include "xbarsim/cost/cost_model.hpp"
#include "xbarsim/file_util.hpp"
#include "xbarsim/onnx_import.hpp"
#include "xbarsim/report.hpp"

namespace xbarsim::cli {

namespace {

struct CostArgs {
    std::string model, config, tech, out;
};

void cost_command(const CostArgs& a) {
    if (!a.out.empty()) require_output_file_path(a.out);
    Config config;
    if (!a.config.empty()) config = load_config(a.config);
    const Graph graph = load_onnx(a.model);
    const cost::TechParams tech = cost::load_config_tech(config.cost.tech, a.config, a.tech);
    if (!a.tech.empty()) config.cost.tech = a.tech;
    // Analog layers as the simulator would map them (ranges are not needed for the cost).
    check_overrides_match(config.analog, mvm_layer_names(graph), graph.source);
    const AnalogPlan plan = config.analog.enabled ? make_analog_plan(graph, config.analog, config.run.seed) : AnalogPlan{};
    const cost::CostReport report = cost::estimate_cost(graph, plan, config.cost, tech);

    std::printf("model     %s\n", a.model.c_str());
    std::printf("config    %s (%s)\n", config.name.c_str(), config.source.c_str());
    std::fputs(cost::format_cost(report).c_str(), stdout);
    if (!a.out.empty()) {
        nlohmann::json j = report_header("cost");
        j["config"] = yaml_to_json(config_to_yaml(config));
        j["config_source"] = config.source;
        j["model"] = describe_model(graph, a.model);
        j["cost"] = report.to_json();
        write_file_atomic(a.out, report_text(j));
        std::printf("report    %s\n", a.out.c_str());
    }
}

}  // namespace

Command add_cost(CLI::App& app) {
    auto a = std::make_shared<CostArgs>();
    app.add_option("--model", a->model, "ONNX model file")->required()->check(non_empty());
    app.add_option("--config", a->config, "Config YAML: analog mapping (analog:, layers:) and chip (cost:); see docs/cost.md")
        ->check(non_empty());
    app.add_option("--tech", a->tech, "Technology: a node name (22nm, 32nm, 7nm from configs/tech) or a file (overrides cost.tech)")->check(non_empty());
    app.add_option("--out", a->out, "Write the cost report as JSON here")->check(non_empty());
    return [a] { cost_command(*a); };
}

}  // namespace xbarsim::cli
