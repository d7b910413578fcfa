#include "xbarsim/node_profile.hpp"

#include <algorithm>
#include <map>

#include "xbarsim/error.hpp"

namespace xbarsim {

namespace {

void check_times(const Graph& graph, const std::vector<double>& seconds, int64_t passes) {
    if (seconds.size() != graph.nodes.size())
        throw Error("node profile: " + std::to_string(seconds.size()) + " node times for a graph of " +
                    std::to_string(graph.nodes.size()) + " nodes");
    if (passes < 1) throw Error("node profile: needs at least one pass");
}

std::string kind_of(const Graph& graph, size_t node, const std::vector<size_t>& analog_nodes) {
    const bool analog = std::find(analog_nodes.begin(), analog_nodes.end(), node) != analog_nodes.end();
    return std::string(op_name(graph.nodes[node].op)) + (analog ? " (analog)" : "");
}

// Nodes that run as another node's epilogue (their time is in that node).
std::vector<bool> fused_nodes(const Graph& graph) {
    std::vector<bool> fused(graph.nodes.size(), false);
    for (int act : schedule_graph(graph).fused_activation)
        if (act >= 0) fused[static_cast<size_t>(act)] = true;
    return fused;
}

}  // namespace

std::vector<OpProfile> profile_by_op(const Graph& graph, const std::vector<double>& seconds, int64_t passes,
                                     const std::vector<size_t>& analog_nodes) {
    check_times(graph, seconds, passes);
    const std::vector<bool> fused = fused_nodes(graph);
    std::map<std::string, OpProfile> kinds;
    double total = 0.0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (fused[i]) continue;
        OpProfile& k = kinds[kind_of(graph, i, analog_nodes)];
        ++k.nodes;
        k.seconds_per_pass += seconds[i] / static_cast<double>(passes);
        total += seconds[i] / static_cast<double>(passes);
    }
    std::vector<OpProfile> out;
    for (auto& [kind, k] : kinds) {
        k.kind = kind;
        k.share = total > 0.0 ? k.seconds_per_pass / total : 0.0;
        out.push_back(k);
    }
    std::stable_sort(out.begin(), out.end(), [](const OpProfile& a, const OpProfile& b) { return a.seconds_per_pass > b.seconds_per_pass; });
    return out;
}

std::vector<NodeProfile> slowest_nodes(const Graph& graph, const std::vector<double>& seconds, int64_t passes,
                                       const std::vector<size_t>& analog_nodes, size_t count) {
    check_times(graph, seconds, passes);
    const std::vector<bool> fused = fused_nodes(graph);
    std::vector<NodeProfile> out;
    for (size_t i = 0; i < graph.nodes.size(); ++i)
        if (!fused[i]) out.push_back({graph.nodes[i].name, kind_of(graph, i, analog_nodes), seconds[i] / static_cast<double>(passes)});
    std::stable_sort(out.begin(), out.end(), [](const NodeProfile& a, const NodeProfile& b) { return a.seconds_per_pass > b.seconds_per_pass; });
    if (out.size() > count) out.resize(count);
    return out;
}

}  // namespace xbarsim
