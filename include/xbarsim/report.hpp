#pragma once
// JSON reports: everything needed to repeat a run exactly (resolved config, hashes of model and
// data, version) next to its results.
#include <nlohmann/json.hpp>

#include <string>

#include "xbarsim/config.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/evaluate.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim {

// Version, git commit and UTC time stamp.
nlohmann::json report_header(const std::string& command);

// Model and dataset identification (paths, SHA-256, shapes).
nlohmann::json describe_model(const Graph& graph, const std::string& path);
nlohmann::json describe_dataset(const DatasetInfo& info);

nlohmann::json make_run_report(const Config& config, const Graph& graph, const std::string& model_path,
                               const DatasetInfo& dataset, const PreprocessSpec& preprocess, const EvalResult& result,
                               const std::string& backend, double load_seconds);

// Converts YAML (resolved config, preprocessing) to JSON for reports.
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace xbarsim
