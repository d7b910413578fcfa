// CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32,
// i.e. CHW), no header. One or several files (optionally gzip-compressed), concatenated in
// order and loaded whole.
#include "dataset_impl.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::detail {

namespace {

constexpr int64_t kC = 3, kH = 32, kW = 32;
constexpr size_t kPixels = static_cast<size_t>(kC * kH * kW);  // 3072
constexpr size_t kRecord = 1 + kPixels;                          // 3073

class CifarDataset final : public Dataset {
public:
    explicit CifarDataset(DatasetSpec spec) {
        const Shape shape{kC, kH, kW};
        for (const std::string& path : spec.images) {
            std::vector<uint8_t> bytes = read_file_maybe_gz(path);
            if (bytes.empty() || bytes.size() % kRecord != 0)
                throw Error(path + ": " + std::to_string(bytes.size()) +
                            " bytes (after decompression) is not a positive multiple of the 3073-byte CIFAR-10 "
                            "record (1 label byte + 3x32x32 pixels); the file is truncated or not CIFAR-10 binary");
            check_shape(spec, shape, path);
            const int64_t n = static_cast<int64_t>(bytes.size() / kRecord);
            std::vector<int64_t> l(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i) l[static_cast<size_t>(i)] = bytes[static_cast<size_t>(i) * kRecord];
            check_labels(spec, l.data(), n, path, "label of record");
            if (records_.empty())
                records_ = std::move(bytes);
            else
                records_.insert(records_.end(), bytes.begin(), bytes.end());
        }
        const int64_t count = static_cast<int64_t>(records_.size() / kRecord);
        std::string what = spec.images[0];
        if (spec.images.size() > 1) what = "the " + std::to_string(spec.images.size()) + " files of key 'images'";
        check_count(spec, count, what);

        info_ = std::move(spec.info);
        info_.sample_shape = shape;
        info_.count = count;
    }

    void read(int64_t first, int64_t n, float* samples, int32_t* labels) override {
        check_range(first, n);
        for (int64_t i = 0; i < n; ++i) {
            const uint8_t* rec = records_.data() + static_cast<size_t>(first + i) * kRecord;
            float* out = samples + static_cast<size_t>(i) * kPixels;
            for (size_t k = 0; k < kPixels; ++k) out[k] = rec[1 + k];
            if (labels) labels[i] = rec[0];
        }
    }

private:
    std::vector<uint8_t> records_;
};

}  // namespace

std::unique_ptr<Dataset> open_cifar10_bin(DatasetSpec spec) { return std::make_unique<CifarDataset>(std::move(spec)); }

}  // namespace xbarsim::detail
