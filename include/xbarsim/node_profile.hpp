#pragma once
// Where a forward pass spends its time: per-node times from Backend::record_node_times grouped by
// op type (analog MVM layers apart from digital ones), and the slowest nodes. `xbarsim bench
// --profile` prints these.
#include <cstdint>
#include <string>
#include <vector>

#include "xbarsim/graph.hpp"

namespace xbarsim {

struct OpProfile {
    std::string kind;               // op type, e.g. "Conv", "Conv (analog)", "Add"
    int64_t nodes = 0;              // nodes of that kind (activations fused into them not counted)
    double seconds_per_pass = 0.0;
    double share = 0.0;             // of the time of all nodes
};

struct NodeProfile {
    std::string name, kind;
    double seconds_per_pass = 0.0;
};

// `seconds[node]` summed over `passes` passes (Backend::record_node_times); `analog_nodes` the
// nodes run on crossbars. Kinds are sorted by time, largest first; a Relu/Clip fused into the op
// before it is part of that op. Throws Error if `seconds` does not have one entry per node.
std::vector<OpProfile> profile_by_op(const Graph& graph, const std::vector<double>& seconds, int64_t passes,
                                     const std::vector<size_t>& analog_nodes);

// The `count` slowest nodes, slowest first.
std::vector<NodeProfile> slowest_nodes(const Graph& graph, const std::vector<double>& seconds, int64_t passes,
                                       const std::vector<size_t>& analog_nodes, size_t count);

}  // namespace xbarsim
