#pragma once
// Dense float32 tensors in row-major (C) order. Activations are NCHW, dimension 0 is the batch.
#include <cstdint>
#include <string>
#include <vector>

namespace xbarsim {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar, i.e. an empty shape).
int64_t numel(const Shape& shape);

// "[1, 3, 32, 32]"
std::string shape_str(const Shape& shape);

struct Tensor {
    Shape shape;
    std::vector<float> data;

    Tensor() = default;
    explicit Tensor(Shape s) : shape(std::move(s)), data(static_cast<size_t>(numel(shape)), 0.0f) {}
    Tensor(Shape s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}

    int64_t size() const { return static_cast<int64_t>(data.size()); }
    int64_t dim(size_t i) const { return shape.at(i); }
    size_t rank() const { return shape.size(); }
    float* ptr() { return data.data(); }
    const float* ptr() const { return data.data(); }
};

}  // namespace xbarsim
