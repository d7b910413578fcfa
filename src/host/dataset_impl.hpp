#pragma once
// Internal to the dataset readers (dataset*.cpp): the parsed dataset.yaml and the checks that
// every reader shares. Not a public header.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xbarsim/dataset.hpp"

namespace xbarsim::detail {

// dataset.yaml after key and type checking, with data paths resolved against the directory.
struct DatasetSpec {
    std::string yaml_path;            // <dir>/dataset.yaml
    YAML::Node root;                  // for line numbers in messages
    std::vector<std::string> images;  // resolved paths (one, or several for cifar10_bin)
    std::string labels;               // resolved path, empty when absent
    Shape shape;                      // empty when absent
    std::string layout = "NCHW";      // NCHW | NHWC
    int64_t count = -1;               // -1 when absent
    int64_t classes = 0;              // 0 when absent
    DatasetInfo info;                 // name, dir, format, preprocessing, files (yaml + data files)
};

// Reads a whole file, gunzipping it when it is gzip-compressed (zlib detects this).
std::vector<uint8_t> read_file_maybe_gz(const std::string& path);

// Shared validations; each throws Error naming the files and the dataset.yaml key involved.
void check_shape(const DatasetSpec& spec, const Shape& from_file, const std::string& file);
void check_count(const DatasetSpec& spec, int64_t count, const std::string& file);
void check_label_count(int64_t labels, const std::string& labels_file, int64_t images, const std::string& images_file);
// Checks every label against [0, classes) (or >= 0 and < 2^31 when classes is unknown).
void check_labels(const DatasetSpec& spec, const int64_t* labels, int64_t n, const std::string& file,
                  const char* what = "label at index");

std::unique_ptr<Dataset> open_idx(DatasetSpec spec);
std::unique_ptr<Dataset> open_cifar10_bin(DatasetSpec spec);
std::unique_ptr<Dataset> open_npy(DatasetSpec spec);

}  // namespace xbarsim::detail
