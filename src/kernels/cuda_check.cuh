#pragma once
// Error checking for every CUDA runtime and cuBLAS call of the CUDA backend: a failure becomes an
// xbarsim::Error naming the call, the file:line and the library's own message, so nothing fails
// silently and the CLI prints one clear line.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "xbarsim/error.hpp"

namespace xbarsim::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);

// Threads per block of the element-wise kernels, and the grid that covers `work` items with a
// grid-stride loop (capped: every kernel loops over the rest).
inline constexpr unsigned kThreads = 256;
inline unsigned grid_for(int64_t work) {
    const int64_t blocks = (work + kThreads - 1) / kThreads;
    return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

}  // namespace xbarsim::cuda

#define XBARSIM_CUDA_CHECK(call)                                                                  \
    do {                                                                                          \
        const cudaError_t xbarsim_err_ = (call);                                                  \
        if (xbarsim_err_ != cudaSuccess) ::xbarsim::cuda::throw_cuda_error(xbarsim_err_, #call, __FILE__, __LINE__); \
    } while (0)

#define XBARSIM_CUBLAS_CHECK(call)                                                                \
    do {                                                                                          \
        const cublasStatus_t xbarsim_st_ = (call);                                                \
        if (xbarsim_st_ != CUBLAS_STATUS_SUCCESS) ::xbarsim::cuda::throw_cublas_error(xbarsim_st_, #call, __FILE__, __LINE__); \
    } while (0)

// After a kernel launch: launch-configuration errors surface here; faults inside the kernel
// surface at the next synchronizing call, which is checked too.
#define XBARSIM_CUDA_LAUNCH_CHECK() XBARSIM_CUDA_CHECK(cudaGetLastError())
