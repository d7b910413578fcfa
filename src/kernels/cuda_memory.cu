#include "cuda_memory.cuh"

#include "cuda_check.cuh"

namespace xbarsim::cuda {

namespace {
std::string mib(size_t bytes) { return std::to_string((bytes + (size_t{1} << 20) - 1) >> 20) + " MiB"; }
}  // namespace

std::pair<size_t, size_t> device_memory_info() {
    size_t free_bytes = 0, total_bytes = 0;
    XBARSIM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    return {free_bytes, total_bytes};
}

void* device_alloc(size_t bytes, const char* what) {
    if (bytes == 0) bytes = 1;  // a valid, distinct pointer for empty tensors
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaSuccess) return p;
    cudaGetLastError();  // an allocation failure is not sticky; clear it
    if (err == cudaErrorMemoryAllocation) {
        size_t free_bytes = 0, total_bytes = 0;
        cudaMemGetInfo(&free_bytes, &total_bytes);
        throw Error(std::string("CUDA out of memory: ") + what + " needs " + mib(bytes) + ", " + mib(free_bytes) +
                    " free of " + mib(total_bytes) + " (try a smaller --batch)");
    }
    throw_cuda_error(err, "cudaMalloc", __FILE__, __LINE__);
}

void device_free(void* p) noexcept {
    if (p) cudaFree(p);
}

PinnedBuffer::~PinnedBuffer() {
    if (p_) cudaFreeHost(p_);
}

float* PinnedBuffer::grow(size_t floats) {
    if (floats > n_) {
        if (p_) cudaFreeHost(p_);
        p_ = nullptr;
        n_ = 0;
        void* p = nullptr;
        XBARSIM_CUDA_CHECK(cudaMallocHost(&p, (floats > 0 ? floats : 1) * sizeof(float)));
        p_ = static_cast<float*>(p);
        n_ = floats;
    }
    return p_;
}

BufferPool::~BufferPool() { trim(); }

float* BufferPool::get(size_t floats, size_t* capacity) {
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); ++i)
        if (free_[i].floats >= floats && (best == free_.size() || free_[i].floats < free_[best].floats)) best = i;
    if (best < free_.size()) {
        const Block b = free_[best];
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
        *capacity = b.floats;
        return b.p;
    }
    // Cached buffers too small to use may be what fills the device: free them before giving up.
    void* p = nullptr;
    try {
        p = device_alloc(floats * sizeof(float), "an activation");
    } catch (const Error&) {
        if (free_.empty()) throw;
        XBARSIM_CUDA_CHECK(cudaDeviceSynchronize());  // kernels may still read the cached buffers
        trim();
        p = device_alloc(floats * sizeof(float), "an activation");
    }
    *capacity = floats;
    return static_cast<float*>(p);
}

void BufferPool::put(float* p, size_t capacity) {
    if (p) free_.push_back({p, capacity});
}

void BufferPool::trim() {
    for (const Block& b : free_) device_free(b.p);
    free_.clear();
}

size_t BufferPool::cached_bytes() const {
    size_t n = 0;
    for (const Block& b : free_) n += b.floats * sizeof(float);
    return n;
}

}  // namespace xbarsim::cuda
