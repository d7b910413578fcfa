// The RNG of rng.hpp run on the device, for the host/device bit-identity tests. Never throws and
// never aborts: a machine without a driver or GPU gets false and a message.
#include <cuda_runtime.h>

#include <string>

#include "xbarsim/analog/rng.hpp"
#include "xbarsim/analog/rng_cuda.hpp"

namespace xbarsim {
namespace {

// One thread per Philox block: whole blocks use the 4-wide path, blocks cut by the ends of
// [first, first + n) the scalar one.
__global__ void rng_fill_kernel(RngStream stream, uint64_t first, uint64_t n, uint64_t first_block,
                                uint64_t blocks, float* out_u, float* out_z) {
    const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
    for (uint64_t t = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < blocks; t += stride) {
        const uint64_t block = first_block + t;
        const uint64_t e0 = block * 4;
        if (e0 >= first && e0 + 4 <= first + n) {
            const Float4 u = stream.uniform4(block);
            const Float4 z = stream.normal4(block);
            for (int l = 0; l < 4; ++l) {
                out_u[e0 - first + l] = u.v[l];
                out_z[e0 - first + l] = z.v[l];
            }
        } else {
            for (uint64_t e = e0; e < e0 + 4; ++e) {
                if (e < first || e >= first + n) continue;
                out_u[e - first] = stream.uniform(e);
                out_z[e - first] = stream.normal(e);
            }
        }
    }
}

__global__ void rng_transform_kernel(const uint32_t* words, uint64_t n, float* out_u, float* out_z) {
    const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
    for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        out_u[i] = uniform_from_bits(words[i]);
        out_z[i] = normal_from_bits(words[i]);
    }
}

// Device buffer freed on scope exit.
struct DeviceBuffer {
    void* p = nullptr;
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer() {
        if (p) cudaFree(p);
    }
};

bool fail(std::string* error, const char* what, cudaError_t err) {
    if (error) *error = std::string(what) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear a sticky error for later callers
    return false;
}

bool have_device(std::string* error) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return fail(error, "no CUDA device", err);
    if (count == 0) {
        if (error) *error = "no CUDA device found";
        return false;
    }
    return true;
}

unsigned grid_for(uint64_t work, unsigned threads) {
    const uint64_t g = (work + threads - 1) / threads;
    return static_cast<unsigned>(g < 65535 ? (g > 0 ? g : 1) : 65535);
}

// Copies the two device outputs back to the (nullable) host pointers.
bool copy_back(const DeviceBuffer& du, const DeviceBuffer& dz, size_t n, float* out_u, float* out_z,
               std::string* error) {
    cudaError_t err = cudaDeviceSynchronize();
    if (err != cudaSuccess) return fail(error, "rng kernel", err);
    if (out_u && (err = cudaMemcpy(out_u, du.p, n * sizeof(float), cudaMemcpyDeviceToHost)) != cudaSuccess)
        return fail(error, "cudaMemcpy", err);
    if (out_z && (err = cudaMemcpy(out_z, dz.p, n * sizeof(float), cudaMemcpyDeviceToHost)) != cudaSuccess)
        return fail(error, "cudaMemcpy", err);
    return true;
}

}  // namespace

bool cuda_rng_fill(const RngStream& stream, uint64_t first, size_t n, float* out_uniform, float* out_normal,
                   std::string* error) {
    if (!have_device(error)) return false;
    if (n == 0) return true;
    DeviceBuffer du, dz;
    cudaError_t err;
    if ((err = cudaMalloc(&du.p, n * sizeof(float))) != cudaSuccess) return fail(error, "cudaMalloc", err);
    if ((err = cudaMalloc(&dz.p, n * sizeof(float))) != cudaSuccess) return fail(error, "cudaMalloc", err);
    const uint64_t first_block = first / 4;
    const uint64_t blocks = (first + n + 3) / 4 - first_block;
    constexpr unsigned kThreads = 256;
    rng_fill_kernel<<<grid_for(blocks, kThreads), kThreads>>>(stream, first, n, first_block, blocks,
                                                              static_cast<float*>(du.p), static_cast<float*>(dz.p));
    if ((err = cudaGetLastError()) != cudaSuccess) return fail(error, "rng_fill_kernel launch", err);
    return copy_back(du, dz, n, out_uniform, out_normal, error);
}

bool cuda_rng_transform(const uint32_t* words, size_t n, float* out_uniform, float* out_normal, std::string* error) {
    if (!have_device(error)) return false;
    if (n == 0) return true;
    DeviceBuffer dw, du, dz;
    cudaError_t err;
    if ((err = cudaMalloc(&dw.p, n * sizeof(uint32_t))) != cudaSuccess) return fail(error, "cudaMalloc", err);
    if ((err = cudaMalloc(&du.p, n * sizeof(float))) != cudaSuccess) return fail(error, "cudaMalloc", err);
    if ((err = cudaMalloc(&dz.p, n * sizeof(float))) != cudaSuccess) return fail(error, "cudaMalloc", err);
    if ((err = cudaMemcpy(dw.p, words, n * sizeof(uint32_t), cudaMemcpyHostToDevice)) != cudaSuccess)
        return fail(error, "cudaMemcpy", err);
    constexpr unsigned kThreads = 256;
    rng_transform_kernel<<<grid_for(n, kThreads), kThreads>>>(static_cast<const uint32_t*>(dw.p), n,
                                                             static_cast<float*>(du.p), static_cast<float*>(dz.p));
    if ((err = cudaGetLastError()) != cudaSuccess) return fail(error, "rng_transform_kernel launch", err);
    return copy_back(du, dz, n, out_uniform, out_normal, error);
}

}  // namespace xbarsim
