#include "cuda_node_timer.cuh"

#include "cuda_check.cuh"

namespace xbarsim::cuda {

NodeTimer::~NodeTimer() {
    for (cudaEvent_t e : start_) cudaEventDestroy(e);
    for (cudaEvent_t e : stop_) cudaEventDestroy(e);
}

void NodeTimer::begin_pass(size_t nodes) {
    while (start_.size() < nodes) {
        cudaEvent_t a = nullptr, b = nullptr;
        XBARSIM_CUDA_CHECK(cudaEventCreate(&a));
        start_.push_back(a);
        XBARSIM_CUDA_CHECK(cudaEventCreate(&b));
        stop_.push_back(b);
    }
    recorded_.assign(nodes, false);
    last_stop_ = nullptr;
}

void NodeTimer::add_elapsed(std::vector<double>& seconds) {
    if (!last_stop_) return;
    XBARSIM_CUDA_CHECK(cudaEventSynchronize(last_stop_));
    for (size_t i = 0; i < recorded_.size() && i < seconds.size(); ++i) {
        if (!recorded_[i]) continue;
        float ms = 0.0f;
        XBARSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, start_[i], stop_[i]));
        seconds[i] += static_cast<double>(ms) * 1e-3;
    }
}

NodeTimer::Scope::Scope(NodeTimer* timer, size_t node, cudaStream_t stream) : timer_(timer), node_(node), stream_(stream) {
    if (timer_) XBARSIM_CUDA_CHECK(cudaEventRecord(timer_->start_.at(node_), stream_));
}

NodeTimer::Scope::~Scope() {
    if (!timer_) return;
    // A destructor must not throw: a failed record leaves this node untimed.
    if (cudaEventRecord(timer_->stop_[node_], stream_) != cudaSuccess) return;
    timer_->recorded_[node_] = true;
    timer_->last_stop_ = timer_->stop_[node_];
}

}  // namespace xbarsim::cuda
