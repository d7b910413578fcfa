#pragma once
// Profiling of the CUDA backend's passes: a pair of events around each node on the compute
// stream, read back once the pass is done (Backend::record_node_times).
#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

namespace xbarsim::cuda {

class NodeTimer {
public:
    NodeTimer() = default;
    ~NodeTimer();
    NodeTimer(const NodeTimer&) = delete;
    NodeTimer& operator=(const NodeTimer&) = delete;

    // Before a pass over a graph of `nodes` nodes: events for each, none recorded yet.
    void begin_pass(size_t nodes);
    // After the pass is enqueued: waits for it and adds each recorded node's time to seconds[node].
    void add_elapsed(std::vector<double>& seconds);

    // Records the start event of `node` on construction and its stop event on destruction (no-op
    // with a null timer), so every exit from a node's code is timed.
    class Scope {
    public:
        Scope(NodeTimer* timer, size_t node, cudaStream_t stream);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        NodeTimer* timer_;
        size_t node_;
        cudaStream_t stream_;
    };

private:
    std::vector<cudaEvent_t> start_, stop_;
    std::vector<bool> recorded_;
    cudaEvent_t last_stop_ = nullptr;
};

}  // namespace xbarsim::cuda
