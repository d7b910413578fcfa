#pragma once
// The CUDA backend (src/kernels/), behind the Backend interface of backend.hpp. make_backend()
// dispatches "cuda" and "auto" here. Builds without the CUDA toolkit compile stubs
// (src/host/cuda_backend_none.cpp) that throw a clear Error.
#include <cstdint>
#include <memory>
#include <vector>

#include "xbarsim/backend.hpp"

namespace xbarsim {

// Throws Error("no CUDA device found ...") when no device is usable, or "built without CUDA".
std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& options);

// Seconds per pass of the FP32 cuBLAS GEMMs `gemms` (random operands, TF32 off), averaged over
// `iters` timed passes after one warm-up: the GPU baseline of `xbarsim bench --backend cuda`.
double cuda_time_gemms(const std::vector<GemmShape>& gemms, int64_t iters);

}  // namespace xbarsim
