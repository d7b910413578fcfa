#pragma once
// The RNG of rng.hpp evaluated on the GPU, for checking host/device bit-identity
// (tests/test_rng.cpp). Both functions return false and say why in *error (when error is not
// null) if the build has no CUDA ("CUDA not built"), no device is present, or a CUDA call fails.
// Output pointers are host memory; either output may be null.
#include <stddef.h>
#include <stdint.h>

#include <string>

#include "xbarsim/analog/rng.hpp"

namespace xbarsim {

// out_uniform[i] = stream.uniform(first + i), out_normal[i] = stream.normal(first + i) (sample 0)
// for i < n, computed on the device: whole Philox blocks through uniform4/normal4, the partial
// blocks at either end element by element, so both device paths are exercised.
bool cuda_rng_fill(const RngStream& stream, uint64_t first, size_t n, float* out_uniform, float* out_normal,
                   std::string* error);

// out_uniform[i] = uniform_from_bits(words[i]), out_normal[i] = normal_from_bits(words[i]) on the
// device, to check the transforms on chosen words (edges, branch boundaries).
bool cuda_rng_transform(const uint32_t* words, size_t n, float* out_uniform, float* out_normal, std::string* error);

}  // namespace xbarsim
