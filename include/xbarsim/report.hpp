#pragma once
// JSON reports: everything needed to repeat a run exactly (resolved config, hashes of model and
// data, version) next to its results.
#include <nlohmann/json.hpp>

#include <string>

#include "xbarsim/analog_plan.hpp"
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

// One report for a run of one or more Monte Carlo trials (chip instances). `plan` is null for
// a digital run; `ranges_source` says where the analog ranges came from.
nlohmann::json make_run_report(const Config& config, const Graph& graph, const std::string& model_path,
                               const DatasetInfo& dataset, const PreprocessSpec& preprocess,
                               const std::vector<EvalResult>& trials, const std::string& backend, double load_seconds,
                               const AnalogPlan* plan, const std::string& ranges_source);

// Accuracy of one or more trials: per trial, and mean, std and 95 % CI of top-1/top-5.
nlohmann::json trial_results(const std::vector<EvalResult>& trials);

// Per-layer analog settings and ranges, for reports.
nlohmann::json describe_plan(const AnalogPlan& plan);

// Converts YAML (resolved config, preprocessing) to JSON for reports.
nlohmann::json yaml_to_json(const YAML::Node& node);

// The text of a report file: indented JSON and a newline. Strings that are not valid UTF-8 (a
// path or a YAML value in another encoding) get U+FFFD in their place instead of failing the
// write after the whole run.
std::string report_text(const nlohmann::json& report);

}  // namespace xbarsim
