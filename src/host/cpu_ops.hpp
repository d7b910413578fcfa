#pragma once
// FP32 reference implementations of every op, used by the CPU backend. Each function computes
// `out` (already shaped by infer_shape) from its inputs; heavy ops go through cpu_sgemm.
#include <vector>

#include "xbarsim/analog/conv_columns.hpp"
#include "xbarsim/backend.hpp"
#include "xbarsim/elementwise_math.hpp"
#include "xbarsim/graph.hpp"

namespace xbarsim::cpu {

// Row-major C[M×N] = alpha·op(A)·op(B) + beta·C via OpenBLAS; appends to `log` when non-null.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc, std::vector<GemmShape>* log);
// The same in double: the analog arrays' column sums (ARCHITECTURE: the sum is exact in analog; in
// double it is independent of the summation order, so every backend converts the same value).
void dgemm(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc);

// Scratch memory reused across ops and forward passes (grow-only), so that large im2col buffers
// are not allocated, page-faulted and freed for every layer.
class Workspace {
public:
    float* get(size_t slot, size_t floats) { return grow(buffers_, slot, floats); }
    double* get_double(size_t slot, size_t doubles) { return grow(doubles_, slot, doubles); }
    // A convolution's padded input, refilled per layer: in double for analog layers that read it
    // in place, in float for digital ones.
    analog::ConvColumns& conv_columns() { return conv_columns_; }
    analog::FloatConvColumns& float_conv_columns() { return float_conv_columns_; }

private:
    template <class T>
    static T* grow(std::vector<std::vector<T>>& slots, size_t slot, size_t count) {
        if (slots.size() <= slot) slots.resize(slot + 1);
        if (slots[slot].size() < count) slots[slot].resize(count);
        return slots[slot].data();
    }

    std::vector<std::vector<float>> buffers_;
    std::vector<std::vector<double>> doubles_;
    analog::ConvColumns conv_columns_;
    analog::FloatConvColumns float_conv_columns_;
};

// What a matrix-product or binary op applies to each output: a fused Relu/Clip (shared with
// the CUDA backend, xbarsim/elementwise_math.hpp).
using Epilogue = ew::ClampEpilogue;

// Computes out [n x m] = W_group . cols [k x m] for one Conv group (or a Linear layer, group 0)
// in place of the digital GEMM: the analog layers implement it.
class GroupProduct {
public:
    virtual ~GroupProduct() = default;
    // `first_column`: global index of column 0 (see AnalogMatrix::mvm_quantized).
    virtual void multiply(int64_t group, const float* cols, int64_t m, float* out, uint64_t first_column) = 0;
    // True when multiply_double() is available for this layer: conv2d then unrolls the input
    // straight into double columns (the precision of the analog array sums).
    virtual bool takes_double_columns() const { return false; }
    virtual void multiply_double(int64_t group, const double* cols, int64_t m, float* out, uint64_t first_column);
    // The same with a convolution's input read in place (no unrolled matrix at all), where
    // takes_conv_columns() and analog::ConvColumns::supported().
    virtual bool takes_conv_columns() const { return false; }
    virtual void multiply_conv(int64_t group, const analog::ConvColumns& cols, float* out, uint64_t first_column);
    // Fills `cols` with the columns of x (raw layer input) that multiply_conv() takes: through
    // transform_input()'s transform, in the same pass as the padding copy.
    virtual void fill_conv_columns(const analog::ConvInput& x, analog::ConvColumns& cols) const;
    // An element-wise transform of the op's input applied before im2col (the analog DAC), or
    // null for none. The result has the input's size and stays valid until the next call.
    virtual const float* transform_input(const Tensor& x) { (void)x; return nullptr; }
};

// How an MVM op computes its products and who watches its inputs (both optional).
struct MvmHooks {
    GroupProduct* product = nullptr;   // null: digital GEMM with the weights
    MvmObserver* observer = nullptr;
    size_t node = 0;                   // node index, for the observer
    uint64_t sample_base = 0;          // index of the batch's first sample since programming
};

void conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const NodeAttrs& attrs, Tensor& out,
            Workspace& ws, std::vector<GemmShape>* log, Epilogue epilogue = {}, const MvmHooks& hooks = {});
void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out, Workspace& ws,
            std::vector<GemmShape>* log, Epilogue epilogue = {}, const MvmHooks& hooks = {});
void matmul(const Tensor& a, const Tensor& b, Tensor& out, std::vector<GemmShape>* log);
void gemm(const Tensor& a, const Tensor& b, const Tensor* c, const NodeAttrs& attrs, Tensor& out,
          std::vector<GemmShape>* log);

// out = a op b with numpy broadcasting; a fused Relu/Clip (`ep`) clamps the result.
void binary(OpType op, const Tensor& a, const Tensor& b, Tensor& out, Epilogue ep = {});
void unary(OpType op, const NodeAttrs& attrs, const Tensor& x, Tensor& out);
void batchnorm(const Tensor& x, const Tensor& scale, const Tensor& shift, Tensor& out);

void max_pool(const Tensor& x, const NodeAttrs& attrs, Tensor& out);
void average_pool(const Tensor& x, const NodeAttrs& attrs, Tensor& out);
void global_average_pool(const Tensor& x, Tensor& out);

void transpose(const Tensor& x, const NodeAttrs& attrs, Tensor& out);
void concat(const std::vector<const Tensor*>& xs, int64_t axis, Tensor& out);
void softmax(const Tensor& x, const NodeAttrs& attrs, const std::string& node_name, Tensor& out);
void pad(const Tensor& x, const NodeAttrs& attrs, Tensor& out);

}  // namespace xbarsim::cpu
