// Device discovery through the CUDA runtime. Never fails: a machine without a driver or GPU is
// reported as such, so the same binary runs in CI and on GPU machines.
#include <cuda_runtime.h>

#include "xbarsim/cuda_info.hpp"

namespace xbarsim {

CudaStatus cuda_status() {
    CudaStatus s;
    s.built = true;
    cudaRuntimeGetVersion(&s.runtime_version);
    cudaDriverGetVersion(&s.driver_version);
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        s.note = cudaGetErrorString(err);
        cudaGetLastError();  // clear the sticky error for later callers
        return s;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
        CudaDevice d;
        d.index = i;
        d.name = p.name;
        d.compute_major = p.major;
        d.compute_minor = p.minor;
        d.memory_bytes = p.totalGlobalMem;
        d.multiprocessors = p.multiProcessorCount;
        s.devices.push_back(d);
    }
    if (s.devices.empty()) s.note = "no CUDA device found";
    return s;
}

}  // namespace xbarsim
