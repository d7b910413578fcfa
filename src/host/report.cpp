#include "xbarsim/report.hpp"

#include <omp.h>

#include <chrono>
#include <ctime>

#include "xbarsim/file_util.hpp"
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

nlohmann::json make_run_report(const Config& config, const Graph& graph, const std::string& model_path,
                               const DatasetInfo& dataset, const PreprocessSpec& preprocess, const EvalResult& result,
                               const std::string& backend, double load_seconds) {
    nlohmann::json j = report_header("run");
    j["config"] = yaml_to_json(config_to_yaml(config));
    j["config_source"] = config.source;
    j["model"] = describe_model(graph, model_path);
    j["dataset"] = describe_dataset(dataset);
    nlohmann::json pre = yaml_to_json(preprocess_to_yaml(preprocess));
    pre["source"] = preprocess.source;
    j["preprocessing"] = pre;
    j["backend"] = {{"name", backend}, {"threads", omp_get_max_threads()}};
    j["results"] = {{"images", result.images},
                    {"top1", result.top1()},
                    {"top5", result.top5()},
                    {"top1_correct", result.top1_correct},
                    {"top5_correct", result.top5_correct}};
    j["timing"] = {{"load_seconds", load_seconds},
                   {"eval_seconds", result.seconds},
                   {"images_per_second", result.images_per_second()}};
    return j;
}

}  // namespace xbarsim
