// cuda_rng_fill / cuda_rng_transform for builds without the CUDA toolkit (the CUDA build defines
// them in src/kernels/rng_check.cu).
#ifndef XBARSIM_HAVE_CUDA
#include "xbarsim/analog/rng_cuda.hpp"

namespace xbarsim {

bool cuda_rng_fill(const RngStream&, uint64_t, size_t, float*, float*, std::string* error) {
    if (error) *error = "CUDA not built";
    return false;
}

bool cuda_rng_transform(const uint32_t*, size_t, float*, float*, std::string* error) {
    if (error) *error = "CUDA not built";
    return false;
}

}  // namespace xbarsim
#endif
