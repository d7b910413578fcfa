#pragma once
// The backend interface: a backend binds a Graph once (weights to device memory, analog arrays
// programmed, workspaces sized) and then runs whole forward passes on batches. Running the whole
// graph inside the backend, rather than op by op from the caller, is what lets the CUDA backend
// keep activations on the device and avoid per-layer host synchronization.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "xbarsim/graph.hpp"
#include "xbarsim/tensor.hpp"

namespace xbarsim {

namespace analog {
struct ConvInput;
}

struct AnalogPlan;

// Sees the input vectors of every MVM layer (calibration, statistics): `cols` is [k x m]
// row-major, one input vector per column, for Conv group `group` (0 for Linear).
class MvmObserver {
public:
    virtual ~MvmObserver() = default;
    virtual void on_mvm_input(size_t node, int64_t group, const float* cols, int64_t k, int64_t m) = 0;
    // Whether it still wants node's inputs. Backends skip an observer that does not: watching
    // costs them their fast paths (the unrolled input handed over; on the GPU, a copy to the host).
    virtual bool watching(size_t node) const {
        (void)node;
        return true;
    }
    // Convolutions on the CPU: an observer that says so here gets, where the CPU can, the part of
    // the layer input whose columns on_mvm_input would get (on_conv_input), never unrolled.
    virtual bool takes_conv_input(size_t node) const {
        (void)node;
        return false;
    }
    virtual void on_conv_input(size_t node, int64_t group, const analog::ConvInput& x) {
        (void)node, (void)group, (void)x;
    }
};

// One GEMM issued by a backend (C[M×N] = A[M×K]·B[K×N]); recorded for the benchmark baseline.
struct GemmShape {
    int64_t m = 0, n = 0, k = 0;
    bool operator==(const GemmShape&) const = default;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // Binds `graph` (and, when given, the analog plan saying which layers run on crossbars and
    // how); both must outlive the backend's use of them. Without a plan everything is digital.
    virtual void load(const Graph& graph, const AnalogPlan* plan = nullptr) = 0;
    // Makes chip instance `trial` current: analog layers are (re)programmed with that trial's
    // programming error and drift (a no-op for ideal devices after the first call).
    virtual void program(uint32_t trial) = 0;
    // How many chip instances one forward pass can evaluate side by side (program_chips); 1 where
    // the backend cannot (the CPU backend, whose cores are already busy with one).
    virtual int64_t max_chips() const { return 1; }
    // Makes chip instances `trials` current together: a forward() on a batch of B samples then
    // runs every sample on every chip and returns trials.size()·B rows, chip-major (rows
    // [i·B, (i+1)·B) are chip trials[i]), each exactly what program(trials[i]) and the same
    // forward() would give. At most max_chips() trials; the default takes one.
    virtual void program_chips(const std::vector<uint32_t>& trials);
    // When set, sees the inputs of every MVM layer during the following forward passes.
    virtual void observe(MvmObserver* observer) = 0;
    // Runs the bound graph on `inputs` (one per graph input, any batch size). Returns the graph
    // outputs in order, followed by the values listed in `extra_values` (value ids, e.g. "logits").
    virtual std::vector<Tensor> forward(const std::vector<Tensor>& inputs, const std::vector<int>& extra_values) = 0;
    std::vector<Tensor> forward(const Tensor& input, const std::vector<int>& extra_values = {}) {
        return forward(std::vector<Tensor>{input}, extra_values);
    }
    // When set, every GEMM of the following forward passes is appended here.
    virtual void record_gemms(std::vector<GemmShape>* log) = 0;
    // When set, the time each node of the following forward passes takes is added to
    // (*seconds)[node] (resized to the graph's nodes); a Relu/Clip fused into the op before it
    // counts in that op and gets 0. The CUDA backend times its nodes with events on its stream
    // and waits for each pass to finish, so profiled passes do not overlap. Null stops timing.
    // The default throws Error: a backend that cannot time its nodes says so.
    virtual void record_node_times(std::vector<double>* seconds);
    // Pipelined passes over a dataset: submit() starts a forward pass on `inputs` (graph outputs
    // only) and may return before it is done, so the caller can prepare the next batch while the
    // backend computes (the CUDA backend also copies that batch to the device meanwhile);
    // collect() waits for the oldest submitted pass and returns its outputs. At most two passes
    // may be in flight. The default runs forward() inside submit().
    virtual void submit(const std::vector<Tensor>& inputs);
    virtual std::vector<Tensor> collect();

private:
    std::deque<std::vector<Tensor>> finished_;  // the default submit()'s outputs, not yet collected
};

struct BackendOptions {
    int threads = 0;  // 0 = all cores
};

// "cpu" (reference FP32 engine), "cuda" (the GPU, src/kernels) or "auto" (cuda when this build
// has CUDA and a device is present, cpu otherwise). Throws Error for an unknown or unavailable
// backend (e.g. "cuda" without a device).
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& options = {});

}  // namespace xbarsim
