// The CPU reference backend: walks the graph in order, computing each node with the FP32 ops of
// cpu_ops.hpp, and frees every activation after its last use.
#include <omp.h>

#include <algorithm>

#include "cpu_ops.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/shape_inference.hpp"

#if defined(__has_include)
#if __has_include(<cblas.h>)
#include <cblas.h>
#endif
#endif

namespace xbarsim {

namespace {

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(const BackendOptions& options) {
        if (options.threads > 0) {
            omp_set_num_threads(options.threads);
            openblas_set_num_threads(options.threads);
        }
    }

    std::string name() const override { return "cpu"; }

    void load(const Graph& graph) override {
        graph_ = &graph;
        // last_use[v] = index of the last node reading v; graph outputs are kept to the end.
        last_use_.assign(graph.values.size(), -1);
        for (size_t i = 0; i < graph.nodes.size(); ++i)
            for (int v : graph.nodes[i].inputs) last_use_[static_cast<size_t>(v)] = static_cast<int>(i);
        for (int v : graph.outputs) last_use_[static_cast<size_t>(v)] = static_cast<int>(graph.nodes.size());
    }

    void record_gemms(std::vector<GemmShape>* log) override { log_ = log; }

    using Backend::forward;
    std::vector<Tensor> forward(const std::vector<Tensor>& inputs, const std::vector<int>& extra_values) override {
        if (!graph_) throw Error("cpu backend: forward() called before load()");
        const Graph& g = *graph_;
        if (inputs.size() != g.inputs.size())
            throw Error("the model has " + std::to_string(g.inputs.size()) + " inputs, " + std::to_string(inputs.size()) + " were given");
        std::vector<Tensor> live(g.values.size());
        for (size_t i = 0; i < inputs.size(); ++i) {
            const Value& declared = g.value(g.inputs[i]);
            const Shape& s = inputs[i].shape;
            if (s.size() != declared.shape.size() || !std::equal(declared.shape.begin() + 1, declared.shape.end(), s.begin() + 1))
                throw Error("input '" + declared.name + "' of shape " + shape_str(s) + " does not match the model's " +
                            shape_str(declared.shape) + " (the batch dimension may differ)");
            live[static_cast<size_t>(g.inputs[i])] = inputs[i];
        }
        std::vector<bool> keep(g.values.size(), false);
        for (int v : extra_values) keep[static_cast<size_t>(v)] = true;

        auto get = [&](int id) -> const Tensor& {
            const Value& v = g.value(id);
            return v.is_constant ? v.data : live[static_cast<size_t>(id)];
        };
        for (size_t i = 0; i < g.nodes.size(); ++i) {
            const Node& node = g.nodes[i];
            std::vector<Shape> shapes;
            for (int id : node.inputs) shapes.push_back(get(id).shape);
            Tensor out(infer_shape(node, shapes, g.import_batch));
            run_node(node, get, out);
            live[static_cast<size_t>(node.output)] = std::move(out);
            for (int id : node.inputs)  // free activations nobody reads any more
                if (last_use_[static_cast<size_t>(id)] == static_cast<int>(i) && !keep[static_cast<size_t>(id)] && !g.value(id).is_constant)
                    live[static_cast<size_t>(id)] = Tensor();
        }
        std::vector<Tensor> result;
        for (int v : g.outputs) result.push_back(get(v));
        for (int v : extra_values) result.push_back(get(v));
        return result;
    }

private:
    const Graph* graph_ = nullptr;
    std::vector<int> last_use_;
    std::vector<GemmShape>* log_ = nullptr;
    cpu::Workspace workspace_;

    template <typename Get>
    void run_node(const Node& n, Get&& get, Tensor& out) {
        const auto& in = n.inputs;
        auto opt = [&](size_t i) -> const Tensor* { return in.size() > i ? &get(in[i]) : nullptr; };
        switch (n.op) {
        case OpType::Conv: cpu::conv2d(get(in[0]), get(in[1]), opt(2), n.attrs, out, workspace_, log_); return;
        case OpType::Linear: cpu::linear(get(in[0]), get(in[1]), opt(2), out, log_); return;
        case OpType::MatMul: cpu::matmul(get(in[0]), get(in[1]), out, log_); return;
        case OpType::Gemm: cpu::gemm(get(in[0]), get(in[1]), opt(2), n.attrs, out, log_); return;
        case OpType::Add:
        case OpType::Sub:
        case OpType::Mul:
        case OpType::Div: cpu::binary(n.op, get(in[0]), get(in[1]), out); return;
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
        case OpType::Reshape: out.data = get(in[0]).data; return;  // same row-major data, new shape
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

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& options) {
    if (name == "cpu") return std::make_unique<CpuBackend>(options);
    throw Error("unknown backend '" + name + "' (available: cpu)");
}

}  // namespace xbarsim
