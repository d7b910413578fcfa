// MNIST-style IDX files (optionally gzip-compressed), loaded whole: images magic 2051
// (0x00000803: uint8, 3 dims N x H x W, big-endian uint32 header), labels magic 2049
// (0x00000801: uint8, 1 dim N). Samples are delivered as [1, H, W].
#include <cstdio>

#include "dataset_impl.hpp"
#include "xbarsim/error.hpp"

namespace xbarsim::detail {

namespace {

uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

// Checks the magic and the size of an IDX file; returns its dimensions.
std::vector<int64_t> parse_idx(const std::string& path, const std::vector<uint8_t>& bytes, uint32_t magic,
                               const char* kind) {
    if (bytes.size() < 4) throw Error(path + ": not an IDX " + kind + " file (only " + std::to_string(bytes.size()) + " bytes)");
    const uint32_t m = be32(bytes.data());
    if (m != magic) {
        std::string hint;
        if (m == 0x801) hint = "; this is an IDX label file";
        if (m == 0x803) hint = "; this is an IDX image file";
        throw Error(path + ": not an IDX " + kind + " file (magic " + hex(m) + " = " + std::to_string(m) + ", expected " +
                    hex(magic) + " = " + std::to_string(magic) + hint + ")");
    }
    const size_t ndim = magic & 0xff;
    const size_t head = 4 + 4 * ndim;
    if (bytes.size() < head) throw Error(path + ": file truncated inside the IDX header");
    std::vector<int64_t> dims;
    int64_t total = 1;
    std::string text;
    for (size_t i = 0; i < ndim; ++i) {
        dims.push_back(be32(bytes.data() + 4 + 4 * i));
        text += (i ? " x " : "") + std::to_string(dims.back());
        // Past 2^40 bytes the header cannot describe a real file; stop before the product wraps.
        if (total > 0 && dims.back() > (int64_t{1} << 40) / total) total = int64_t{1} << 41;
        else total *= dims.back();
    }
    if (total > (int64_t{1} << 40))
        throw Error(path + ": header says " + text + " uint8, more than 2^40 bytes; the file holds " +
                    std::to_string(bytes.size() - head));
    const size_t have = bytes.size() - head;
    if (have < static_cast<size_t>(total))
        throw Error(path + ": file truncated: header says " + text + " uint8 (" + std::to_string(total) +
                    " bytes) but only " + std::to_string(have) + " bytes of data");
    if (have > static_cast<size_t>(total))
        throw Error(path + ": file has " + std::to_string(have) + " bytes of data but the header says " + text +
                    " uint8 (" + std::to_string(total) + " bytes)");
    return dims;
}

class IdxDataset final : public Dataset {
public:
    explicit IdxDataset(DatasetSpec spec) {
        const std::string& ipath = spec.images.at(0);
        images_ = read_file_maybe_gz(ipath);
        const auto d = parse_idx(ipath, images_, 0x803, "image");
        const std::vector<uint8_t> lbytes = read_file_maybe_gz(spec.labels);
        const auto ld = parse_idx(spec.labels, lbytes, 0x801, "label");
        check_label_count(ld[0], spec.labels, d[0], ipath);
        check_shape(spec, Shape{1, d[1], d[2]}, ipath);
        check_count(spec, d[0], ipath);
        std::vector<int64_t> l(lbytes.begin() + 8, lbytes.end());
        check_labels(spec, l.data(), static_cast<int64_t>(l.size()), spec.labels);
        labels_.reserve(l.size());
        for (int64_t v : l) labels_.push_back(static_cast<int32_t>(v));
        images_.erase(images_.begin(), images_.begin() + 16);
        images_.shrink_to_fit();

        info_ = std::move(spec.info);
        info_.sample_shape = {1, d[1], d[2]};
        info_.count = d[0];
    }

    void read(int64_t first, int64_t n, float* samples, int32_t* labels) override {
        check_range(first, n);
        const size_t e = static_cast<size_t>(sample_size());
        const uint8_t* src = images_.data() + static_cast<size_t>(first) * e;
        for (size_t i = 0, m = static_cast<size_t>(n) * e; i < m; ++i) samples[i] = src[i];
        if (labels)
            for (int64_t i = 0; i < n; ++i) labels[i] = labels_[static_cast<size_t>(first + i)];
    }

private:
    std::vector<uint8_t> images_;  // N*H*W pixels
    std::vector<int32_t> labels_;
};

}  // namespace

std::unique_ptr<Dataset> open_idx(DatasetSpec spec) { return std::make_unique<IdxDataset>(std::move(spec)); }

}  // namespace xbarsim::detail
