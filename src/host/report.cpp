#include "xbarsim/report.hpp"

#include <omp.h>

#include <chrono>
#include <ctime>

#include "xbarsim/file_util.hpp"
#include "xbarsim/stats.hpp"
#include "xbarsim/version.hpp"

namespace xbarsim {

nlohmann::json yaml_to_json(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map: {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& kv : node) j[kv.first.as<std::string>()] = yaml_to_json(kv.second);
        return j;
    }
    case YAML::NodeType::Sequence: {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& e : node) j.push_back(yaml_to_json(e));
        return j;
    }
    case YAML::NodeType::Scalar: {
        // YAML scalars are untyped text: recover booleans and numbers so the JSON is typed.
        const std::string& s = node.Scalar();
        if (s == "true" || s == "false") return s == "true";
        try {
            size_t used = 0;
            const long long i = std::stoll(s, &used);
            if (used == s.size()) return i;
            const double d = std::stod(s, &used);
            if (used == s.size()) return d;
        } catch (const std::exception&) {
        }
        return s;
    }
    default: return nullptr;
    }
}

nlohmann::json report_header(const std::string& command) {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    return {{"tool", "xbarsim"}, {"version", kVersion}, {"git", kGitDescribe}, {"command", command}, {"time_utc", stamp}};
}

nlohmann::json describe_model(const Graph& graph, const std::string& path) {
    int64_t mvm = 0;
    for (const auto& n : graph.nodes) mvm += is_mvm_layer(n.op);
    return {{"path", path},
            {"sha256", sha256_file(path)},
            {"producer", graph.producer},
            {"opset", graph.opset},
            {"input_shape", graph.input_shape()},
            {"nodes", graph.nodes.size()},
            {"mvm_layers", mvm}};
}

nlohmann::json describe_dataset(const DatasetInfo& info) {
    return {{"path", info.dir},
            {"name", info.name},
            {"format", info.format},
            {"sha256", sha256_files(info.files)},
            {"samples", info.count},
            {"sample_shape", info.sample_shape}};
}

nlohmann::json describe_plan(const AnalogPlan& plan) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : plan.layers) {
        nlohmann::json j = yaml_to_json(layer_to_yaml(l.config));
        j["name"] = l.name;
        j["groups"] = l.groups;
        j["rows"] = l.rows;
        j["cols"] = l.cols;
        j["arrays_per_slice"] = l.groups * ((l.rows + l.config.mapping.array_rows - 1) / l.config.mapping.array_rows) *
                                ((l.cols + l.config.mapping.array_cols - 1) / l.config.mapping.array_cols);
        j["input_range_value"] = l.input_range;
        j["input_signed"] = l.input_signed;
        j["adc_range_per_slice"] = l.adc_range;
        layers.push_back(j);
    }
    return layers;
}

nlohmann::json trial_results(const std::vector<EvalResult>& trials) {
    std::vector<double> top1, top5;
    nlohmann::json per_trial = nlohmann::json::array();
    for (size_t t = 0; t < trials.size(); ++t) {
        const auto& r = trials[t];
        top1.push_back(r.top1());
        top5.push_back(r.top5());
        per_trial.push_back({{"trial", t}, {"top1", r.top1()}, {"top5", r.top5()}, {"top1_correct", r.top1_correct},
                             {"top5_correct", r.top5_correct}, {"seconds", r.seconds}});
    }
    auto summary = [](const std::vector<double>& v) {
        const TrialSummary s = summarize(v);
        return nlohmann::json{{"mean", s.mean}, {"std", s.std}, {"ci95", {s.ci95_low, s.ci95_high}}};
    };
    return {{"images", trials.empty() ? 0 : trials[0].images},
            {"trials", trials.size()},
            {"top1", summary(top1)},
            {"top5", summary(top5)},
            {"per_trial", per_trial}};
}

nlohmann::json make_run_report(const Config& config, const Graph& graph, const std::string& model_path,
                               const DatasetInfo& dataset, const PreprocessSpec& preprocess,
                               const std::vector<EvalResult>& trials, const std::string& backend, double load_seconds,
                               const AnalogPlan* plan, const std::string& ranges_source) {
    nlohmann::json j = report_header("run");
    j["config"] = yaml_to_json(config_to_yaml(config));
    j["config_source"] = config.source;
    j["model"] = describe_model(graph, model_path);
    j["dataset"] = describe_dataset(dataset);
    nlohmann::json pre = yaml_to_json(preprocess_to_yaml(preprocess));
    pre["source"] = preprocess.source;
    j["preprocessing"] = pre;
    j["backend"] = {{"name", backend}, {"threads", omp_get_max_threads()}};
    if (plan) j["analog"] = {{"ranges", ranges_source}, {"seed", plan->seed}, {"layers", describe_plan(*plan)}};
    j["results"] = trial_results(trials);
    double seconds = 0;
    for (const auto& r : trials) seconds += r.seconds;
    const EvalResult& first = trials.at(0);
    const double images = static_cast<double>(first.images) * static_cast<double>(trials.size());
    j["timing"] = {{"load_seconds", load_seconds},
                   {"eval_seconds", seconds},
                   {"images_per_second", seconds > 0 ? images / seconds : 0.0}};
    return j;
}

std::string report_text(const nlohmann::json& report) {
    return report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace xbarsim
