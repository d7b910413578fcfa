#pragma once
// Output shapes of every op, from input shapes. Used at import (with the declared batch) and by
// backends at run time (with the actual batch), so both always agree.
#include <array>
#include <vector>

#include "xbarsim/graph.hpp"

namespace xbarsim {

// Resolved 2-D window geometry of a Conv or pooling node for a given input height/width.
struct WindowGeometry {
    int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
    int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
    int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};
WindowGeometry window_geometry(const NodeAttrs& attrs, int64_t in_h, int64_t in_w);

// Output shape of `node` given its runtime input shapes (constants included, in input order).
// `import_batch` is the batch the model was exported with (for Reshape targets that spell it).
// Throws Error naming the node when the shapes are incompatible.
Shape infer_shape(const Node& node, const std::vector<Shape>& inputs, int64_t import_batch = 1);

// Numpy broadcasting of two shapes; throws Error naming `node_name` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& node_name);

// A numpy-style MatMul of operands shaped `a` and `b` (vectors promoted, batch dimensions
// broadcast): the matrix sizes, and for output matrix i the index of its A and B matrices.
struct MatMulLayout {
    int64_t m = 0, k = 0, n = 0;
    std::vector<std::pair<int64_t, int64_t>> operands;  // per output matrix: (A matrix, B matrix)
};
MatMulLayout matmul_layout(const Shape& a, const Shape& b);

// Normalizes a possibly negative axis against `rank`; throws naming the node when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& node_name);

}  // namespace xbarsim
