// The GPU baseline of `xbarsim bench --backend cuda`: the digital network's GEMMs alone, as
// plain FP32 cuBLAS calls of the same shapes on random operands.
#include <cuda_runtime.h>

#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "cuda_check.cuh"
#include "cuda_memory.cuh"
#include "cuda_ops.cuh"
#include "xbarsim/cuda_backend.hpp"

namespace xbarsim {

double cuda_time_gemms(const std::vector<GemmShape>& gemms, int64_t iters) {
    if (iters < 1) throw Error("cuda_time_gemms: iters must be at least 1");
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    // Releases the CUDA objects on every exit path.
    struct Cleanup {
        cudaStream_t& stream;
        cublasHandle_t& blas;
        cudaEvent_t &start, &stop;
        ~Cleanup() {
            if (stream) cudaStreamSynchronize(stream);
            if (start) cudaEventDestroy(start);
            if (stop) cudaEventDestroy(stop);
            if (blas) cublasDestroy(blas);
            if (stream) cudaStreamDestroy(stream);
        }
    } cleanup{stream, blas, start, stop};
    XBARSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    XBARSIM_CUBLAS_CHECK(cublasCreate(&blas));
    XBARSIM_CUBLAS_CHECK(cublasSetStream(blas, stream));
    XBARSIM_CUBLAS_CHECK(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH));
    XBARSIM_CUDA_CHECK(cudaEventCreate(&start));
    XBARSIM_CUDA_CHECK(cudaEventCreate(&stop));
    cuda::Context ctx;
    ctx.stream = stream;
    ctx.blas = blas;

    // One set of operands per distinct shape, filled with random values from the host.
    std::map<std::tuple<int64_t, int64_t, int64_t>, std::vector<cuda::DeviceArray<float>>> operands;
    std::mt19937 rng(12345);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (const auto& g : gemms) {
        auto& ops = operands[{g.m, g.n, g.k}];
        if (!ops.empty()) continue;
        const size_t sizes[3] = {static_cast<size_t>(g.m * g.k), static_cast<size_t>(g.k * g.n), static_cast<size_t>(g.m * g.n)};
        for (size_t s : sizes) {
            ops.emplace_back(s, "benchmark GEMM operands");
            std::vector<float> host(s);
            for (auto& v : host) v = dist(rng);
            XBARSIM_CUDA_CHECK(cudaMemcpy(ops.back().get(), host.data(), s * sizeof(float), cudaMemcpyHostToDevice));
        }
    }
    auto run_all = [&] {
        for (const auto& g : gemms) {
            auto& ops = operands[{g.m, g.n, g.k}];
            cuda::sgemm(ctx, false, false, g.m, g.n, g.k, 1.0f, ops[0].get(), g.k, ops[1].get(), g.n, 0.0f, ops[2].get(), g.n);
        }
    };
    run_all();  // warm-up (cuBLAS heuristics, clocks)
    XBARSIM_CUDA_CHECK(cudaEventRecord(start, stream));
    for (int64_t i = 0; i < iters; ++i) run_all();
    XBARSIM_CUDA_CHECK(cudaEventRecord(stop, stream));
    XBARSIM_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    XBARSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return static_cast<double>(ms) * 1e-3 / static_cast<double>(iters);
}

}  // namespace xbarsim
