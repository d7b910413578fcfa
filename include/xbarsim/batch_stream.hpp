#pragma once
// Iterates over a Dataset in batches, applying a Preprocessor, with the next batch read and
// preprocessed on a background thread while the caller computes on the current one (double
// buffering: one batch in the caller's hands, one being prepared).
//
//     BatchStream stream(dataset, &preprocessor, {.batch_size = 128, .limit = 1000});
//     Batch b;
//     while (stream.next(b)) { run(b.x); score(b.labels); }
//
// Exceptions thrown while reading (I/O errors, bad data) are rethrown by next() in the caller,
// after the batches completed before the failure have been delivered. The destructor stops and
// joins the thread. While a stream is alive it owns the Dataset's reader: do not call
// dataset.read() concurrently from elsewhere.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "xbarsim/dataset.hpp"
#include "xbarsim/preprocess.hpp"
#include "xbarsim/tensor.hpp"

namespace xbarsim {

struct Batch {
    Tensor x;                     // [b, C, H, W], preprocessed
    std::vector<int32_t> labels;  // b labels
    int64_t first = 0;            // dataset index of the first sample
    int64_t index = 0;            // batch number, 0-based
    int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

struct BatchStreamOptions {
    int64_t batch_size = 64;  // samples per batch (> 0); the last batch may be shorter
    int64_t limit = -1;       // use at most this many samples (<= 0: all); clipped to what is there
    int64_t offset = 0;       // index of the first sample used (e.g. to skip calibration images)
    bool prefetch = true;     // false: read synchronously inside next() (no thread)
};

class BatchStream {
public:
    // `preprocessor` may be null (raw values); when given, its sample shape must equal the
    // dataset's. Both `dataset` and `preprocessor` must outlive the stream.
    BatchStream(Dataset& dataset, const Preprocessor* preprocessor, const BatchStreamOptions& options = {});
    ~BatchStream();
    BatchStream(const BatchStream&) = delete;
    BatchStream& operator=(const BatchStream&) = delete;

    // Fills `batch` with the next batch and returns true, or returns false at the end. The
    // previous contents of `batch` are recycled as a buffer for a later batch, so do not keep
    // pointers into them across calls. Rethrows a reader error.
    bool next(Batch& batch);

    // Starts again from the first batch (e.g. for the next Monte Carlo trial).
    void rewind();

    int64_t num_samples() const { return count_; }
    int64_t num_batches() const { return (count_ + batch_size_ - 1) / batch_size_; }
    int64_t batch_size() const { return batch_size_; }
    int64_t first_sample() const { return offset_; }

private:
    void fill(Batch& batch, int64_t index, bool parallel);
    void start();
    void stop();
    void worker();

    Dataset& dataset_;
    const Preprocessor* pre_;
    int64_t batch_size_;
    int64_t offset_;
    int64_t count_;
    bool prefetch_;

    int64_t next_sync_ = 0;  // next batch index in synchronous mode

    std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<Batch> ready_;  // produced, not yet taken
    std::optional<Batch> spare_;  // buffers handed back by the caller, reused by the worker
    bool stop_ = false;
    bool done_ = false;
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace xbarsim
