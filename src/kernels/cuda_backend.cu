// The CUDA backend: the whole graph on the device. Constants are uploaded once at load, analog
// layers are programmed on the device, activations stay on the device between layers (buffers
// reused after their last use, as in the CPU backend), every kernel and cuBLAS call is enqueued on
// one stream, and the host waits once per forward pass, for the outputs.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "cuda_analog_layer.cuh"
#include "cuda_check.cuh"
#include "cuda_memory.cuh"
#include "cuda_mvm_ops.cuh"
#include "cuda_ops.cuh"
#include "xbarsim/analog_plan.hpp"
#include "xbarsim/cuda_backend.hpp"
#include "xbarsim/cuda_info.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim {

namespace {

using cuda::DeviceTensor;

// Device memory kept free for cuBLAS, the CUDA context's own allocations and fragmentation.
constexpr size_t kReserveBytes = size_t{512} << 20;

std::string mib(size_t bytes) { return std::to_string((bytes + (size_t{1} << 20) - 1) >> 20) + " MiB"; }

class CudaBackend final : public Backend {
public:
    CudaBackend() {
        const CudaStatus status = cuda_status();
        if (status.devices.empty())
            throw Error("backend 'cuda': no CUDA device found" + (status.note.empty() ? std::string() : " (" + status.note + ")") +
                        "; use --backend cpu, or --backend auto to fall back to the CPU");
        device_name_ = status.devices.front().name;
        XBARSIM_CUDA_CHECK(cudaSetDevice(0));
        XBARSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        XBARSIM_CUBLAS_CHECK(cublasCreate(&blas_));
        XBARSIM_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
        // Plain FP32 (no TF32 tensor-core rounding), so results match the CPU reference.
        XBARSIM_CUBLAS_CHECK(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH));
        ctx_.stream = stream_;
        ctx_.blas = blas_;
    }
    ~CudaBackend() override {
        // Outstanding work must finish before its buffers are freed; errors are ignored here.
        if (stream_) cudaStreamSynchronize(stream_);
        constants_.clear();
        analog_.clear();
        if (blas_) cublasDestroy(blas_);
        if (stream_) cudaStreamDestroy(stream_);
    }
    CudaBackend(const CudaBackend&) = delete;
    CudaBackend& operator=(const CudaBackend&) = delete;

    std::string name() const override { return "cuda"; }

    void load(const Graph& graph, const AnalogPlan* plan) override {
        graph_ = &graph;
        plan_ = plan;
        analog_.clear();
        analog_.resize(graph.nodes.size());
        programmed_ = false;
        max_batch_ = 0;
        // Every float constant goes to the device once (weights, biases, BatchNorm parameters,
        // constant operands of element-wise ops).
        constants_.clear();
        for (size_t v = 0; v < graph.values.size(); ++v) {
            const Value& value = graph.values[v];
            if (!value.is_constant || value.data.data.empty()) continue;
            auto& dst = constants_[static_cast<int>(v)];
            dst.grow(value.data.data.size(), "model weights");
            XBARSIM_CUDA_CHECK(cudaMemcpy(dst.get(), value.data.data.data(), value.data.data.size() * sizeof(float),
                                          cudaMemcpyHostToDevice));
        }
        schedule_ = schedule_graph(graph);  // the CPU backend's analysis, shared
        // Column workspace: a quarter of what is free after the weights, at most 1 GiB.
        const auto [free_bytes, total_bytes] = cuda::device_memory_info();
        (void)total_bytes;
        workspace_.budget_bytes = std::clamp<size_t>(free_bytes / 4, size_t{16} << 20, size_t{1} << 30);
    }

    void record_gemms(std::vector<GemmShape>* log) override { ctx_.log = log; }
    void observe(MvmObserver* observer) override { observer_ = observer; }

    void program(uint32_t trial) override {
        if (!graph_) throw Error("cuda backend: program() called before load()");
        samples_done_ = 0;  // read-noise draws are indexed by the sample since programming
        if (!plan_) return;
        for (const auto& l : plan_->layers) {
            auto& layer = analog_[l.node];
            if (!layer) layer = std::make_unique<cuda::AnalogLayer>(graph_->value(graph_->nodes[l.node].inputs[1]).data, l);
            layer->program(ctx_, plan_->device, plan_->seed, trial);
        }
        programmed_ = true;
        max_batch_ = 0;  // the analog arrays now hold device memory: size batches again
    }

    using Backend::forward;
    std::vector<Tensor> forward(const std::vector<Tensor>& inputs, const std::vector<int>& extra_values) override {
        if (!graph_) throw Error("cuda backend: forward() called before load()");
        if (plan_ && !programmed_) program(0);
        const Graph& g = *graph_;
        if (inputs.size() != g.inputs.size())
            throw Error("the model has " + std::to_string(g.inputs.size()) + " inputs, " + std::to_string(inputs.size()) + " were given");
        for (size_t i = 0; i < inputs.size(); ++i) {
            const Value& declared = g.value(g.inputs[i]);
            const Shape& s = inputs[i].shape;
            if (s.size() != declared.shape.size() || !std::equal(declared.shape.begin() + 1, declared.shape.end(), s.begin() + 1))
                throw Error("input '" + declared.name + "' of shape " + shape_str(s) + " does not match the model's " +
                            shape_str(declared.shape) + " (the batch dimension may differ)");
        }
        const int64_t batch = inputs[0].shape.empty() ? 1 : inputs[0].dim(0);
        if (max_batch_ == 0) max_batch_ = fitting_batch(inputs);
        if (batch <= max_batch_ || inputs[0].shape.empty()) return forward_on_device(inputs, extra_values);
        // Too large for the device at once: consecutive sub-batches (read-noise draws follow the
        // sample index, so the results are those of one pass), outputs concatenated on dim 0.
        std::vector<Tensor> result;
        for (int64_t b0 = 0; b0 < batch; b0 += max_batch_) {
            const int64_t nb = std::min(max_batch_, batch - b0);
            std::vector<Tensor> part_inputs;
            for (const Tensor& t : inputs) {
                const int64_t per = t.size() / std::max<int64_t>(t.dim(0), 1);
                Shape s = t.shape;
                s[0] = nb;
                part_inputs.emplace_back(s, std::vector<float>(t.data.begin() + b0 * per, t.data.begin() + (b0 + nb) * per));
            }
            auto part = forward_on_device(part_inputs, extra_values);
            if (result.empty()) {
                result = std::move(part);
                continue;
            }
            for (size_t i = 0; i < result.size(); ++i) {
                if (result[i].shape.empty() || part[i].shape.empty() || result[i].dim(0) == 0)
                    throw Error("cuda backend: output " + std::to_string(i) + " has no batch dimension to split the batch over");
                result[i].data.insert(result[i].data.end(), part[i].data.begin(), part[i].data.end());
                result[i].shape[0] += part[i].dim(0);
            }
        }
        return result;
    }

private:
    const Graph* graph_ = nullptr;
    const AnalogPlan* plan_ = nullptr;
    std::string device_name_;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    cuda::Context ctx_;
    std::map<int, cuda::DeviceArray<float>> constants_;
    std::vector<std::unique_ptr<cuda::AnalogLayer>> analog_;  // per node; null for digital nodes
    bool programmed_ = false;
    uint64_t samples_done_ = 0;
    MvmObserver* observer_ = nullptr;
    GraphSchedule schedule_;  // when values are freed, which activations are fused
    cuda::BufferPool pool_;
    cuda::Workspace workspace_;
    cuda::PinnedBuffer staging_;
    int64_t max_batch_ = 0;  // largest batch one device pass holds (0: not sized yet)
    size_t current_ = 0;

    // Peak bytes of live activations for a batch of one sample, from the same last-use schedule
    // as forward_on_device (shapes only, nothing allocated).
    // With one_sample false, the inputs' own batch is used instead of 1.
    size_t activation_bytes_per_sample(const std::vector<Tensor>& inputs, bool one_sample) const {
        const Graph& g = *graph_;
        std::vector<Shape> shapes(g.values.size());
        std::vector<bool> live(g.values.size(), false);
        size_t now = 0, peak = 0;
        auto bytes = [](const Shape& s) { return static_cast<size_t>(numel(s)) * sizeof(float); };
        for (size_t i = 0; i < inputs.size(); ++i) {
            Shape s = inputs[i].shape;
            if (!s.empty() && one_sample) s[0] = 1;
            shapes[static_cast<size_t>(g.inputs[i])] = s;
            live[static_cast<size_t>(g.inputs[i])] = true;
            now += bytes(s);
        }
        for (size_t i = 0; i < g.nodes.size(); ++i) {
            const Node& node = g.nodes[i];
            std::vector<Shape> in;
            for (int id : node.inputs) in.push_back(g.value(id).is_constant ? g.value(id).data.shape : shapes[static_cast<size_t>(id)]);
            const Shape out = infer_shape(node, in, g.import_batch);
            shapes[static_cast<size_t>(node.output)] = out;
            live[static_cast<size_t>(node.output)] = true;
            // The op's output, its input and a DAC'd copy of it (analog layers) coexist.
            now += bytes(out);
            size_t extra = 0;
            if (is_mvm_layer(node.op) && !node.inputs.empty()) extra = bytes(in[0]);
            peak = std::max(peak, now + extra);
            for (int id : node.inputs) {
                const auto k = static_cast<size_t>(id);
                if (schedule_.last_use[k] == static_cast<int>(i) && live[k] && !g.value(id).is_constant) {
                    live[k] = false;
                    now -= bytes(shapes[k]);
                }
            }
        }
        return std::max<size_t>(peak, 1);
    }

    // The largest batch whose activations fit next to the weights, analog arrays and workspace.
    int64_t fitting_batch(const std::vector<Tensor>& inputs) {
        XBARSIM_CUDA_CHECK(cudaStreamSynchronize(stream_));
        const auto [free_bytes, total_bytes] = cuda::device_memory_info();
        // Buffers cached by the pool are free for this purpose; pool fragmentation is covered by
        // counting every activation twice.
        const size_t usable = free_bytes + pool_.cached_bytes();
        size_t per_sample = 0;
        try {
            per_sample = 2 * activation_bytes_per_sample(inputs, true);
        } catch (const Error&) {
            // A graph whose shapes need the actual batch (e.g. a Reshape spelling it): size with it.
            const int64_t batch = inputs[0].shape.empty() ? 1 : std::max<int64_t>(inputs[0].dim(0), 1);
            per_sample = 2 * activation_bytes_per_sample(inputs, false) / static_cast<size_t>(batch) + 1;
        }
        const size_t fixed = workspace_.budget_bytes + kReserveBytes;
        if (usable < fixed + per_sample)
            throw Error("cuda backend: not enough GPU memory on " + device_name_ + " for one sample of " + graph_->source +
                        ": needed " + mib(fixed + per_sample) + " (" + mib(per_sample) + " of activations, " + mib(fixed) +
                        " of workspace and reserve), available " + mib(usable) + " of " + mib(total_bytes));
        return static_cast<int64_t>(std::min<size_t>((usable - fixed) / per_sample, size_t{1} << 30));
    }

    DeviceTensor allocate(Shape shape) {
        DeviceTensor t;
        t.shape = std::move(shape);
        t.data = pool_.get(static_cast<size_t>(std::max<int64_t>(numel(t.shape), 1)), &t.capacity);
        return t;
    }
    void release(DeviceTensor& t) {
        if (t.capacity > 0) pool_.put(t.data, t.capacity);
        t = DeviceTensor();
    }

    std::vector<Tensor> forward_on_device(const std::vector<Tensor>& inputs, const std::vector<int>& extra_values) {
        const Graph& g = *graph_;
        std::vector<DeviceTensor> live(g.values.size());
        std::vector<DeviceTensor> constant_views(g.values.size());
        for (const auto& [id, arr] : constants_) {
            constant_views[static_cast<size_t>(id)].shape = g.value(id).data.shape;
            constant_views[static_cast<size_t>(id)].data = arr.get();
        }
        // Inputs: host -> pinned staging -> device (one DMA each).
        size_t staged = 0;
        for (const Tensor& t : inputs) staged += t.data.size();
        float* pinned = staging_.grow(staged);
        size_t offset = 0;
        for (size_t i = 0; i < inputs.size(); ++i) {
            const Tensor& t = inputs[i];
            std::memcpy(pinned + offset, t.data.data(), t.data.size() * sizeof(float));
            DeviceTensor d = allocate(t.shape);
            XBARSIM_CUDA_CHECK(cudaMemcpyAsync(d.data, pinned + offset, t.data.size() * sizeof(float), cudaMemcpyHostToDevice, stream_));
            live[static_cast<size_t>(g.inputs[i])] = std::move(d);
            offset += t.data.size();
        }
        std::vector<bool> keep(g.values.size(), false);
        for (int v : extra_values) keep[static_cast<size_t>(v)] = true;
        auto get = [&](int id) -> const DeviceTensor& {
            return g.value(id).is_constant ? constant_views[static_cast<size_t>(id)] : live[static_cast<size_t>(id)];
        };
        auto release_input = [&](int id, size_t node_index) {
            const auto k = static_cast<size_t>(id);
            if (schedule_.last_use[k] != static_cast<int>(node_index) || keep[k] || g.value(id).is_constant) return;
            release(live[k]);
        };
        std::vector<bool> done(g.nodes.size(), false);
        try {
            for (size_t i = 0; i < g.nodes.size(); ++i) {
                if (done[i]) continue;  // an activation already applied as an epilogue
                const Node& node = g.nodes[i];
                current_ = i;
                std::vector<Shape> shapes;
                for (int id : node.inputs) shapes.push_back(get(id).shape);
                const Shape out_shape = infer_shape(node, shapes, g.import_batch);
                const int act = schedule_.fused_activation[i];
                if (act >= 0 && !keep[static_cast<size_t>(node.output)]) {
                    const Node& a = g.nodes[static_cast<size_t>(act)];
                    cuda::Epilogue ep;
                    ep.lo = a.op == OpType::Relu ? 0.0f : a.attrs.min;
                    ep.hi = a.op == OpType::Relu ? ep.hi : a.attrs.max;
                    DeviceTensor out = allocate(out_shape);
                    run_node(node, get, out, ep);
                    live[static_cast<size_t>(a.output)] = std::move(out);
                    done[static_cast<size_t>(act)] = true;
                    for (int id : node.inputs) release_input(id, i);
                    continue;
                }
                const int in0 = node.inputs.empty() ? -1 : node.inputs[0];
                if ((node.op == OpType::Flatten || node.op == OpType::Reshape) && in0 >= 0 &&
                    schedule_.last_use[static_cast<size_t>(in0)] == static_cast<int>(i) && !keep[static_cast<size_t>(in0)] &&
                    !g.value(in0).is_constant) {
                    DeviceTensor moved = std::move(live[static_cast<size_t>(in0)]);  // same data, new shape
                    live[static_cast<size_t>(in0)] = DeviceTensor();
                    moved.shape = out_shape;
                    live[static_cast<size_t>(node.output)] = std::move(moved);
                    continue;
                }
                DeviceTensor out = allocate(out_shape);
                run_node(node, get, out, {});
                live[static_cast<size_t>(node.output)] = std::move(out);
                for (int id : node.inputs) release_input(id, i);
            }
        } catch (...) {
            // Leave the stream idle and the pool consistent for the next call.
            cudaStreamSynchronize(stream_);
            for (auto& t : live) release(t);
            throw;
        }
        samples_done_ += static_cast<uint64_t>(inputs[0].shape.empty() ? 1 : inputs[0].dim(0));
        // Outputs: device -> pinned staging, one wait, then into host tensors.
        std::vector<int> wanted(g.outputs.begin(), g.outputs.end());
        wanted.insert(wanted.end(), extra_values.begin(), extra_values.end());
        size_t out_floats = 0;
        for (int v : wanted) out_floats += static_cast<size_t>(get(v).size());
        float* host = staging_.grow(out_floats);
        offset = 0;
        for (int v : wanted) {
            const DeviceTensor& t = get(v);
            if (t.size() > 0)
                XBARSIM_CUDA_CHECK(cudaMemcpyAsync(host + offset, t.data, static_cast<size_t>(t.size()) * sizeof(float),
                                                   cudaMemcpyDeviceToHost, stream_));
            offset += static_cast<size_t>(t.size());
        }
        XBARSIM_CUDA_CHECK(cudaStreamSynchronize(stream_));
        std::vector<Tensor> result;
        offset = 0;
        for (int v : wanted) {
            const DeviceTensor& t = get(v);
            result.emplace_back(t.shape, std::vector<float>(host + offset, host + offset + t.size()));
            offset += static_cast<size_t>(t.size());
        }
        for (auto& t : live) release(t);
        return result;
    }

    cuda::MvmHooks hooks() const {
        cuda::MvmHooks h;
        h.analog = analog_.empty() ? nullptr : analog_[current_].get();
        h.observer = observer_;
        h.node = current_;
        h.sample_base = samples_done_;
        return h;
    }

    template <typename Get>
    void run_node(const Node& n, Get&& get, DeviceTensor& out, cuda::Epilogue ep) {
        const auto& in = n.inputs;
        auto opt = [&](size_t i) -> const DeviceTensor* { return in.size() > i ? &get(in[i]) : nullptr; };
        const cuda::Context& c = ctx_;
        switch (n.op) {
        case OpType::Conv: cuda::conv2d(c, get(in[0]), get(in[1]), opt(2), n.attrs, out, workspace_, ep, hooks()); return;
        case OpType::Linear: cuda::linear(c, get(in[0]), get(in[1]), opt(2), out, workspace_, ep, hooks()); return;
        case OpType::MatMul: cuda::matmul(c, get(in[0]), get(in[1]), out); return;
        case OpType::Gemm: cuda::gemm(c, get(in[0]), get(in[1]), opt(2), n.attrs, out); return;
        case OpType::Add:
        case OpType::Sub:
        case OpType::Mul:
        case OpType::Div:
            cuda::binary(c, n.op, get(in[0]).data, get(in[0]).shape, get(in[1]).data, get(in[1]).shape, out.data, out.shape);
            return;
        case OpType::Relu:
        case OpType::Clip:
        case OpType::LeakyRelu:
        case OpType::Sigmoid:
        case OpType::HardSigmoid:
        case OpType::HardSwish:
        case OpType::Tanh:
        case OpType::Identity: cuda::unary(c, n.op, n.attrs, get(in[0]).data, out.data, out.size()); return;
        case OpType::BatchNorm: {
            const DeviceTensor& x = get(in[0]);
            const int64_t batch = x.dim(0), ch = x.dim(1), inner = x.size() / std::max<int64_t>(batch * ch, 1);
            cuda::batchnorm(c, x.data, get(in[1]).data, get(in[2]).data, out.data, batch, ch, inner);
            return;
        }
        case OpType::MaxPool: {
            const DeviceTensor& x = get(in[0]);
            cuda::max_pool(c, x.data, out.data, x.dim(0) * x.dim(1), window_geometry(n.attrs, x.dim(2), x.dim(3)));
            return;
        }
        case OpType::AveragePool: {
            const DeviceTensor& x = get(in[0]);
            cuda::average_pool(c, x.data, out.data, x.dim(0) * x.dim(1), window_geometry(n.attrs, x.dim(2), x.dim(3)),
                               n.attrs.count_include_pad);
            return;
        }
        case OpType::GlobalAveragePool: {
            const DeviceTensor& x = get(in[0]);
            const int64_t planes = x.dim(0) * x.dim(1);
            cuda::global_average_pool(c, x.data, out.data, planes, x.size() / std::max<int64_t>(planes, 1));
            return;
        }
        case OpType::Flatten:
        case OpType::Reshape: cuda::copy(c, get(in[0]).data, out.data, out.size()); return;  // same data, new shape
        case OpType::Transpose: cuda::transpose(c, get(in[0]).data, get(in[0]).shape, n.attrs.perm, out.data, out.shape); return;
        case OpType::Concat: {
            const auto axis = static_cast<size_t>(normalize_axis(n.attrs.axis, static_cast<int64_t>(out.shape.size()), n.name));
            int64_t outer = 1, inner = 1;
            for (size_t d = 0; d < axis; ++d) outer *= out.shape[d];
            for (size_t d = axis + 1; d < out.shape.size(); ++d) inner *= out.shape[d];
            const int64_t out_row = out.shape[axis] * inner;
            int64_t offset = 0;
            for (int id : in) {
                const DeviceTensor& x = get(id);
                const int64_t row = x.shape[axis] * inner;
                cuda::concat_part(c, x.data, out.data, outer, row, out_row, offset);
                offset += row;
            }
            return;
        }
        case OpType::Softmax: {
            const DeviceTensor& x = get(in[0]);
            const auto rank = static_cast<int64_t>(x.shape.size());
            const int64_t axis = normalize_axis(n.attrs.axis, rank, n.name);
            // Opset < 13 flattens to [outer, inner] at `axis`; opset 13+ normalizes along one axis.
            int64_t outer = 1, len = 1, inner = 1;
            for (int64_t d = 0; d < rank; ++d) {
                const int64_t s = x.shape[static_cast<size_t>(d)];
                if (d < axis) outer *= s;
                else if (d == axis || n.attrs.softmax_legacy) len *= s;
                else inner *= s;
            }
            cuda::softmax(c, x.data, out.data, outer, len, inner);
            return;
        }
        case OpType::Pad:
            cuda::pad(c, get(in[0]).data, get(in[0]).shape, out.data, out.shape, n.attrs.pad_amounts, n.attrs.pad_mode,
                      n.attrs.pad_value);
            return;
        }
        throw Error("cuda backend: node '" + n.name + "': op " + op_name(n.op) + " has no CUDA implementation");
    }
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions&) { return std::make_unique<CudaBackend>(); }

}  // namespace xbarsim
