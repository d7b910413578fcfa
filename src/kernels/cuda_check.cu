#include "cuda_check.cuh"

namespace xbarsim::cuda {

namespace {
std::string where(const char* call, const char* file, int line) {
    return std::string(call) + " (" + file + ":" + std::to_string(line) + ")";
}
}  // namespace

void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
    const std::string msg = std::string("CUDA error: ") + cudaGetErrorString(err) + " in " + where(call, file, line);
    cudaGetLastError();  // clear a non-sticky error so later calls are not blamed for it
    throw Error(msg);
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
    throw Error(std::string("cuBLAS error: ") + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) +
                ") in " + where(call, file, line));
}

}  // namespace xbarsim::cuda
