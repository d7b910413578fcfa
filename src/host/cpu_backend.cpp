// The CPU reference backend: walks the graph in order, computing each node with the FP32 ops of
// cpu_ops.hpp, and frees every activation after its last use.
#include <omp.h>

#include <algorithm>
#include <chrono>

#include "cpu_analog_layer.hpp"
#include "cpu_ops.hpp"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/cuda_backend.hpp"
#include "xbarsim/cuda_info.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/shape_inference.hpp"

#include <cblas.h>  // openblas_set_num_threads

namespace xbarsim {

namespace {

// Profiling: adds the wall time from construction to destruction to (*seconds)[node], if set.
class NodeClock {
public:
    NodeClock(std::vector<double>* seconds, size_t node) : seconds_(seconds), node_(node) {
        if (seconds_) start_ = std::chrono::steady_clock::now();
    }
    ~NodeClock() {
        if (seconds_) (*seconds_)[node_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    NodeClock(const NodeClock&) = delete;
    NodeClock& operator=(const NodeClock&) = delete;

private:
    std::vector<double>* seconds_;
    size_t node_;
    std::chrono::steady_clock::time_point start_;
};

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(const BackendOptions& options) {
        if (options.threads > 0) {
            omp_set_num_threads(options.threads);
            openblas_set_num_threads(options.threads);
        }
    }

    std::string name() const override { return "cpu"; }

    void load(const Graph& graph, const AnalogPlan* plan) override {
        graph_ = &graph;
        plan_ = plan;
        analog_.clear();
        analog_.resize(graph.nodes.size());
        programmed_ = false;
        schedule_ = schedule_graph(graph);
    }

    void record_gemms(std::vector<GemmShape>* log) override { log_ = log; }
    void record_node_times(std::vector<double>* seconds) override { node_times_ = seconds; }
    void observe(MvmObserver* observer) override { observer_ = observer; }

    void program(uint32_t trial) override {
        if (!graph_) throw Error("cpu backend: program() called before load()");
        samples_done_ = 0;  // read-noise draws are indexed by the sample since programming
        if (!plan_) return;
        for (const auto& l : plan_->layers) {
            auto& layer = analog_[l.node];
            if (!layer) layer = std::make_unique<cpu::AnalogLayer>(graph_->value(graph_->nodes[l.node].inputs[1]).data, l);
            layer->program(plan_->device, plan_->seed, trial);
        }
        programmed_ = true;
    }

    using Backend::forward;
    std::vector<Tensor> forward(const std::vector<Tensor>& inputs, const std::vector<int>& extra_values) override {
        if (!graph_) throw Error("cpu backend: forward() called before load()");
        if (plan_ && !programmed_) program(0);
        const Graph& g = *graph_;
        check_graph_inputs(g, inputs);
        std::vector<Tensor> live(g.values.size());
        for (size_t i = 0; i < inputs.size(); ++i) live[static_cast<size_t>(g.inputs[i])] = inputs[i];
        std::vector<bool> keep(g.values.size(), false);
        for (int v : extra_values) keep[static_cast<size_t>(v)] = true;

        auto get = [&](int id) -> const Tensor& {
            const Value& v = g.value(id);
            return v.is_constant ? v.data : live[static_cast<size_t>(id)];
        };
        // Frees an activation nobody reads any more, keeping its memory for a later output.
        auto release = [&](int id, size_t node_index) {
            const auto k = static_cast<size_t>(id);
            if (schedule_.last_use[k] != static_cast<int>(node_index) || keep[k] || g.value(id).is_constant) return;
            if (live[k].data.capacity() > 0) pool_.push_back(std::move(live[k].data));
            live[k] = Tensor();
        };
        std::vector<bool> done(g.nodes.size(), false);
        if (node_times_) node_times_->resize(g.nodes.size(), 0.0);
        for (size_t i = 0; i < g.nodes.size(); ++i) {
            if (done[i]) continue;  // an activation already applied as an epilogue
            const NodeClock clock(node_times_, i);
            const Node& node = g.nodes[i];
            current_ = i;
            std::vector<Shape> shapes;
            for (int id : node.inputs) shapes.push_back(get(id).shape);
            Tensor out = allocate(infer_shape(node, shapes, g.import_batch));
            const int act = schedule_.fused_activation[i];
            if (act >= 0 && !keep[static_cast<size_t>(node.output)]) {
                const Node& a = g.nodes[static_cast<size_t>(act)];
                const auto ep = cpu::Epilogue::of(a);
                run_node(node, get, out, ep);
                live[static_cast<size_t>(a.output)] = std::move(out);
                done[static_cast<size_t>(act)] = true;
                for (int id : node.inputs) release(id, i);
                continue;
            }
            if ((node.op == OpType::Flatten || node.op == OpType::Reshape) && schedule_.last_use[static_cast<size_t>(node.inputs[0])] == static_cast<int>(i) &&
                !keep[static_cast<size_t>(node.inputs[0])] && !g.value(node.inputs[0]).is_constant) {
                out.data = std::move(live[static_cast<size_t>(node.inputs[0])].data);  // same data, new shape
            } else {
                run_node(node, get, out, {});
            }
            live[static_cast<size_t>(node.output)] = std::move(out);
            for (int id : node.inputs) release(id, i);
        }
        samples_done_ += static_cast<uint64_t>(inputs[0].shape.empty() ? 1 : inputs[0].dim(0));
        std::vector<Tensor> result;
        for (int v : g.outputs) result.push_back(get(v));
        for (int v : extra_values) result.push_back(get(v));
        return result;
    }

private:
    const Graph* graph_ = nullptr;
    const AnalogPlan* plan_ = nullptr;
    std::vector<std::unique_ptr<cpu::AnalogLayer>> analog_;  // per node; null for digital nodes
    bool programmed_ = false;
    uint64_t samples_done_ = 0;
    MvmObserver* observer_ = nullptr;
    GraphSchedule schedule_;  // when values are freed, which activations are fused
    std::vector<std::vector<float>> pool_;  // buffers of freed activations, reused for new outputs
    std::vector<GemmShape>* log_ = nullptr;
    std::vector<double>* node_times_ = nullptr;  // profiling: seconds per node, or null
    cpu::Workspace workspace_;
    size_t current_ = 0;  // index of the node being run

    cpu::MvmHooks hooks() const {
        cpu::MvmHooks h;
        h.product = analog_.empty() ? nullptr : analog_[current_].get();
        h.observer = observer_ && observer_->watching(current_) ? observer_ : nullptr;
        h.node = current_;
        h.sample_base = samples_done_;
        return h;
    }

    // An output tensor of `shape`, reusing the smallest pooled buffer that is large enough.
    // Contents are unspecified: every op writes its whole output.
    Tensor allocate(Shape shape) {
        const auto n = static_cast<size_t>(numel(shape));
        size_t best = pool_.size();
        for (size_t i = 0; i < pool_.size(); ++i)
            if (pool_[i].capacity() >= n && (best == pool_.size() || pool_[i].capacity() < pool_[best].capacity())) best = i;
        Tensor t;
        t.shape = std::move(shape);
        if (best < pool_.size()) {
            t.data = std::move(pool_[best]);
            pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(best));
        }
        t.data.resize(n);
        return t;
    }

    template <typename Get>
    void run_node(const Node& n, Get&& get, Tensor& out, cpu::Epilogue ep) {
        const auto& in = n.inputs;
        auto opt = [&](size_t i) -> const Tensor* { return in.size() > i ? &get(in[i]) : nullptr; };
        switch (n.op) {
        case OpType::Conv: cpu::conv2d(get(in[0]), get(in[1]), opt(2), n.attrs, out, workspace_, log_, ep, hooks()); return;
        case OpType::Linear: cpu::linear(get(in[0]), get(in[1]), opt(2), out, workspace_, log_, ep, hooks()); return;
        case OpType::MatMul: cpu::matmul(get(in[0]), get(in[1]), out, log_); return;
        case OpType::Gemm: cpu::gemm(get(in[0]), get(in[1]), opt(2), n.attrs, out, log_); return;
        case OpType::Add:
        case OpType::Sub:
        case OpType::Mul:
        case OpType::Div: cpu::binary(n.op, get(in[0]), get(in[1]), out, ep); return;
        case OpType::Relu:
        case OpType::Clip:
        case OpType::LeakyRelu:
        case OpType::Sigmoid:
        case OpType::HardSigmoid:
        case OpType::HardSwish:
        case OpType::Tanh:
        case OpType::Identity: cpu::unary(n.op, n.attrs, get(in[0]), out); return;
        case OpType::BatchNorm: cpu::batchnorm(get(in[0]), get(in[1]), get(in[2]), out); return;
        case OpType::MaxPool: cpu::max_pool(get(in[0]), n.attrs, out); return;
        case OpType::AveragePool: cpu::average_pool(get(in[0]), n.attrs, out); return;
        case OpType::GlobalAveragePool: cpu::global_average_pool(get(in[0]), out); return;
        case OpType::Flatten:
        case OpType::Reshape: out.data = get(in[0]).data; return;  // same row-major data, new shape (copy)
        case OpType::Transpose: cpu::transpose(get(in[0]), n.attrs, out); return;
        case OpType::Concat: {
            std::vector<const Tensor*> xs;
            for (int id : in) xs.push_back(&get(id));
            cpu::concat(xs, n.attrs.axis, out);
            return;
        }
        case OpType::Softmax: cpu::softmax(get(in[0]), n.attrs, n.name, out); return;
        case OpType::Pad: cpu::pad(get(in[0]), n.attrs, out); return;
        }
        throw Error("cpu backend: node '" + n.name + "': op " + op_name(n.op) + " has no CPU implementation");
    }
};

}  // namespace

void Backend::program_chips(const std::vector<uint32_t>& trials) {
    if (trials.size() != 1)
        throw Error("backend '" + name() + "' evaluates one chip instance per pass, " + std::to_string(trials.size()) +
                    " were asked for");
    program(trials.front());
}

void Backend::record_node_times(std::vector<double>*) {
    throw Error("backend '" + name() + "' cannot time the nodes of its passes");
}

void Backend::submit(const std::vector<Tensor>& inputs) {
    if (finished_.size() >= 2) throw Error("backend '" + name() + "': two passes in flight; collect() one first");
    finished_.push_back(forward(inputs, {}));
}

std::vector<Tensor> Backend::collect() {
    if (finished_.empty()) throw Error("backend '" + name() + "': collect() without a submitted pass");
    std::vector<Tensor> out = std::move(finished_.front());
    finished_.pop_front();
    return out;
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& options) {
    if (name == "cpu") return std::make_unique<CpuBackend>(options);
    if (name == "cuda") return make_cuda_backend(options);
    if (name == "auto") {
        // The GPU when this build has CUDA and sees a device, the CPU reference otherwise.
        if (!cuda_status().devices.empty()) return make_cuda_backend(options);
        return std::make_unique<CpuBackend>(options);
    }
    throw Error("unknown backend '" + name + "' (available: cpu, cuda, auto)");
}

}  // namespace xbarsim
