// Input preprocessing: parsing the YAML spec and applying it as one multiply-add per element.
#include "xbarsim/preprocess.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "xbarsim/error.hpp"
#include "xbarsim/npy.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim {

namespace fs = std::filesystem;

namespace {

std::string got_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::vector<double> number_list(const std::string& file, const YAML::Node& map, const std::string& key,
                                const std::string& section, bool positive) {
    const std::string full = section.empty() ? key : section + "." + key;
    const YAML::Node n = map[key];
    if (n.IsDefined() && n.IsSequence() && n.size() == 0)
        yaml_fail(file, n, full, "expected a number or a non-empty list of numbers");
    std::vector<double> v = yaml_number_list(file, map, key, section);
    for (size_t i = 0; i < v.size(); ++i) {
        const YAML::Node e = n.IsSequence() ? n[i] : n;
        // Applied in float: a value must be finite there, and > 0 there for std (1e-300 is 0).
        const float f = yaml_as_float(file, e, full, v[i]);
        if (positive && !(f > 0)) yaml_fail(file, e, full, "values must be > 0 as a float, got " + got_text(v[i]));
    }
    return v;
}

}  // namespace

PreprocessSpec parse_preprocess(const YAML::Node& node, const std::string& file, const std::string& base_dir,
                                const std::string& section) {
    PreprocessSpec spec;
    spec.source = yaml_where(file, node);
    if (!node.IsDefined() || node.IsNull()) return spec;
    yaml_check_keys(file, node, section, {"scale", "mean", "std", "mean_image", "mean_image_layout"});

    const auto full = [&](const char* key) { return section.empty() ? std::string(key) : section + "." + key; };
    spec.scale = yaml_number(file, node, "scale", 1.0, section);
    if (!std::isfinite(spec.scale) || !std::isfinite(static_cast<float>(spec.scale)) || static_cast<float>(spec.scale) == 0.0f)
        yaml_fail(file, node["scale"], full("scale"), "must be a finite non-zero number within float range, got " + got_text(spec.scale));
    spec.mean = number_list(file, node, "mean", section, false);
    spec.std = number_list(file, node, "std", section, true);

    spec.mean_image = yaml_string(file, node, "mean_image", "", section);
    if (!spec.mean_image.empty()) {
        fs::path p(spec.mean_image);
        if (p.is_relative() && !base_dir.empty()) p = fs::path(base_dir) / p;
        spec.mean_image = p.lexically_normal().string();
        std::error_code ec;
        if (!fs::is_regular_file(p, ec))
            yaml_fail(file, node["mean_image"], full("mean_image"), "file not found: " + spec.mean_image);
    }
    spec.mean_image_layout = yaml_string(file, node, "mean_image_layout", "CHW", section);
    if (spec.mean_image_layout != "CHW" && spec.mean_image_layout != "HWC")
        yaml_fail(file, node["mean_image_layout"], full("mean_image_layout"),
                  "expected CHW or HWC, got '" + spec.mean_image_layout + "'");
    return spec;
}

YAML::Node preprocess_to_yaml(const PreprocessSpec& spec) {
    YAML::Node n(YAML::NodeType::Map);
    if (spec.scale != 1.0) n["scale"] = spec.scale;
    if (!spec.mean.empty()) n["mean"] = spec.mean;
    if (!spec.std.empty()) n["std"] = spec.std;
    if (!spec.mean_image.empty()) {
        n["mean_image"] = spec.mean_image;
        n["mean_image_layout"] = spec.mean_image_layout;
    }
    return n;
}

Preprocessor::Preprocessor(const PreprocessSpec& spec, const Shape& sample_chw) : chw_(sample_chw) {
    const std::string where = spec.source.empty() ? std::string("preprocessing") : spec.source;
    if (chw_.size() != 3 || chw_[0] <= 0 || chw_[1] <= 0 || chw_[2] <= 0)
        throw Error(where + ": preprocessing needs a [C, H, W] sample shape, got " + shape_str(chw_));
    identity_ = spec.is_identity();
    if (identity_) return;

    const int64_t C = chw_[0], HW = chw_[1] * chw_[2], E = C * HW;
    auto per_channel = [&](const std::vector<double>& v, const char* what, double fallback) {
        std::vector<double> out(static_cast<size_t>(C), fallback);
        if (v.empty()) return out;
        if (v.size() != 1 && static_cast<int64_t>(v.size()) != C)
            throw Error(where + ": preprocessing " + what + " has " + std::to_string(v.size()) +
                        " values but the samples have " + std::to_string(C) + " channels (give 1 or " +
                        std::to_string(C) + ")");
        for (int64_t c = 0; c < C; ++c) out[static_cast<size_t>(c)] = v.size() == 1 ? v[0] : v[static_cast<size_t>(c)];
        return out;
    };
    const std::vector<double> mean = per_channel(spec.mean, "mean", 0.0);
    const std::vector<double> stdev = per_channel(spec.std, "std", 1.0);

    // Mean image in CHW order (zeros when absent).
    std::vector<double> mean_image(static_cast<size_t>(E), 0.0);
    if (!spec.mean_image.empty()) {
        const NpyArray a = read_npy(spec.mean_image);
        if (!a.header.is_float())
            throw Error(spec.mean_image + ": mean image must be float32 or float64, got " + a.header.dtype_name());
        const bool hwc = spec.mean_image_layout == "HWC";
        const Shape expected = hwc ? Shape{chw_[1], chw_[2], C} : chw_;
        const bool ok = a.shape() == expected || (C == 1 && a.shape() == Shape{chw_[1], chw_[2]});
        if (!ok)
            throw Error(spec.mean_image + ": mean image shape " + shape_str(a.shape()) + " (layout " +
                        spec.mean_image_layout + ") does not match the sample shape " + shape_str(chw_) +
                        " (CHW); expected " + shape_str(expected));
        const std::vector<float> v = a.to_float();
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < HW; ++i)
                mean_image[static_cast<size_t>(c * HW + i)] = v[static_cast<size_t>(hwc ? i * C + c : c * HW + i)];
    }

    // x = ((p - mi) * scale - mean) / std = p * (scale / std) - (mi * scale + mean) / std
    gain_.resize(static_cast<size_t>(E));
    bias_.resize(static_cast<size_t>(E));
    for (int64_t c = 0; c < C; ++c) {
        const double g = spec.scale / stdev[static_cast<size_t>(c)];
        for (int64_t i = 0; i < HW; ++i) {
            const size_t k = static_cast<size_t>(c * HW + i);
            gain_[k] = static_cast<float>(g);
            bias_[k] = static_cast<float>(-(mean_image[k] * spec.scale + mean[static_cast<size_t>(c)]) /
                                          stdev[static_cast<size_t>(c)]);
            // Each term may be a valid float while the combination is not (scale 1e30 with std
            // 1e-30): every input would become inf, nan or 0 and the accuracy meaningless.
            if (!std::isfinite(gain_[k]) || gain_[k] == 0.0f || !std::isfinite(bias_[k]))
                throw Error(where + ": preprocessing of channel " + std::to_string(c) + " gives x = p * " +
                            got_text(g) + " + " +
                            got_text(-(mean_image[k] * spec.scale + mean[static_cast<size_t>(c)]) / stdev[static_cast<size_t>(c)]) +
                            ", outside float range (check scale, mean, std and mean_image)");
        }
    }
}

void Preprocessor::apply(float* samples, int64_t count, bool parallel) const {
    if (identity_ || count <= 0) return;
    const int64_t E = static_cast<int64_t>(gain_.size());
    const float* g = gain_.data();
    const float* b = bias_.data();
    const bool par = parallel && count > 1 && count * E >= (int64_t{1} << 16);
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < count; ++i) {
        float* s = samples + i * E;
        for (int64_t j = 0; j < E; ++j) s[j] = s[j] * g[j] + b[j];
    }
}

}  // namespace xbarsim
