#pragma once
// Datasets are directories holding a small `dataset.yaml` and the data files it names.
//
//   name: cifar10-test              # free text (optional, default: the directory name)
//   format: cifar10_bin             # idx | cifar10_bin | npy
//   images: test_batch.bin.gz       # file with the samples (.gz allowed except for memory-mapped npy);
//                                   # cifar10_bin also takes a list of files, concatenated in order
//   labels: labels.npy              # idx and npy only (cifar10_bin stores labels inline)
//   shape: [3, 32, 32]              # one sample as delivered to the model, CHW (optional: taken
//                                   # from the files; when given it must match them)
//   layout: NCHW                    # storage layout of the samples: NCHW or NHWC (npy only;
//                                   # idx and cifar10_bin are NCHW)
//   count: 10000                    # optional: checked against the files
//   classes: 10                     # optional: number of classes (cifar10_bin: 10 when absent);
//                                   # every label must lie in [0, classes)
//   preprocessing: {scale: ...}     # optional, see preprocess.hpp; the model's own spec wins
//   calibration: ../cifar10-calib   # optional: dataset of training images that analog runs
//                                   # calibrate their ranges on (relative to this directory)
//
// Relative paths are resolved against the dataset directory. npy images are uint8, float32 or
// float64 with shape (N,C,H,W) for NCHW, (N,H,W,C) for NHWC, or (N,H,W) for one channel; npy
// labels are any integer dtype with shape (N,).
//
// Samples are delivered as raw values (uint8 promoted to float, or float32 as stored) in CHW
// order; preprocessing is applied separately by a Preprocessor so that the model can own it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xbarsim/preprocess.hpp"
#include "xbarsim/tensor.hpp"

namespace xbarsim {

struct DatasetInfo {
    std::string dir;                 // directory of dataset.yaml
    std::string name;
    std::string format;              // idx | cifar10_bin | npy
    Shape sample_shape;              // C, H, W
    int64_t count = 0;               // number of samples
    int64_t classes = 0;             // 0 = unknown
    std::string calibration;         // dataset of training images to calibrate on ("" = none)
    bool has_preprocessing = false;  // dataset.yaml had a preprocessing section
    PreprocessSpec preprocessing;
    std::vector<std::string> files;  // every file read (dataset.yaml first, then data files and
                                     // the preprocessing mean image if any), for hashing
};

class Dataset {
public:
    virtual ~Dataset() = default;
    const DatasetInfo& info() const { return info_; }
    int64_t size() const { return info_.count; }
    int64_t sample_size() const { return numel(info_.sample_shape); }  // C*H*W
    // Copies samples [first, first + n) into `samples` (n * C*H*W floats, CHW each, raw values)
    // and their labels into `labels` (n values; may be null to skip labels). Throws Error on
    // out-of-range or I/O failure. Not thread-safe: one reader per Dataset at a time.
    virtual void read(int64_t first, int64_t n, float* samples, int32_t* labels) = 0;

protected:
    // Throws Error naming the dataset when [first, first + n) is not inside [0, size()).
    void check_range(int64_t first, int64_t n) const;
    DatasetInfo info_;
};

// Opens `dir`/dataset.yaml and the reader it names; validates everything it can up front
// (files exist, headers, counts, label count == image count, shape == file contents).
std::unique_ptr<Dataset> open_dataset(const std::string& dir);

}  // namespace xbarsim
