#pragma once
// Device and pinned host memory for the CUDA backend: owning buffers that turn an allocation
// failure into an xbarsim::Error saying how much was asked for and how much is free, and a pool
// of activation buffers reused across layers and forward passes (like the CPU backend's).
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace xbarsim::cuda {

// Free and total device memory in bytes (cudaMemGetInfo).
std::pair<size_t, size_t> device_memory_info();

// cudaMalloc of `bytes`; throws Error("CUDA out of memory ...") naming `what`, needed and free.
void* device_alloc(size_t bytes, const char* what);
void device_free(void* p) noexcept;

// An owning device array of T, grow-only (contents are not preserved by grow()).
template <class T>
class DeviceArray {
public:
    DeviceArray() = default;
    explicit DeviceArray(size_t n, const char* what = "device buffer") { grow(n, what); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    DeviceArray(DeviceArray&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    DeviceArray& operator=(DeviceArray&& o) noexcept {
        if (this != &o) {
            device_free(p_);
            p_ = std::exchange(o.p_, nullptr);
            n_ = std::exchange(o.n_, 0);
        }
        return *this;
    }
    ~DeviceArray() { device_free(p_); }

    // Ensures room for n elements; returns the pointer.
    T* grow(size_t n, const char* what = "device buffer") {
        if (n > n_) {
            device_free(p_);
            p_ = nullptr;
            n_ = 0;
            p_ = static_cast<T*>(device_alloc(n * sizeof(T), what));
            n_ = n;
        }
        return p_;
    }
    T* get() const { return p_; }
    size_t size() const { return n_; }

private:
    T* p_ = nullptr;
    size_t n_ = 0;
};

// Page-locked host memory, so that host<->device copies are true asynchronous DMA.
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    ~PinnedBuffer();
    float* grow(size_t floats);
    float* get() const { return p_; }

private:
    float* p_ = nullptr;
    size_t n_ = 0;
};

// Activation buffers: get() hands out the smallest free buffer that is large enough, or
// allocates one (after freeing every cached buffer if the device is full); put() returns a
// buffer for reuse. All work runs on one stream, so a buffer put back after the kernels that read
// it were enqueued may be handed to later kernels of the same stream safely.
class BufferPool {
public:
    BufferPool() = default;
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;
    ~BufferPool();
    float* get(size_t floats, size_t* capacity);
    void put(float* p, size_t capacity);
    void trim();  // frees every cached buffer
    size_t cached_bytes() const;

private:
    struct Block {
        float* p;
        size_t floats;
    };
    std::vector<Block> free_;
};

}  // namespace xbarsim::cuda
