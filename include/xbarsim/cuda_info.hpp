#pragma once
// What CUDA support this build has and which devices it can see (`xbarsim devices`). Builds
// without nvcc compile a version that reports the backend as not built.
#include <cstddef>
#include <string>
#include <vector>

namespace xbarsim {

struct CudaDevice {
    int index = 0;
    std::string name;
    int compute_major = 0, compute_minor = 0;
    size_t memory_bytes = 0;
    int multiprocessors = 0;
};

struct CudaStatus {
    bool built = false;            // compiled with the CUDA toolkit
    int runtime_version = 0;       // e.g. 13000
    int driver_version = 0;        // 0 when no driver is installed
    std::vector<CudaDevice> devices;
    std::string note;              // why no device is usable, when none is
};

CudaStatus cuda_status();

}  // namespace xbarsim
