// make_cuda_backend / cuda_time_gemms for builds without the CUDA toolkit (the CUDA build
// defines them in src/kernels).
#ifndef XBARSIM_HAVE_CUDA
#include "xbarsim/cuda_backend.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim {

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions&) {
    throw Error("backend 'cuda': this xbarsim was built without CUDA (nvcc was not found at configure time; "
                "rebuild with the CUDA toolkit, -DXBARSIM_CUDA=ON)");
}

double cuda_time_gemms(const std::vector<GemmShape>&, int64_t) {
    throw Error("backend 'cuda': this xbarsim was built without CUDA");
}

}  // namespace xbarsim
#endif
