// open_dataset: strict parsing of dataset.yaml and dispatch to the format readers
// (dataset_idx.cpp, dataset_cifar.cpp, dataset_npy.cpp), plus the checks they share.
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "dataset_impl.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim {

namespace fs = std::filesystem;

void Dataset::check_range(int64_t first, int64_t n) const {
    if (first < 0 || n < 0 || first > info_.count - n)
        throw Error("dataset '" + info_.name + "' (" + info_.dir + "): read of samples [" + std::to_string(first) +
                    ", " + std::to_string(first + n) + ") is out of range (the dataset has " +
                    std::to_string(info_.count) + " samples)");
}

namespace detail {

std::vector<uint8_t> read_file_maybe_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
    gzbuffer(f, 1u << 18);
    std::vector<uint8_t> out;
    constexpr size_t chunk = size_t{1} << 22;
    for (;;) {
        const size_t old = out.size();
        out.resize(old + chunk);
        const int got = gzread(f, out.data() + old, static_cast<unsigned>(chunk));
        if (got < 0) {
            int err = 0;
            const std::string msg = gzerror(f, &err);
            gzclose(f);
            throw Error(path + ": read error: " + msg);
        }
        out.resize(old + static_cast<size_t>(got));
        if (static_cast<size_t>(got) < chunk) break;
    }
    int err = Z_OK;
    const std::string msg = gzerror(f, &err);
    gzclose(f);
    if (err != Z_OK && err != Z_STREAM_END)
        throw Error(path + ": gzip data is truncated or corrupt (" + msg + ")");
    return out;
}

void check_shape(const DatasetSpec& spec, const Shape& from_file, const std::string& file) {
    if (spec.shape.empty() || spec.shape == from_file) return;
    yaml_fail(spec.yaml_path, spec.root["shape"], "shape",
              shape_str(spec.shape) + " does not match " + file + ", which holds samples of shape " +
                  shape_str(from_file) + " (CHW)");
}

void check_count(const DatasetSpec& spec, int64_t count, const std::string& file) {
    if (spec.count < 0 || spec.count == count) return;
    yaml_fail(spec.yaml_path, spec.root["count"], "count",
              std::to_string(spec.count) + " does not match " + file + ", which holds " + std::to_string(count) +
                  " samples");
}

void check_label_count(int64_t labels, const std::string& labels_file, int64_t images, const std::string& images_file) {
    if (labels == images) return;
    throw Error("label count mismatch: " + labels_file + " has " + std::to_string(labels) + " labels but " +
                images_file + " has " + std::to_string(images) + " images");
}

void check_labels(const DatasetSpec& spec, const int64_t* labels, int64_t n, const std::string& file,
                  const char* what) {
    const int64_t hi = spec.classes > 0 ? spec.classes : (int64_t{1} << 31) - 1;
    for (int64_t i = 0; i < n; ++i) {
        if (labels[i] >= 0 && labels[i] < hi) continue;
        std::string range = "[0, 2^31)";
        if (spec.classes > 0) {
            range = "[0, " + std::to_string(spec.classes) + ")";
            const YAML::Node c = spec.root["classes"];
            if (c.IsDefined() && !c.IsNull())
                range += " (classes: " + std::to_string(spec.classes) + " at " + yaml_where(spec.yaml_path, c) + ")";
            else
                range += " (" + spec.info.format + " has " + std::to_string(spec.classes) + " classes)";
        }
        throw Error(file + ": " + what + " " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                    ", outside " + range);
    }
}

}  // namespace detail

namespace {

// Resolves a data file path from dataset.yaml and checks that it exists.
std::string data_path(const std::string& yaml, const std::string& dir, const YAML::Node& node, const std::string& key,
                      const std::string& value) {
    fs::path p(value);
    if (p.is_relative()) p = fs::path(dir) / p;
    const std::string s = p.lexically_normal().string();
    std::error_code ec;
    if (!fs::exists(p, ec))
        throw Error(s + ": file not found (named by " + yaml_where(yaml, node) + " key '" + key + "')");
    if (!fs::is_regular_file(p, ec))
        throw Error(s + ": not a regular file (named by " + yaml_where(yaml, node) + " key '" + key + "')");
    return s;
}

}  // namespace

std::unique_ptr<Dataset> open_dataset(const std::string& dir_in) {
    using detail::DatasetSpec;
    std::error_code ec;
    if (!fs::exists(dir_in, ec)) throw Error(dir_in + ": dataset directory not found");
    if (!fs::is_directory(dir_in, ec))
        throw Error(dir_in + ": not a directory (a dataset is a directory holding dataset.yaml)");
    const std::string dir = fs::path(dir_in).lexically_normal().string();
    DatasetSpec spec;
    spec.yaml_path = (fs::path(dir) / "dataset.yaml").string();
    if (!fs::exists(spec.yaml_path, ec))
        throw Error(spec.yaml_path + ": not found (every dataset directory needs a dataset.yaml; see data/README.md)");

    const std::string& y = spec.yaml_path;
    spec.root = load_yaml_file(y);
    const YAML::Node& root = spec.root;
    yaml_check_keys(y, root, "",
                    {"name", "format", "images", "labels", "shape", "layout", "count", "classes", "preprocessing",
                     "calibration"});

    DatasetInfo& info = spec.info;
    info.dir = dir;
    fs::path abs_dir = fs::absolute(dir, ec).lexically_normal();
    if (abs_dir.filename().empty()) abs_dir = abs_dir.parent_path();  // "dir/" -> "dir"
    const std::string base = abs_dir.filename().string();
    info.name = yaml_string(y, root, "name", base);
    info.format = yaml_string_required(y, root, "format");
    const bool idx = info.format == "idx", cifar = info.format == "cifar10_bin", npy = info.format == "npy";
    if (!idx && !cifar && !npy)
        yaml_fail(y, root["format"], "format",
                  "unknown format '" + info.format + "' (expected idx, cifar10_bin or npy)");

    // images: a file name, or (cifar10_bin) a list of file names.
    const YAML::Node images = root["images"];
    std::vector<std::string> image_names;
    if (!images.IsDefined() || images.IsNull()) {
        yaml_fail(y, root, "images", "required key is missing");
    } else if (images.IsScalar()) {
        image_names.push_back(images.Scalar());
    } else if (images.IsSequence() && cifar) {
        for (const auto& e : images) {
            if (!e.IsScalar()) yaml_fail(y, e, "images", "expected a file name in the list");
            image_names.push_back(e.Scalar());
        }
        if (image_names.empty()) yaml_fail(y, images, "images", "the list of files is empty");
    } else {
        yaml_fail(y, images, "images",
                  cifar ? "expected a file name or a list of file names" : "expected a file name");
    }

    const std::string labels = yaml_string(y, root, "labels", "");
    if (cifar && root["labels"].IsDefined())
        yaml_fail(y, root["labels"], "labels", "cifar10_bin stores the labels inside the records; remove this key");
    if (!cifar && labels.empty()) yaml_fail(y, root, "labels", "required key is missing for format " + info.format);

    spec.shape = yaml_int_list(y, root, "shape");
    if (root["shape"].IsDefined() && !root["shape"].IsNull()) {
        bool ok = spec.shape.size() == 3;
        for (int64_t d : spec.shape) ok = ok && d > 0;
        if (!ok) yaml_fail(y, root["shape"], "shape", "expected [C, H, W] with three positive integers");
    }
    spec.layout = yaml_string(y, root, "layout", "NCHW");
    if (spec.layout != "NCHW" && spec.layout != "NHWC")
        yaml_fail(y, root["layout"], "layout", "expected NCHW or NHWC, got '" + spec.layout + "'");
    if (spec.layout == "NHWC" && !npy)
        yaml_fail(y, root["layout"], "layout", "format " + info.format + " is always stored NCHW");
    spec.count = yaml_int(y, root, "count", -1);
    if (root["count"].IsDefined() && !root["count"].IsNull() && spec.count < 0)
        yaml_fail(y, root["count"], "count", "must be >= 0");
    spec.classes = yaml_int(y, root, "classes", 0);
    if (root["classes"].IsDefined() && !root["classes"].IsNull() && spec.classes <= 0)
        yaml_fail(y, root["classes"], "classes", "must be > 0");
    if (cifar && spec.classes == 0) spec.classes = 10;
    info.classes = spec.classes;

    // A sibling dataset of training images for calibrating analog ranges (never the test images).
    const std::string calib = yaml_string(y, root, "calibration", "");
    if (!calib.empty()) {
        info.calibration = (fs::path(dir) / calib).lexically_normal().string();
        std::error_code cec;
        if (!fs::is_regular_file(fs::path(info.calibration) / "dataset.yaml", cec))
            yaml_fail(y, root["calibration"], "calibration",
                      info.calibration + " is not a dataset directory (no dataset.yaml there)");
    }

    const YAML::Node pre = root["preprocessing"];
    if (pre.IsDefined()) {
        yaml_require_map(y, pre, "preprocessing");
        info.has_preprocessing = true;
        info.preprocessing = parse_preprocess(pre, y, dir, "preprocessing");
    }

    // Data files: resolved and checked for existence before anything is read.
    info.files.push_back(y);
    for (size_t i = 0; i < image_names.size(); ++i) {
        const YAML::Node where = images.IsSequence() ? images[i] : images;
        spec.images.push_back(data_path(y, dir, where, "images", image_names[i]));
        info.files.push_back(spec.images.back());
    }
    if (!labels.empty()) {
        spec.labels = data_path(y, dir, root["labels"], "labels", labels);
        info.files.push_back(spec.labels);
    }
    if (!info.preprocessing.mean_image.empty()) info.files.push_back(info.preprocessing.mean_image);

    const std::string yaml_path = y;
    std::unique_ptr<Dataset> ds = idx ? detail::open_idx(std::move(spec))
                                  : cifar ? detail::open_cifar10_bin(std::move(spec))
                                          : detail::open_npy(std::move(spec));
    // An empty test set would give "0/0 correct" reports that look like results.
    if (ds->info().count == 0) throw Error(yaml_path + ": the dataset holds no samples");
    return ds;
}

}  // namespace xbarsim
