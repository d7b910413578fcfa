// Data-movement ops of the CPU backend: Transpose, Concat, Pad.
#include <algorithm>
#include <cstring>

#include "cpu_ops.hpp"
#include "xbarsim/shape_inference.hpp"

namespace xbarsim::cpu {

namespace {

std::vector<int64_t> strides_of(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
    return st;
}

}  // namespace

void transpose(const Tensor& x, const NodeAttrs& at, Tensor& out) {
    const size_t rank = x.rank();
    const std::vector<int64_t>& perm = at.perm;  // resolved by the importer, checked by infer_shape
    const auto in_strides = strides_of(x.shape);
    std::vector<int64_t> src_stride(rank);  // input stride of each output dimension
    for (size_t i = 0; i < rank; ++i) src_stride[i] = in_strides[static_cast<size_t>(perm[i])];
    const int64_t total = out.size();
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < total; ++o) {
        int64_t rem = o, src = 0;
        for (size_t d = rank; d-- > 0;) {
            src += (rem % out.shape[d]) * src_stride[d];
            rem /= out.shape[d];
        }
        out.data[static_cast<size_t>(o)] = x.data[static_cast<size_t>(src)];
    }
}

void concat(const std::vector<const Tensor*>& xs, int64_t axis_attr, Tensor& out) {
    const auto axis = static_cast<size_t>(normalize_axis(axis_attr, static_cast<int64_t>(out.rank()), "Concat"));
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= out.shape[d];
    for (size_t d = axis + 1; d < out.rank(); ++d) inner *= out.shape[d];
    const int64_t out_row = out.shape[axis] * inner;
    int64_t offset = 0;
    for (const Tensor* x : xs) {
        const int64_t row = x->shape[axis] * inner;
        for (int64_t o = 0; o < outer; ++o)
            std::memcpy(out.ptr() + o * out_row + offset, x->ptr() + o * row, static_cast<size_t>(row) * sizeof(float));
        offset += row;
    }
}

void pad(const Tensor& x, const NodeAttrs& at, Tensor& out) {
    const size_t rank = x.rank();
    const auto in_strides = strides_of(x.shape);
    const int64_t total = out.size();
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < total; ++o) {
        int64_t rem = o, src = 0;
        bool outside = false;
        for (size_t d = rank; d-- > 0;) {
            const int64_t n = x.shape[d];
            int64_t i = rem % out.shape[d] - at.pad_amounts[d];  // negative pads crop
            rem /= out.shape[d];
            if (i < 0 || i >= n) {
                switch (at.pad_mode) {
                case PadMode::Constant: outside = true; break;
                case PadMode::Edge: i = std::clamp<int64_t>(i, 0, n - 1); break;
                case PadMode::Reflect: i = i < 0 ? -i : 2 * (n - 1) - i; break;
                }
            }
            src += i * in_strides[d];
        }
        out.data[static_cast<size_t>(o)] = outside ? at.pad_value : x.data[static_cast<size_t>(src)];
    }
}

}  // namespace xbarsim::cpu
