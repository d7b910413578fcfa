#pragma once
// Input preprocessing, applied to raw stored sample values (e.g. 0..255 pixels) in CHW order:
//
//     x[c,h,w] = ((p[c,h,w] - mean_image[c,h,w]) * scale - mean[c]) / std[c]
//
// Every term is optional (mean_image = 0, scale = 1, mean = 0, std = 1 when absent). This covers
// CrossSim's CIFAR-10 ResNets (per-pixel mean image on the 0..255 scale, then /255), plain
// MNIST scaling (scale = 1/255) and torchvision-style per-channel normalization.
// Preprocessing that belongs to a model travels in the ONNX metadata (key "xbarsim.preprocess",
// YAML text); a dataset.yaml may carry a `preprocessing:` section used when the model has none.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "xbarsim/tensor.hpp"

namespace xbarsim {

struct PreprocessSpec {
    double scale = 1.0;
    std::vector<double> mean;           // per channel (or one value for all channels)
    std::vector<double> std;            // per channel (or one value for all channels)
    std::string mean_image;             // path to a float32 .npy, resolved against base_dir
    std::string mean_image_layout = "CHW";  // layout of the mean image file: CHW or HWC
    std::string source;                 // where the spec came from (for messages and the report)

    bool is_identity() const { return scale == 1.0 && mean.empty() && std.empty() && mean_image.empty(); }
};

// Parses a preprocessing mapping (keys: scale, mean, std, mean_image, mean_image_layout).
// `file` names the YAML source for error messages; relative mean_image paths are resolved
// against `base_dir` (the returned spec holds the resolved path, and the file must exist).
// A null node gives the identity spec. Unknown keys, wrong types, std <= 0, an empty mean/std
// list or a layout other than CHW/HWC are Errors naming the file, key and line.
// spec.source is set to "<file>:<line>" of the mapping.
// `section` is the dotted path of the mapping inside its file (e.g. "preprocessing"), so that
// messages name keys in full ("preprocessing.std").
PreprocessSpec parse_preprocess(const YAML::Node& node, const std::string& file, const std::string& base_dir,
                                const std::string& section = "");

// YAML form of a spec, for the report (only the keys that differ from the defaults; the result
// parses back with parse_preprocess to an equal spec).
YAML::Node preprocess_to_yaml(const PreprocessSpec& spec);

// Applies a spec to batches of CHW samples in place. Loads the mean image once and checks its
// shape against the sample shape (error names the .npy file and both shapes). The mean image
// must be float32 or float64 with shape (C,H,W) for layout CHW or (H,W,C) for HWC; (H,W) is
// accepted for one-channel samples. Per-channel mean/std lists need 1 or C entries.
class Preprocessor {
public:
    Preprocessor(const PreprocessSpec& spec, const Shape& sample_chw);
    // x = p * gain + bias per element (one fused multiply-add). `parallel` spreads the samples
    // over OpenMP threads; pass false from helper threads (e.g. a prefetching loader) so they do
    // not start a second OpenMP team next to the compute threads.
    void apply(float* samples, int64_t count, bool parallel = true) const;

    const Shape& sample_shape() const { return chw_; }
    bool is_identity() const { return identity_; }
    const std::vector<float>& gain() const { return gain_; }  // per element, CHW
    const std::vector<float>& bias() const { return bias_; }  // per element, CHW

private:
    Shape chw_;
    bool identity_ = true;
    std::vector<float> gain_;  // per element: scale / std[c]
    std::vector<float> bias_;  // per element: -(mean_image*scale + mean[c]) / std[c]
};

}  // namespace xbarsim
