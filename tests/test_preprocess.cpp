// Preprocessing: YAML parsing (strict keys, types, lines) and the arithmetic
//     x[c,h,w] = ((p[c,h,w] - mean_image[c,h,w]) * scale - mean[c]) / std[c]
// checked against values worked out by hand in the comments.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/npy.hpp"
#include "xbarsim/preprocess.hpp"

namespace fs = std::filesystem;
using namespace xbarsim;

namespace {

using xbarsim::test::TempDir;

using xbarsim::test::error_of;

PreprocessSpec parse(const std::string& yaml, const std::string& base_dir = "") {
    return parse_preprocess(YAML::Load(yaml), "cfg.yaml", base_dir, "preprocessing");
}

std::string parse_error(const std::string& yaml, const std::string& base_dir = "") {
    return error_of([&] { (void)parse(yaml, base_dir); });
}

}  // namespace

TEST(Preprocess, ParsesEveryKey) {
    TempDir tmp;
    const std::vector<float> mi(12, 1.0f);
    write_npy(tmp / "mean.npy", {2, 2, 3}, mi.data());
    const PreprocessSpec s =
        parse("scale: 0.5\nmean: [0.1, 0.2, 0.3]\nstd: 2\nmean_image: mean.npy\nmean_image_layout: HWC\n",
              tmp.path.string());
    EXPECT_EQ(s.scale, 0.5);
    EXPECT_EQ(s.mean, (std::vector<double>{0.1, 0.2, 0.3}));
    EXPECT_EQ(s.std, (std::vector<double>{2.0}));
    EXPECT_EQ(s.mean_image, tmp / "mean.npy");  // resolved against base_dir
    EXPECT_EQ(s.mean_image_layout, "HWC");
    EXPECT_HAS(s.source, "cfg.yaml");
    EXPECT_FALSE(s.is_identity());
}

TEST(Preprocess, NullOrEmptyIsIdentity) {
    EXPECT_TRUE(parse_preprocess(YAML::Node(), "cfg.yaml", "").is_identity());
    EXPECT_TRUE(parse("{}").is_identity());
    Preprocessor p(parse("{}"), {1, 2, 2});
    EXPECT_TRUE(p.is_identity());
    std::vector<float> v{1, 2, 3, 4};
    p.apply(v.data(), 1);
    EXPECT_EQ(v, (std::vector<float>{1, 2, 3, 4}));
}

TEST(Preprocess, RejectsBadKeysAndValuesNamingKeyAndLine) {
    // Unknown key: its dotted name and line.
    std::string m = parse_error("scale: 1\nmeen: [1, 2]\n");
    EXPECT_HAS(m, "cfg.yaml:2: key 'preprocessing.meen': unknown key");
    EXPECT_HAS(m, "scale, mean, std, mean_image, mean_image_layout");
    // Wrong types.
    EXPECT_HAS(parse_error("scale: abc\n"), "cfg.yaml:1: key 'preprocessing.scale': expected a number, got 'abc'");
    EXPECT_HAS(parse_error("scale: 1\nmean: {r: 1}\n"), "cfg.yaml:2: key 'preprocessing.mean': expected a number or a list");
    EXPECT_HAS(parse_error("mean_image: [a, b]\n"), "cfg.yaml:1: key 'preprocessing.mean_image': expected a string");
    EXPECT_HAS(parse_error("- 1\n- 2\n"), "key 'preprocessing': expected a mapping");
    // Bad values.
    EXPECT_HAS(parse_error("std: [1, 0, 2]\n"), "cfg.yaml:1: key 'preprocessing.std': values must be > 0");
    EXPECT_HAS(parse_error("std: -1\n"), "key 'preprocessing.std': values must be > 0");
    EXPECT_HAS(parse_error("mean: []\n"), "key 'preprocessing.mean': expected a number or a non-empty list");
    EXPECT_HAS(parse_error("scale: 0\n"), "key 'preprocessing.scale': must be a finite non-zero number");
    EXPECT_HAS(parse_error("mean: 1\nmean_image_layout: NCHW\n"), "cfg.yaml:2: key 'preprocessing.mean_image_layout': expected CHW or HWC, got 'NCHW'");
    EXPECT_HAS(parse_error("mean_image: nope.npy\n", "/nonexistent_dir_xbarsim"),
               "cfg.yaml:1: key 'preprocessing.mean_image': file not found: /nonexistent_dir_xbarsim/nope.npy");
}

TEST(Preprocess, PerChannelArithmetic) {
    // scale 0.5, mean [1, 2], std [2, 4]; sample shape [2, 1, 2] (C=2, H=1, W=2).
    //   channel 0: (p*0.5 - 1)/2   -> p=10: 2,     p=20: 4.5
    //   channel 1: (p*0.5 - 2)/4   -> p=30: 3.25,  p=40: 4.5
    Preprocessor p(parse("scale: 0.5\nmean: [1, 2]\nstd: [2, 4]\n"), {2, 1, 2});
    std::vector<float> v{10, 20, 30, 40, /* second sample */ 0, 2, 4, 8};
    p.apply(v.data(), 2);
    const std::vector<float> want{2.0f, 4.5f, 3.25f, 4.5f, -0.5f, 0.0f, 0.0f, 0.5f};
    for (size_t i = 0; i < v.size(); ++i) EXPECT_FLOAT_EQ(v[i], want[i]) << i;
}

TEST(Preprocess, SingleValuesApplyToAllChannels) {
    // MNIST-style: scale 1/255, mean 0.1307, std 0.3081 (one value for every channel).
    Preprocessor p(parse("scale: 0.00392156862745098\nmean: 0.1307\nstd: 0.3081\n"), {3, 1, 1});
    std::vector<float> v{0, 255, 51};
    p.apply(v.data(), 1);
    EXPECT_NEAR(v[0], (0.0 - 0.1307) / 0.3081, 1e-6);
    EXPECT_NEAR(v[1], (1.0 - 0.1307) / 0.3081, 1e-6);
    EXPECT_NEAR(v[2], (0.2 - 0.1307) / 0.3081, 1e-6);
}

TEST(Preprocess, MeanImageHWCIsTransposedToCHW) {
    // Mean image stored HWC (2 x 2 x 3) with mi[h][w][c] = 100c + 10h + w (CrossSim's x_train_mean.npy
    // is stored this way). Samples all 200, scale 1/255: x[c,h,w] = (200 - (100c + 10h + w)) / 255.
    TempDir tmp;
    std::vector<float> mi(12);
    for (int h = 0; h < 2; ++h)
        for (int w = 0; w < 2; ++w)
            for (int c = 0; c < 3; ++c) mi[static_cast<size_t>((h * 2 + w) * 3 + c)] = static_cast<float>(100 * c + 10 * h + w);
    write_npy(tmp / "mean_hwc.npy", {2, 2, 3}, mi.data());
    Preprocessor p(parse("scale: 0.00392156862745098\nmean_image: mean_hwc.npy\nmean_image_layout: HWC\n",
                         tmp.path.string()),
                   {3, 2, 2});
    std::vector<float> v(24, 200.0f);  // two samples
    p.apply(v.data(), 2);
    for (int s = 0; s < 2; ++s)
        for (int c = 0; c < 3; ++c)
            for (int h = 0; h < 2; ++h)
                for (int w = 0; w < 2; ++w)
                    EXPECT_NEAR(v[static_cast<size_t>(s * 12 + c * 4 + h * 2 + w)], (200.0 - (100 * c + 10 * h + w)) / 255.0, 1e-6)
                        << s << c << h << w;
}

TEST(Preprocess, MeanImageCHWFloat64WithMeanAndStd) {
    // CHW float64 mean image mi = [[1, 2]] for C=1, H=1, W=2; scale 2, mean 1, std 4:
    //   x = ((p - mi) * 2 - 1) / 4   -> p=5: (8 - 1)/4 = 1.75,  p=0: (-4 - 1)/4 = -1.25
    TempDir tmp;
    const std::vector<double> mi{1.0, 2.0};
    write_npy(tmp / "mean.npy", {1, 1, 2}, mi.data());
    Preprocessor p(parse("scale: 2\nmean: 1\nstd: 4\nmean_image: " + (tmp / "mean.npy") + "\n"), {1, 1, 2});
    std::vector<float> v{5, 0};
    p.apply(v.data(), 1);
    EXPECT_FLOAT_EQ(v[0], 1.75f);
    EXPECT_FLOAT_EQ(v[1], -1.25f);
    // Gain and bias are exposed: x = p * gain + bias.
    EXPECT_FLOAT_EQ(p.gain()[0], 0.5f);
    EXPECT_FLOAT_EQ(p.bias()[1], -1.25f);  // -(2*2 + 1)/4
}

TEST(Preprocess, MeanImageErrorsNameTheFileAndShapes) {
    TempDir tmp;
    const std::vector<float> mi(12, 0.0f);
    write_npy(tmp / "m.npy", {2, 2, 3}, mi.data());
    // Stored HWC but declared CHW (the default): shapes disagree.
    std::string m = error_of([&] { Preprocessor p(parse("mean_image: m.npy\n", tmp.path.string()), {3, 2, 2}); });
    EXPECT_HAS(m, tmp / "m.npy");
    EXPECT_HAS(m, "mean image shape [2, 2, 3] (layout CHW) does not match the sample shape [3, 2, 2]");
    // Right layout, wrong sample size.
    m = error_of([&] {
        Preprocessor p(parse("mean_image: m.npy\nmean_image_layout: HWC\n", tmp.path.string()), {3, 4, 4});
    });
    EXPECT_HAS(m, "m.npy: mean image shape [2, 2, 3] (layout HWC) does not match the sample shape [3, 4, 4] (CHW); expected [4, 4, 3]");
    // Integer mean images are refused.
    const std::vector<uint8_t> u(12, 0);
    write_npy(tmp / "u.npy", {3, 2, 2}, u.data());
    m = error_of([&] { Preprocessor p(parse("mean_image: u.npy\n", tmp.path.string()), {3, 2, 2}); });
    EXPECT_HAS(m, "u.npy: mean image must be float32 or float64, got uint8");
}

TEST(Preprocess, ChannelListLengthMustBeOneOrC) {
    std::string m = error_of([] { Preprocessor p(parse("mean: [1, 2]\n"), {3, 4, 4}); });
    EXPECT_HAS(m, "cfg.yaml:1: preprocessing mean has 2 values but the samples have 3 channels (give 1 or 3)");
    m = error_of([] { Preprocessor p(parse("std: [1, 2, 3, 4]\n"), {3, 4, 4}); });
    EXPECT_HAS(m, "std has 4 values but the samples have 3 channels");
    m = error_of([] { Preprocessor p(parse("scale: 2\n"), {3, 4}); });
    EXPECT_HAS(m, "needs a [C, H, W] sample shape, got [3, 4]");
}

TEST(Preprocess, YamlFormRoundTrips) {
    TempDir tmp;
    const std::vector<float> mi(4, 0.5f);
    write_npy(tmp / "mean.npy", {1, 2, 2}, mi.data());
    const PreprocessSpec a = parse("scale: 0.00392156862745098\nmean: [0.4914, 0.4822, 0.4465]\n"
                                   "std: [0.247, 0.243, 0.261]\nmean_image: mean.npy\n",
                                   tmp.path.string());
    YAML::Emitter out;
    out << preprocess_to_yaml(a);
    const PreprocessSpec b = parse(out.c_str());
    EXPECT_EQ(b.scale, a.scale);
    EXPECT_EQ(b.mean, a.mean);
    EXPECT_EQ(b.std, a.std);
    EXPECT_EQ(b.mean_image, a.mean_image);
    EXPECT_EQ(b.mean_image_layout, a.mean_image_layout);
    EXPECT_EQ(preprocess_to_yaml(PreprocessSpec{}).size(), 0u);  // identity: no keys
}

TEST(Preprocess, ParallelAndSerialAgree) {
    Preprocessor p(parse("scale: 0.1\nmean: [1, 2, 3]\nstd: [0.5, 0.25, 2]\n"), {3, 32, 32});
    const int64_t n = 64;  // 64 * 3072 elements: large enough for the OpenMP path
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.0f, 255.0f);
    std::vector<float> a(static_cast<size_t>(n * 3072));
    for (float& x : a) x = u(rng);
    std::vector<float> b = a, ref = a;
    p.apply(a.data(), n, true);
    p.apply(b.data(), n, false);
    EXPECT_EQ(a, b);
    const double mean[3] = {1, 2, 3}, stdev[3] = {0.5, 0.25, 2};
    for (size_t i = 0; i < ref.size(); i += 997) {
        const size_t c = (i % 3072) / 1024;
        EXPECT_NEAR(a[i], (ref[i] * 0.1 - mean[c]) / stdev[c], 1e-4) << i;
    }
}
