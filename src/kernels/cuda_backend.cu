// The CUDA backend: the whole graph on the device. Constants are uploaded once at load, analog
// layers are programmed on the device, activations stay on the device between layers (buffers
// reused after their last use, as in the CPU backend), every kernel and cuBLAS call is enqueued on
// one stream, and the host waits once per forward pass, for the outputs. Several chip instances
// (Monte Carlo trials) can be programmed at once: each input batch is then replicated once per
// chip on the device and the whole network runs on chips x samples, each chip's samples on that
// chip's arrays.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <deque>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "cuda_analog_layer.cuh"
#include "cuda_check.cuh"
#include "cuda_memory.cuh"
#include "cuda_mvm_ops.cuh"
#include "cuda_node_timer.cuh"
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
        // submit(): input copies run on their own stream so that they overlap the pass before.
        XBARSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
        for (auto& slot : slots_) {
            XBARSIM_CUDA_CHECK(cudaEventCreateWithFlags(&slot.input_ready, cudaEventDisableTiming));
            XBARSIM_CUDA_CHECK(cudaEventCreateWithFlags(&slot.pass_done, cudaEventDisableTiming));
        }
    }
    ~CudaBackend() override {
        // Outstanding work must finish before its buffers are freed; errors are ignored here.
        if (stream_) cudaStreamSynchronize(stream_);
        if (copy_stream_) cudaStreamSynchronize(copy_stream_);
        constants_.clear();
        analog_.clear();
        for (auto& slot : slots_) {
            if (slot.input_ready) cudaEventDestroy(slot.input_ready);
            if (slot.pass_done) cudaEventDestroy(slot.pass_done);
        }
        if (blas_) cublasDestroy(blas_);
        if (copy_stream_) cudaStreamDestroy(copy_stream_);
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
        chips_.clear();
        max_chips_ = 1;
        // Column workspace: a quarter of what is free after the weights, at most 1 GiB.
        const auto [free_bytes, total_bytes] = cuda::device_memory_info();
        (void)total_bytes;
        workspace_.budget_bytes = std::clamp<size_t>(free_bytes / 4, size_t{16} << 20, size_t{1} << 30);
        if (plan_) size_chips(free_bytes > workspace_.budget_bytes ? free_bytes - workspace_.budget_bytes : 0);
    }

    int64_t max_chips() const override { return max_chips_; }

    void record_gemms(std::vector<GemmShape>* log) override { ctx_.log = log; }
    void record_node_times(std::vector<double>* seconds) override { node_times_ = seconds; }
    void observe(MvmObserver* observer) override { observer_ = observer; }

    void program(uint32_t trial) override { program_chips({trial}); }

    void program_chips(const std::vector<uint32_t>& trials) override {
        if (!graph_) throw Error("cuda backend: program() called before load()");
        if (trials.empty()) throw Error("cuda backend: program_chips() needs at least one chip instance");
        if (!flights_.empty())  // their outputs would mix two programmings
            throw Error("cuda backend: " + std::to_string(flights_.size()) + " submitted passes not collected before programming");
        if (static_cast<int64_t>(trials.size()) > max_chips_)
            throw Error("cuda backend: " + std::to_string(trials.size()) + " chip instances asked for, " +
                        std::to_string(max_chips_) + " fit on " + device_name_ + " side by side");
        samples_done_ = 0;  // read-noise draws are indexed by the sample since programming
        chips_ = plan_ ? trials : std::vector<uint32_t>{trials.front()};
        if (!plan_) return;
        make_analog_layers();
        for (const auto& l : plan_->layers) analog_[l.node]->program(ctx_, plan_->device, plan_->seed, chips_);
        programmed_ = true;
        max_batch_ = 0;  // the analog arrays now hold device memory: size batches again
    }

    using Backend::forward;
    std::vector<Tensor> forward(const std::vector<Tensor>& inputs, const std::vector<int>& extra_values) override {
        if (!graph_) throw Error("cuda backend: forward() called before load()");
        if (plan_ && !programmed_) program(0);
        check_inputs(inputs);
        const int64_t batch = inputs[0].shape.empty() ? 1 : inputs[0].dim(0);
        const int64_t chips = chip_count();
        if (chips > 1 && inputs[0].shape.empty())
            throw Error("cuda backend: several chip instances need inputs with a batch dimension");
        const int64_t per_pass = samples_per_pass(inputs);
        if (batch <= per_pass || inputs[0].shape.empty()) return forward_on_device(inputs, extra_values);
        // Too large for the device at once: consecutive sub-batches (read-noise draws follow the
        // sample index, so the results are those of one pass), each chip's rows concatenated.
        std::vector<Tensor> result;
        for (int64_t b0 = 0; b0 < batch; b0 += per_pass) {
            const int64_t nb = std::min(per_pass, batch - b0);
            std::vector<Tensor> part_inputs;
            for (const Tensor& t : inputs) {
                const int64_t per = t.size() / std::max<int64_t>(t.dim(0), 1);
                Shape s = t.shape;
                s[0] = nb;
                part_inputs.emplace_back(s, std::vector<float>(t.data.begin() + b0 * per, t.data.begin() + (b0 + nb) * per));
            }
            const auto part = forward_on_device(part_inputs, extra_values);
            if (result.empty()) {
                for (const Tensor& p : part) {
                    if (p.shape.empty() || p.dim(0) != chips * nb)
                        throw Error("cuda backend: an output has no batch dimension to split the batch over");
                    Shape s = p.shape;
                    s[0] = chips * batch;
                    result.emplace_back(s, std::vector<float>(static_cast<size_t>(numel(s))));
                }
            }
            // Chip c's rows of this sub-batch go to rows c·batch + b0 ... of the result.
            for (size_t i = 0; i < result.size(); ++i) {
                const int64_t per = part[i].size() / (chips * nb);
                for (int64_t c = 0; c < chips; ++c)
                    std::copy_n(part[i].data.begin() + c * nb * per, nb * per, result[i].data.begin() + (c * batch + b0) * per);
            }
        }
        return result;
    }

    // Pipelined passes: the batch goes to pinned memory and to the device on copy_stream_ (after
    // the pass that last read the slot's device buffer), the pass waits for it on the compute
    // stream, and its outputs come back into the slot's pinned buffer; collect() waits for them.
    // With one pass in flight the next batch's copy thus overlaps its compute.
    void submit(const std::vector<Tensor>& inputs) override {
        if (!graph_) throw Error("cuda backend: submit() called before load()");
        if (flights_.size() >= slots_.size())
            throw Error("cuda backend: " + std::to_string(flights_.size()) + " passes in flight; collect() one first");
        if (plan_ && !programmed_) program(0);
        check_inputs(inputs);
        const int64_t batch = inputs[0].shape.empty() ? 1 : inputs[0].dim(0);
        const int64_t chips = chip_count();
        if (observer_ || inputs.size() != 1 || inputs[0].shape.empty() || batch > samples_per_pass(inputs)) {
            // Observers synchronize anyway, and split batches run pass by pass: no pipelining.
            flights_.push_back({-1, forward(inputs, {}), {}});
            return;
        }
        const int index = next_slot_;
        next_slot_ = (next_slot_ + 1) % static_cast<int>(slots_.size());
        Slot& slot = slots_[static_cast<size_t>(index)];
        const Tensor& t = inputs[0];
        const size_t floats = t.data.size(), bytes = floats * sizeof(float);
        // The slot's previous pass was collected (passes complete in order), so its buffers are free.
        float* host = slot.host_in.grow(floats);
        std::memcpy(host, t.data.data(), bytes);
        float* dev = slot.device_in.grow(floats * static_cast<size_t>(chips), "input batch");
        XBARSIM_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, slot.pass_done, 0));
        XBARSIM_CUDA_CHECK(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, copy_stream_));
        XBARSIM_CUDA_CHECK(cudaEventRecord(slot.input_ready, copy_stream_));
        XBARSIM_CUDA_CHECK(cudaStreamWaitEvent(stream_, slot.input_ready, 0));
        copy_per_chip(dev, floats, chips);
        DeviceTensor in;
        in.shape = t.shape;
        in.shape[0] *= chips;
        in.data = dev;  // not pooled (capacity 0): the pass does not free it
        std::vector<DeviceTensor> outs = run_graph({in}, {});
        samples_done_ += static_cast<uint64_t>(batch);
        std::vector<Shape> shapes = download(outs, slot.host_out);
        XBARSIM_CUDA_CHECK(cudaEventRecord(slot.pass_done, stream_));
        flights_.push_back({index, {}, std::move(shapes)});
    }

    std::vector<Tensor> collect() override {
        if (flights_.empty()) throw Error("cuda backend: collect() without a submitted pass");
        Flight f = std::move(flights_.front());
        flights_.pop_front();
        if (f.slot < 0) return std::move(f.ready);
        const Slot& slot = slots_[static_cast<size_t>(f.slot)];
        XBARSIM_CUDA_CHECK(cudaEventSynchronize(slot.pass_done));
        return to_host(f.shapes, slot.host_out.get());
    }

private:
    struct Slot {
        cuda::PinnedBuffer host_in, host_out;
        cuda::DeviceArray<float> device_in;
        cudaEvent_t input_ready = nullptr, pass_done = nullptr;
    };
    struct Flight {
        int slot = -1;                  // -1: run synchronously, outputs in `ready`
        std::vector<Tensor> ready;
        std::vector<Shape> shapes;      // outputs waiting in the slot's pinned buffer
    };
    std::array<Slot, 2> slots_;
    std::deque<Flight> flights_;
    int next_slot_ = 0;
    cudaStream_t copy_stream_ = nullptr;

    void check_inputs(const std::vector<Tensor>& inputs) const { check_graph_inputs(*graph_, inputs); }

    const Graph* graph_ = nullptr;
    const AnalogPlan* plan_ = nullptr;
    std::string device_name_;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    cuda::Context ctx_;
    std::map<int, cuda::DeviceArray<float>> constants_;
    std::vector<std::unique_ptr<cuda::AnalogLayer>> analog_;  // per node; null for digital nodes
    bool programmed_ = false;
    std::vector<uint32_t> chips_;  // the trials of the chip instances programmed (empty: none yet)
    int64_t max_chips_ = 1;
    uint64_t samples_done_ = 0;  // per chip
    MvmObserver* observer_ = nullptr;
    GraphSchedule schedule_;  // when values are freed, which activations are fused
    cuda::BufferPool pool_;
    cuda::Workspace workspace_;
    cuda::PinnedBuffer staging_;
    int64_t max_batch_ = 0;  // largest batch one device pass holds (0: not sized yet)
    std::vector<double>* node_times_ = nullptr;  // profiling: seconds per node, or null
    cuda::NodeTimer node_timer_;
    size_t current_ = 0;

    void make_analog_layers() {
        for (const auto& l : plan_->layers) {
            auto& layer = analog_[l.node];
            if (!layer) layer = std::make_unique<cuda::AnalogLayer>(graph_->value(graph_->nodes[l.node].inputs[1]).data, l);
        }
    }

    // How many chip instances fit side by side: their conductances in half of `free_bytes` (the
    // rest stays for activations, which grow with the chips too), at most 64. A plan the layers
    // refuse (uncalibrated) gets 1, and program() reports the error.
    void size_chips(size_t free_bytes) {
        try {
            make_analog_layers();
        } catch (const Error&) {
            max_chips_ = 1;
            return;
        }
        size_t per_chip = 0;
        for (const auto& l : plan_->layers) per_chip += analog_[l.node]->chip_bytes(plan_->device);
        max_chips_ = static_cast<int64_t>(std::clamp<size_t>(free_bytes / 2 / std::max<size_t>(per_chip, 1), 1, 64));
    }

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

    // One synchronous pass: inputs uploaded (one copy per chip), the graph, outputs downloaded.
    std::vector<Tensor> forward_on_device(const std::vector<Tensor>& inputs, const std::vector<int>& extra_values) {
        // Inputs: host -> pinned staging -> device (one DMA each).
        size_t staged = 0;
        for (const Tensor& t : inputs) staged += t.data.size();
        float* pinned = staging_.grow(staged);
        size_t offset = 0;
        std::vector<DeviceTensor> device_inputs;
        for (const Tensor& t : inputs) {
            std::memcpy(pinned + offset, t.data.data(), t.data.size() * sizeof(float));
            const int64_t chips = t.shape.empty() ? 1 : chip_count();
            Shape shape = t.shape;
            if (!shape.empty()) shape[0] *= chips;
            DeviceTensor d = allocate(shape);
            XBARSIM_CUDA_CHECK(cudaMemcpyAsync(d.data, pinned + offset, t.data.size() * sizeof(float), cudaMemcpyHostToDevice, stream_));
            copy_per_chip(d.data, t.data.size(), chips);
            device_inputs.push_back(std::move(d));
            offset += t.data.size();
        }
        std::vector<DeviceTensor> outs = run_graph(std::move(device_inputs), extra_values);
        samples_done_ += static_cast<uint64_t>(inputs[0].shape.empty() ? 1 : inputs[0].dim(0));
        // Outputs: device -> pinned staging, one wait, then into host tensors.
        const std::vector<Shape> shapes = download(outs, staging_);
        XBARSIM_CUDA_CHECK(cudaStreamSynchronize(stream_));
        return to_host(shapes, staging_.get());
    }

    // Enqueues copies of `outs` into `host` (grown to hold them all, back to back) and releases
    // them (later kernels of the same stream may reuse the buffers); returns their shapes.
    std::vector<Shape> download(std::vector<DeviceTensor>& outs, cuda::PinnedBuffer& host) {
        size_t floats = 0;
        for (const auto& t : outs) floats += static_cast<size_t>(t.size());
        float* dst = host.grow(floats);
        std::vector<Shape> shapes;
        for (auto& t : outs) {
            if (t.size() > 0)
                XBARSIM_CUDA_CHECK(cudaMemcpyAsync(dst, t.data, static_cast<size_t>(t.size()) * sizeof(float), cudaMemcpyDeviceToHost,
                                                   stream_));
            dst += t.size();
            shapes.push_back(t.shape);
            release(t);
        }
        return shapes;
    }

    // Chip instances a pass runs side by side (1 before any programming).
    int64_t chip_count() const { return static_cast<int64_t>(std::max<size_t>(chips_.size(), 1)); }

    // Samples per chip that one device pass holds (a pass runs chips x samples); sizes the
    // device's batch on first use after programming.
    int64_t samples_per_pass(const std::vector<Tensor>& inputs) {
        if (max_batch_ == 0) max_batch_ = fitting_batch(inputs);
        return std::max<int64_t>(max_batch_ / chip_count(), 1);
    }

    // Fills chips 1.. of a chip-major device batch with copies of chip 0's `floats` values.
    void copy_per_chip(float* data, size_t floats, int64_t chips) {
        for (int64_t c = 1; c < chips; ++c)
            XBARSIM_CUDA_CHECK(cudaMemcpyAsync(data + c * static_cast<int64_t>(floats), data, floats * sizeof(float),
                                               cudaMemcpyDeviceToDevice, stream_));
    }

    static std::vector<Tensor> to_host(const std::vector<Shape>& shapes, const float* host) {
        std::vector<Tensor> result;
        for (const Shape& s : shapes) {
            const int64_t n = numel(s);
            result.emplace_back(s, std::vector<float>(host, host + n));
            host += n;
        }
        return result;
    }

    // Enqueues the whole graph on `inputs` (device tensors, one per graph input; pooled ones are
    // freed at their last use). Returns the graph outputs followed by `extra_values`, still on the
    // device; the caller releases them once their copies are enqueued.
    std::vector<DeviceTensor> run_graph(std::vector<DeviceTensor> inputs, const std::vector<int>& extra_values) {
        const Graph& g = *graph_;
        std::vector<DeviceTensor> live(g.values.size());
        std::vector<DeviceTensor> constant_views(g.values.size());
        for (const auto& [id, arr] : constants_) {
            constant_views[static_cast<size_t>(id)].shape = g.value(id).data.shape;
            constant_views[static_cast<size_t>(id)].data = arr.get();
        }
        for (size_t i = 0; i < inputs.size(); ++i) live[static_cast<size_t>(g.inputs[i])] = std::move(inputs[i]);
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
        cuda::NodeTimer* timer = node_times_ ? &node_timer_ : nullptr;
        try {
            // Inside the try: creating the timing events can fail, and the inputs are in `live`.
            if (timer) {
                node_times_->resize(g.nodes.size(), 0.0);
                timer->begin_pass(g.nodes.size());
            }
            for (size_t i = 0; i < g.nodes.size(); ++i) {
                if (done[i]) continue;  // an activation already applied as an epilogue
                const cuda::NodeTimer::Scope timed(timer, i, stream_);
                const Node& node = g.nodes[i];
                current_ = i;
                std::vector<Shape> shapes;
                for (int id : node.inputs) shapes.push_back(get(id).shape);
                const Shape out_shape = infer_shape(node, shapes, g.import_batch);
                const int act = schedule_.fused_activation[i];
                if (act >= 0 && !keep[static_cast<size_t>(node.output)]) {
                    const Node& a = g.nodes[static_cast<size_t>(act)];
                    const auto ep = cuda::Epilogue::of(a);
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
            if (timer) timer->add_elapsed(*node_times_);  // waits for this pass
        } catch (...) {
            // Leave the stream idle and the pool consistent for the next call.
            cudaStreamSynchronize(stream_);
            for (auto& t : live) release(t);
            throw;
        }
        // The wanted values leave `live` (a value listed twice is handed out once, then viewed).
        std::vector<int> wanted(g.outputs.begin(), g.outputs.end());
        wanted.insert(wanted.end(), extra_values.begin(), extra_values.end());
        std::vector<DeviceTensor> outs;
        std::vector<bool> taken(g.values.size(), false);
        for (int v : wanted) {
            const auto k = static_cast<size_t>(v);
            if (g.value(v).is_constant || taken[k]) {
                DeviceTensor view = get(v);
                view.capacity = 0;
                outs.push_back(view);
                continue;
            }
            outs.push_back(live[k]);  // moves ownership (capacity) to the caller
            live[k].capacity = 0;
            taken[k] = true;
        }
        for (auto& t : live) release(t);
        return outs;
    }

    cuda::MvmHooks hooks() const {
        cuda::MvmHooks h;
        h.analog = analog_.empty() ? nullptr : analog_[current_].get();
        h.observer = observer_ && observer_->watching(current_) ? observer_ : nullptr;
        h.node = current_;
        h.sample_base = samples_done_;
        h.chips = chip_count();
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
            cuda::binary(c, n.op, get(in[0]).data, get(in[0]).shape, get(in[1]).data, get(in[1]).shape, out.data, out.shape, ep);
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
