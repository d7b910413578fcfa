#pragma once
// Matrix-product ops of the CUDA backend (Conv, Linear, MatMul, Gemm) on device tensors,
// mirroring src/host/cpu_gemm.cpp, with the analog layer and the MVM observer as hooks.
#include <cstdint>

#include "cuda_analog_layer.cuh"
#include "cuda_memory.cuh"
#include "cuda_ops.cuh"

namespace xbarsim::cuda {

// A device tensor: shape and a pointer (an activation from the pool, or an uploaded constant).
struct DeviceTensor {
    Shape shape;
    float* data = nullptr;
    size_t capacity = 0;  // floats, for pooled activations (0: not pooled)
    int64_t size() const { return numel(shape); }
    int64_t dim(size_t i) const { return shape.at(i); }
};

// Scratch memory of the matrix-product ops, grow-only and reused across layers and passes.
// `budget_bytes` bounds the column buffers: batches are processed in chunks of samples that fit.
struct Workspace {
    size_t budget_bytes = size_t{256} << 20;
    DeviceArray<float> cols, prod, xq;
    PinnedBuffer host_cols;  // observer copies
};

struct MvmHooks {
    AnalogLayer* analog = nullptr;     // null: digital GEMM with the weights
    MvmObserver* observer = nullptr;   // sees the input columns (copied to the host)
    size_t node = 0;
    uint64_t sample_base = 0;          // index of the batch's first sample since programming
    int64_t chips = 1;                 // chip instances side by side: the batch is chips x samples,
                                       // chip-major, and chip i's samples run on analog chip i
};

void conv2d(const Context& ctx, const DeviceTensor& x, const DeviceTensor& w, const DeviceTensor* bias,
            const NodeAttrs& attrs, DeviceTensor& out, Workspace& ws, Epilogue ep, const MvmHooks& hooks);
void linear(const Context& ctx, const DeviceTensor& x, const DeviceTensor& w, const DeviceTensor* bias, DeviceTensor& out,
            Workspace& ws, Epilogue ep, const MvmHooks& hooks);
void matmul(const Context& ctx, const DeviceTensor& a, const DeviceTensor& b, DeviceTensor& out);
void gemm(const Context& ctx, const DeviceTensor& a, const DeviceTensor& b, const DeviceTensor* c, const NodeAttrs& attrs,
          DeviceTensor& out);

}  // namespace xbarsim::cuda
