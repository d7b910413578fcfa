// BatchStream: batches from a Dataset with one batch of read-ahead on a background thread.
#include "xbarsim/batch_stream.hpp"

#include <algorithm>

#include "xbarsim/error.hpp"

namespace xbarsim {

BatchStream::BatchStream(Dataset& dataset, const Preprocessor* preprocessor, const BatchStreamOptions& options)
    : dataset_(dataset),
      pre_(preprocessor),
      batch_size_(options.batch_size),
      offset_(options.offset),
      count_(0),
      prefetch_(options.prefetch) {
    const std::string what = "dataset '" + dataset.info().name + "'";
    if (batch_size_ <= 0) throw Error(what + ": batch size must be > 0, got " + std::to_string(batch_size_));
    if (offset_ < 0 || offset_ > dataset.size())
        throw Error(what + ": first sample " + std::to_string(offset_) + " is outside the dataset of " +
                    std::to_string(dataset.size()) + " samples");
    count_ = dataset.size() - offset_;
    if (options.limit > 0) count_ = std::min(count_, options.limit);
    if (pre_ && pre_->sample_shape() != dataset.info().sample_shape)
        throw Error(what + ": preprocessing was set up for samples of shape " + shape_str(pre_->sample_shape()) +
                    " but the dataset's samples have shape " + shape_str(dataset.info().sample_shape));
    start();
}

BatchStream::~BatchStream() { stop(); }

void BatchStream::fill(Batch& batch, int64_t index, bool parallel) {
    const Shape& s = dataset_.info().sample_shape;
    const int64_t first = offset_ + index * batch_size_;
    const int64_t n = std::min(batch_size_, offset_ + count_ - first);
    batch.x.shape = {n, s.at(0), s.at(1), s.at(2)};
    batch.x.data.resize(static_cast<size_t>(n * numel(s)));
    batch.labels.resize(static_cast<size_t>(n));
    batch.first = first;
    batch.index = index;
    dataset_.read(first, n, batch.x.data.data(), batch.labels.data());
    if (pre_) pre_->apply(batch.x.data.data(), n, parallel);
}

void BatchStream::worker() {
    const int64_t batches = num_batches();
    for (int64_t b = 0; b < batches; ++b) {
        Batch buf;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return stop_ || !ready_; });
            if (stop_) return;
            if (spare_) {
                buf = std::move(*spare_);
                spare_.reset();
            }
        }
        try {
            // Serial preprocessing: an OpenMP team here would compete with the compute threads.
            fill(buf, b, /*parallel=*/false);
        } catch (...) {
            std::lock_guard lock(mutex_);
            error_ = std::current_exception();
            done_ = true;
            cv_.notify_all();
            return;
        }
        std::lock_guard lock(mutex_);
        ready_ = std::move(buf);
        cv_.notify_all();
    }
    std::lock_guard lock(mutex_);
    done_ = true;  // next() still delivers a batch left in ready_ before reporting the end
    cv_.notify_all();
}

void BatchStream::start() {
    next_sync_ = 0;
    ready_.reset();
    stop_ = false;
    done_ = false;
    error_ = nullptr;
    if (prefetch_ && count_ > 0) thread_ = std::thread([this] { worker(); });
}

void BatchStream::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void BatchStream::rewind() {
    stop();
    start();
}

bool BatchStream::next(Batch& batch) {
    if (!prefetch_ || count_ == 0) {
        if (next_sync_ >= num_batches()) return false;
        fill(batch, next_sync_, /*parallel=*/true);
        ++next_sync_;
        return true;
    }
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return ready_.has_value() || done_; });
    if (ready_) {
        if (batch.x.data.capacity() > 0) spare_ = std::move(batch);
        batch = std::move(*ready_);
        ready_.reset();
        cv_.notify_all();
        return true;
    }
    if (error_) std::rethrow_exception(error_);
    return false;
}

}  // namespace xbarsim
