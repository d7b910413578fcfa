// Datasets stored as .npy: images memory-mapped (uint8, float32 or float64; NCHW, NHWC or
// N x H x W), labels loaded whole (any integer dtype, shape (N,)). Only the pages of the
// requested samples are touched, so datasets larger than memory stream from disk.
#include <cmath>
#include <optional>

#include "dataset_impl.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/npy.hpp"

namespace xbarsim::detail {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class NpyDataset final : public Dataset {
public:
    explicit NpyDataset(DatasetSpec spec) {
        const std::string& ipath = spec.images.at(0);
        if (ends_with(ipath, ".gz"))
            throw Error(ipath + ": npy images are memory-mapped and cannot be gzip-compressed; decompress the file "
                                "(gunzip) and name the .npy in " + spec.yaml_path);
        map_.emplace(ipath);
        const NpyHeader& h = map_->header();
        const bool dtype_ok = (h.kind == 'u' && h.item_size == 1) || h.kind == 'f';
        if (!dtype_ok)
            throw Error(ipath + ": images must be uint8, float32 or float64, got " + h.dtype_name() + " ('" + h.descr +
                        "')");
        const Shape& s = h.shape;
        nhwc_ = spec.layout == "NHWC";
        Shape chw;
        if (s.size() == 4)
            chw = nhwc_ ? Shape{s[3], s[1], s[2]} : Shape{s[1], s[2], s[3]};
        else if (s.size() == 3)
            chw = Shape{1, s[1], s[2]};
        else
            throw Error(ipath + ": images have shape " + shape_str(s) + "; expected (N, C, H, W) for layout NCHW, " +
                        "(N, H, W, C) for NHWC, or (N, H, W)");
        if (s.size() == 3) nhwc_ = false;  // one channel: both layouts are the same bytes
        const int64_t count = s[0];

        const NpyArray la = read_npy(spec.labels);
        if (la.shape().size() != 1)
            throw Error(spec.labels + ": labels must have shape (N,), got " + shape_str(la.shape()));
        const std::vector<int64_t> l = la.to_int64();
        check_label_count(la.size(), spec.labels, count, ipath);
        check_shape(spec, chw, ipath);
        check_count(spec, count, ipath);
        check_labels(spec, l.data(), la.size(), spec.labels);
        labels_.reserve(l.size());
        for (int64_t v : l) labels_.push_back(static_cast<int32_t>(v));

        info_ = std::move(spec.info);
        info_.sample_shape = chw;
        info_.count = count;
    }

    void read(int64_t first, int64_t n, float* samples, int32_t* labels) override {
        check_range(first, n);
        const int64_t e = sample_size();
        const NpyHeader& h = map_->header();
        if (!nhwc_) {
            npy_convert_to_float(h, map_->data() + static_cast<size_t>(first * e) * h.item_size,
                                 static_cast<size_t>(n * e), samples);
        } else {
            const int64_t C = info_.sample_shape[0], HW = info_.sample_shape[1] * info_.sample_shape[2];
            scratch_.resize(static_cast<size_t>(e));
            for (int64_t i = 0; i < n; ++i) {
                npy_convert_to_float(h, map_->data() + static_cast<size_t>((first + i) * e) * h.item_size,
                                     static_cast<size_t>(e), scratch_.data());
                float* out = samples + i * e;
                for (int64_t p = 0; p < HW; ++p)
                    for (int64_t c = 0; c < C; ++c) out[c * HW + p] = scratch_[static_cast<size_t>(p * C + c)];
            }
        }
        // Float images can hold NaN or infinities (uint8 ones cannot): a model fed those gives
        // arbitrary predictions, so they are an error naming the sample, not a lower accuracy.
        if (h.kind == 'f')
            for (int64_t i = 0; i < n * e; ++i)
                if (!std::isfinite(samples[i]))
                    throw Error(map_->path() + ": sample " + std::to_string(first + i / e) + " holds " +
                                (std::isnan(samples[i]) ? "NaN" : "an infinity") + " at element " + std::to_string(i % e));
        if (labels)
            for (int64_t i = 0; i < n; ++i) labels[i] = labels_[static_cast<size_t>(first + i)];
    }

private:
    std::optional<NpyMap> map_;
    bool nhwc_ = false;
    std::vector<int32_t> labels_;
    std::vector<float> scratch_;
};

}  // namespace

std::unique_ptr<Dataset> open_npy(DatasetSpec spec) { return std::make_unique<NpyDataset>(std::move(spec)); }

}  // namespace xbarsim::detail
