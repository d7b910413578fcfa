// cuda_status() for builds without the CUDA toolkit (the CUDA build defines it in src/kernels).
#ifndef XBARSIM_HAVE_CUDA
#include "xbarsim/cuda_info.hpp"

namespace xbarsim {

CudaStatus cuda_status() {
    CudaStatus s;
    s.note = "this build has no CUDA support (nvcc was not found at configure time)";
    return s;
}

}  // namespace xbarsim
#endif
