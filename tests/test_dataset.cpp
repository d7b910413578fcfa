// Dataset readers (idx, cifar10_bin, npy), dataset.yaml validation and BatchStream.
//
// Expected values for the bundled sets were computed independently with NumPy from the original
// files in the shared data folder (MNIST t10k-*.gz, CIFAR-10 test_batch.bin):
//   import gzip, numpy as np
//   img = np.frombuffer(gzip.open('t10k-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 28, 28)
//   lab = np.frombuffer(gzip.open('t10k-labels-idx1-ubyte.gz').read(), np.uint8, offset=8)
//   np.bincount(lab); img[0].sum(); img[0, 12, 17:21]; img[9999].sum(); img.astype(np.int64).sum()
//   r = np.fromfile('test_batch.bin', np.uint8).reshape(-1, 3073); ci = r[:, 1:].reshape(-1, 3, 32, 32)
//   r[:10, 0]; np.bincount(r[:, 0]); ci[0, :, 0, 0]; ci[0, :, 31, 31]; ci[0].reshape(3, -1).sum(1);
//   ci[9999].sum(); ci[9999, 1, 16, 16]; ci.astype(np.int64).sum()
// The class counts and first labels also appear in the data README (sections 1 and 2).
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "xbarsim/batch_stream.hpp"
#include "xbarsim/dataset.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/npy.hpp"

namespace fs = std::filesystem;
using namespace xbarsim;

namespace {

const std::string kSource = XBARSIM_SOURCE_DIR;

using xbarsim::test::TempDir;

using xbarsim::test::error_of;

std::string open_error(const std::string& dir) {
    return error_of([&] { (void)open_dataset(dir); });
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b, bool gz = false) {
    if (gz) {
        gzFile f = gzopen(path.c_str(), "wb9");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(gzwrite(f, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
        gzclose(f);
        return;
    }
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void put_be32(std::vector<uint8_t>& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// IDX images: n images of h x w, pixel (i, y, x) = (i*31 + y*7 + x) % 256.
std::vector<uint8_t> idx_images(uint32_t n, uint32_t h, uint32_t w) {
    std::vector<uint8_t> b;
    put_be32(b, 2051);
    put_be32(b, n);
    put_be32(b, h);
    put_be32(b, w);
    for (uint32_t i = 0; i < n; ++i)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) b.push_back(static_cast<uint8_t>((i * 31 + y * 7 + x) % 256));
    return b;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
    std::vector<uint8_t> b;
    put_be32(b, 2049);
    put_be32(b, static_cast<uint32_t>(labels.size()));
    b.insert(b.end(), labels.begin(), labels.end());
    return b;
}

// CIFAR-10 records: label, then 3072 pixels with pixel k of record i = (i + k) % 251.
std::vector<uint8_t> cifar_records(const std::vector<uint8_t>& labels, int first_index) {
    std::vector<uint8_t> b;
    for (size_t r = 0; r < labels.size(); ++r) {
        b.push_back(labels[r]);
        for (int k = 0; k < 3072; ++k) b.push_back(static_cast<uint8_t>((first_index + static_cast<int>(r) + k) % 251));
    }
    return b;
}

// A small valid idx dataset: 3 images of 2 x 3, labels 4 0 9.
void make_idx(const TempDir& d, const std::string& extra_yaml = "", bool gz = false) {
    write_bytes(d / (gz ? "img.gz" : "img"), idx_images(3, 2, 3), gz);
    write_bytes(d / (gz ? "lab.gz" : "lab"), idx_labels({4, 0, 9}), gz);
    write_text(d / "dataset.yaml", std::string("format: idx\nimages: ") + (gz ? "img.gz" : "img") +
                                       "\nlabels: " + (gz ? "lab.gz" : "lab") + "\n" + extra_yaml);
}

// A dataset whose sample i has every value equal to i and label i % 7; optionally slow or failing.
class FakeDataset : public Dataset {
public:
    FakeDataset(int64_t n, Shape shape, int64_t fail_at = -1, int sleep_ms = 0)
        : fail_at_(fail_at), sleep_ms_(sleep_ms) {
        info_.name = "fake";
        info_.sample_shape = std::move(shape);
        info_.count = n;
    }
    void read(int64_t first, int64_t n, float* samples, int32_t* labels) override {
        check_range(first, n);
        reads.fetch_add(1);
        if (sleep_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
        if (fail_at_ >= first && fail_at_ < first + n) throw Error("fake: sample " + std::to_string(fail_at_) + " is unreadable");
        const int64_t e = sample_size();
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t k = 0; k < e; ++k) samples[i * e + k] = static_cast<float>(first + i);
            labels[i] = static_cast<int32_t>((first + i) % 7);
        }
    }
    std::atomic<int> reads{0};

private:
    int64_t fail_at_;
    int sleep_ms_;
};

}  // namespace

// ---- Bundled datasets -----------------------------------------------------------------------

TEST(Dataset, BundledMnistTestSet) {
    auto ds = open_dataset(kSource + "/data/mnist-test");
    const DatasetInfo& info = ds->info();
    EXPECT_EQ(info.name, "mnist-test");
    EXPECT_EQ(info.format, "idx");
    EXPECT_EQ(info.sample_shape, (Shape{1, 28, 28}));
    EXPECT_EQ(ds->size(), 10000);
    EXPECT_EQ(info.classes, 10);
    EXPECT_FALSE(info.has_preprocessing);
    ASSERT_EQ(info.files.size(), 3u);
    EXPECT_EQ(fs::path(info.files[0]).filename().string(), "dataset.yaml");
    EXPECT_EQ(fs::path(info.files[1]).filename().string(), "t10k-images-idx3-ubyte.gz");
    EXPECT_EQ(fs::path(info.files[2]).filename().string(), "t10k-labels-idx1-ubyte.gz");

    std::vector<float> x(10000 * 784);
    std::vector<int32_t> y(10000);
    ds->read(0, 10000, x.data(), y.data());
    EXPECT_EQ(std::vector<int32_t>(y.begin(), y.begin() + 10), (std::vector<int32_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
    std::vector<int> counts(10, 0);
    for (int32_t l : y) counts[static_cast<size_t>(l)]++;
    EXPECT_EQ(counts, (std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
    // Known pixels (NumPy, see the top of this file): image 0 row 12, columns 17..20 = 22 233 255 83.
    EXPECT_EQ(x[12 * 28 + 17], 22.0f);
    EXPECT_EQ(x[12 * 28 + 18], 233.0f);
    EXPECT_EQ(x[12 * 28 + 19], 255.0f);
    EXPECT_EQ(x[12 * 28 + 20], 83.0f);
    EXPECT_EQ(std::accumulate(x.begin(), x.begin() + 784, 0.0), 18454.0);               // image 0
    EXPECT_EQ(std::accumulate(x.end() - 784, x.end(), 0.0), 41833.0);                   // image 9999
    EXPECT_EQ(std::accumulate(x.begin(), x.end(), 0.0), 264923200.0);                   // all pixels
}

TEST(Dataset, BundledCifar10TestSet) {
    auto ds = open_dataset(kSource + "/data/cifar10-test");
    const DatasetInfo& info = ds->info();
    EXPECT_EQ(info.format, "cifar10_bin");
    EXPECT_EQ(info.sample_shape, (Shape{3, 32, 32}));
    EXPECT_EQ(ds->size(), 10000);
    EXPECT_EQ(info.classes, 10);
    ASSERT_EQ(info.files.size(), 2u);
    EXPECT_EQ(fs::path(info.files[1]).filename().string(), "test_batch.bin.gz");

    const int64_t chunk = 1000, e = 3072;
    std::vector<float> x(static_cast<size_t>(chunk * e));
    std::vector<int32_t> y(chunk);
    std::vector<int> counts(10, 0);
    double total = 0;
    for (int64_t first = 0; first < 10000; first += chunk) {
        ds->read(first, chunk, x.data(), y.data());
        for (int32_t l : y) counts[static_cast<size_t>(l)]++;
        total += std::accumulate(x.begin(), x.end(), 0.0);
        if (first == 0) {
            EXPECT_EQ(std::vector<int32_t>(y.begin(), y.begin() + 10), (std::vector<int32_t>{3, 8, 8, 0, 6, 6, 1, 6, 3, 1}));
            // Image 0: pixel (0, 0) per channel R G B = 158 112 49; (31, 31) = 21 67 110;
            // channel sums 112665 113426 106871.
            EXPECT_EQ(x[0], 158.0f);
            EXPECT_EQ(x[1024], 112.0f);
            EXPECT_EQ(x[2048], 49.0f);
            EXPECT_EQ(x[1023], 21.0f);
            EXPECT_EQ(x[2047], 67.0f);
            EXPECT_EQ(x[3071], 110.0f);
            EXPECT_EQ(std::accumulate(x.begin(), x.begin() + 1024, 0.0), 112665.0);
            EXPECT_EQ(std::accumulate(x.begin() + 1024, x.begin() + 2048, 0.0), 113426.0);
            EXPECT_EQ(std::accumulate(x.begin() + 2048, x.begin() + 3072, 0.0), 106871.0);
        }
        if (first == 9000) {
            const float* last = x.data() + 999 * e;  // image 9999: sum 331662, G(16, 16) = 64
            EXPECT_EQ(std::accumulate(last, last + e, 0.0), 331662.0);
            EXPECT_EQ(last[1024 + 16 * 32 + 16], 64.0f);
        }
    }
    EXPECT_EQ(counts, std::vector<int>(10, 1000));
    EXPECT_EQ(total, 3733375634.0);
}

// ---- Synthetic datasets ----------------------------------------------------------------------

TEST(Dataset, IdxPlainAndGzipReadTheSame) {
    for (bool gz : {false, true}) {
        TempDir d;
        make_idx(d, "shape: [1, 2, 3]\ncount: 3\nclasses: 10\n", gz);
        auto ds = open_dataset(d.str());
        EXPECT_EQ(ds->info().name, d.path.filename().string());  // default name: the directory
        EXPECT_EQ(open_dataset(d.str() + "/")->info().name, d.path.filename().string());
        EXPECT_EQ(ds->info().sample_shape, (Shape{1, 2, 3}));
        EXPECT_EQ(ds->size(), 3);
        std::vector<float> x(12);
        std::vector<int32_t> y(2);
        ds->read(1, 2, x.data(), y.data());
        EXPECT_EQ(y, (std::vector<int32_t>{0, 9}));
        for (int i = 1; i < 3; ++i)
            for (int yy = 0; yy < 2; ++yy)
                for (int xx = 0; xx < 3; ++xx)
                    EXPECT_EQ(x[static_cast<size_t>((i - 1) * 6 + yy * 3 + xx)], static_cast<float>((i * 31 + yy * 7 + xx) % 256));
        ds->read(2, 1, x.data(), nullptr);  // labels may be skipped
        EXPECT_EQ(x[0], static_cast<float>(62 % 256));
    }
}

TEST(Dataset, CifarListOfFilesIsConcatenated) {
    TempDir d;
    write_bytes(d / "a.bin.gz", cifar_records({1, 2}, 0), true);
    write_bytes(d / "b.bin", cifar_records({3, 4, 5}, 2));
    write_text(d / "dataset.yaml", "name: two-files\nformat: cifar10_bin\nimages: [a.bin.gz, b.bin]\ncount: 5\n");
    auto ds = open_dataset(d.str());
    EXPECT_EQ(ds->info().name, "two-files");
    EXPECT_EQ(ds->size(), 5);
    EXPECT_EQ(ds->info().classes, 10);  // cifar10_bin default
    EXPECT_EQ(ds->info().files.size(), 3u);
    std::vector<float> x(5 * 3072);
    std::vector<int32_t> y(5);
    ds->read(0, 5, x.data(), y.data());
    EXPECT_EQ(y, (std::vector<int32_t>{1, 2, 3, 4, 5}));
    for (int r = 0; r < 5; ++r)
        for (int k : {0, 1, 1023, 1024, 3071}) EXPECT_EQ(x[static_cast<size_t>(r * 3072 + k)], static_cast<float>((r + k) % 251));
}

TEST(Dataset, NpyNCHWUint8MemoryMappedRange) {
    TempDir d;
    const int64_t n = 1000, c = 2, h = 3, w = 4, e = c * h * w;
    std::vector<uint8_t> img(static_cast<size_t>(n * e));
    for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>(i % 253);
    std::vector<int64_t> lab(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) lab[static_cast<size_t>(i)] = i % 10;
    write_npy(d / "x.npy", {n, c, h, w}, img.data());
    write_npy(d / "y.npy", {n}, lab.data());
    write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\nshape: [2, 3, 4]\nclasses: 10\n");
    auto ds = open_dataset(d.str());
    EXPECT_EQ(ds->size(), n);
    EXPECT_EQ(ds->info().sample_shape, (Shape{2, 3, 4}));
    // Only the last three samples.
    std::vector<float> x(static_cast<size_t>(3 * e));
    std::vector<int32_t> y(3);
    ds->read(997, 3, x.data(), y.data());
    EXPECT_EQ(y, (std::vector<int32_t>{7, 8, 9}));
    for (int64_t k = 0; k < 3 * e; ++k) EXPECT_EQ(x[static_cast<size_t>(k)], static_cast<float>((997 * e + k) % 253));
    const std::string m = error_of([&] { ds->read(998, 3, x.data(), y.data()); });
    EXPECT_HAS(m, "read of samples [998, 1001) is out of range (the dataset has 1000 samples)");
    EXPECT_HAS(error_of([&] { ds->read(-1, 1, x.data(), y.data()); }), "out of range");
}

TEST(Dataset, NpyNHWCFloat32IsConvertedToCHW) {
    TempDir d;
    // Two samples, H=2, W=3, C=2 stored HWC: value = 1000*s + 100*c + 10*h + w.
    const int64_t n = 2, h = 2, w = 3, c = 2;
    std::vector<float> img;
    for (int64_t s = 0; s < n; ++s)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x)
                for (int64_t ch = 0; ch < c; ++ch) img.push_back(static_cast<float>(1000 * s + 100 * ch + 10 * y + x) + 0.5f);
    const std::vector<int32_t> lab{1, 0};
    write_npy(d / "x.npy", {n, h, w, c}, img.data());
    write_npy(d / "y.npy", {n}, lab.data());
    write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\nlayout: NHWC\nshape: [2, 2, 3]\n");
    auto ds = open_dataset(d.str());
    EXPECT_EQ(ds->info().sample_shape, (Shape{2, 2, 3}));
    std::vector<float> out(24);
    std::vector<int32_t> y(2);
    ds->read(0, 2, out.data(), y.data());
    EXPECT_EQ(y, lab);
    for (int64_t s = 0; s < n; ++s)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t yy = 0; yy < h; ++yy)
                for (int64_t x = 0; x < w; ++x)
                    EXPECT_EQ(out[static_cast<size_t>(s * 12 + ch * 6 + yy * 3 + x)],
                              static_cast<float>(1000 * s + 100 * ch + 10 * yy + x) + 0.5f);
}

TEST(Dataset, NpyThreeDimensionalImagesHaveOneChannel) {
    TempDir d;
    const std::vector<uint8_t> img{1, 2, 3, 4, 5, 6, 7, 8};
    const std::vector<uint8_t> lab{3, 1};
    write_npy(d / "x.npy", {2, 2, 2}, img.data());
    write_npy(d / "y.npy", {2}, lab.data());
    write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\n");
    auto ds = open_dataset(d.str());
    EXPECT_EQ(ds->info().sample_shape, (Shape{1, 2, 2}));
    std::vector<float> x(4);
    std::vector<int32_t> y(1);
    ds->read(1, 1, x.data(), y.data());
    EXPECT_EQ(x, (std::vector<float>{5, 6, 7, 8}));
    EXPECT_EQ(y[0], 1);
}

TEST(Dataset, PreprocessingSectionIsParsed) {
    TempDir d;
    const std::vector<float> mean(6, 1.0f);
    write_npy(d / "mean.npy", {1, 2, 3}, mean.data());
    make_idx(d, "preprocessing:\n  scale: 0.5\n  mean_image: mean.npy\n");
    auto ds = open_dataset(d.str());
    EXPECT_TRUE(ds->info().has_preprocessing);
    EXPECT_EQ(ds->info().preprocessing.scale, 0.5);
    EXPECT_EQ(ds->info().preprocessing.mean_image, d / "mean.npy");
    EXPECT_EQ(ds->info().files.back(), d / "mean.npy");  // hashed with the data

    TempDir bad;
    make_idx(bad, "preprocessing:\n  scale: 0.5\n  sdt: 2\n");
    EXPECT_HAS(open_error(bad.str()), "dataset.yaml:6: key 'preprocessing.sdt': unknown key");
}

// ---- dataset.yaml errors ---------------------------------------------------------------------

TEST(Dataset, MissingDirectoryOrDatasetYaml) {
    TempDir d;
    EXPECT_HAS(open_error(d / "nope"), d / "nope" + ": dataset directory not found");
    EXPECT_HAS(open_error(d.str()), d / "dataset.yaml" + ": not found");
}

TEST(Dataset, UnknownKeyNamesKeyAndLine) {
    TempDir d;
    make_idx(d, "shpe: [1, 2, 3]\n");
    const std::string m = open_error(d.str());
    EXPECT_HAS(m, d / "dataset.yaml" + ":4: key 'shpe': unknown key");
    EXPECT_HAS(m, "name, format, images, labels, shape, layout, count, classes, preprocessing");
}

TEST(Dataset, WrongTypesNameKeyAndLine) {
    struct Case {
        std::string extra, message;
    };
    const std::vector<Case> cases = {
        {"count: ten\n", "dataset.yaml:4: key 'count': expected an integer, got 'ten'"},
        {"shape: 28\n", "dataset.yaml:4: key 'shape': expected a list of integers"},
        {"shape: [1, 28]\n", "dataset.yaml:4: key 'shape': expected [C, H, W]"},
        {"classes: [10]\n", "dataset.yaml:4: key 'classes': expected an integer"},
        {"classes: 0\n", "dataset.yaml:4: key 'classes': must be > 0"},
        {"layout: NHWC\n", "dataset.yaml:4: key 'layout': format idx is always stored NCHW"},
        {"layout: CHW\n", "dataset.yaml:4: key 'layout': expected NCHW or NHWC, got 'CHW'"},
        {"name: [a]\n", "dataset.yaml:4: key 'name': expected a string"},
        {"preprocessing: 3\n", "dataset.yaml:4: key 'preprocessing': expected a mapping"},
    };
    for (const Case& c : cases) {
        TempDir d;
        make_idx(d, c.extra);
        EXPECT_HAS(open_error(d.str()), c.message);
    }
    TempDir d;
    write_text(d / "dataset.yaml", "format: png\nimages: x\n");
    EXPECT_HAS(open_error(d.str()), "dataset.yaml:1: key 'format': unknown format 'png' (expected idx, cifar10_bin or npy)");
    write_text(d / "dataset.yaml", "images: x\n");
    EXPECT_HAS(open_error(d.str()), "key 'format': required key is missing");
    write_text(d / "dataset.yaml", "format: idx\nimages: {a: b}\nlabels: l\n");
    EXPECT_HAS(open_error(d.str()), "dataset.yaml:2: key 'images': expected a file name");
    write_text(d / "dataset.yaml", "format: idx\nimages: img\n");
    EXPECT_HAS(open_error(d.str()), "key 'labels': required key is missing for format idx");
    write_text(d / "dataset.yaml", "format: cifar10_bin\nimages: img\nlabels: lab\n");
    EXPECT_HAS(open_error(d.str()), "dataset.yaml:3: key 'labels': cifar10_bin stores the labels inside the records");
}

TEST(Dataset, YamlSyntaxErrorNamesLine) {
    TempDir d;
    write_text(d / "dataset.yaml", "format: idx\nimages: a\n  bad: x\n");
    EXPECT_HAS(open_error(d.str()), d / "dataset.yaml" + ":3:6: YAML syntax error");
}

TEST(Dataset, MissingDataFileNamesPathAndKey) {
    TempDir d;
    write_text(d / "dataset.yaml", "format: idx\nimages: missing-images.gz\nlabels: missing-labels.gz\n");
    EXPECT_HAS(open_error(d.str()), d / "missing-images.gz" + ": file not found (named by " + (d / "dataset.yaml") + ":2 key 'images')");
    write_bytes(d / "missing-images.gz", idx_images(1, 2, 2));
    EXPECT_HAS(open_error(d.str()), d / "missing-labels.gz" + ": file not found (named by " + (d / "dataset.yaml") + ":3 key 'labels')");
}

TEST(Dataset, TruncatedFilesAreReported) {
    {  // IDX with fewer pixels than the header says.
        TempDir d;
        make_idx(d);
        auto b = idx_images(3, 2, 3);
        b.resize(b.size() - 8);
        write_bytes(d / "img", b);
        EXPECT_HAS(open_error(d.str()), d / "img" + ": file truncated: header says 3 x 2 x 3 uint8 (18 bytes) but only 10 bytes of data");
    }
    {  // A header whose dimensions multiply past 2^40 bytes (the product used to wrap to 0).
        TempDir d;
        make_idx(d);
        auto b = idx_images(3, 2, 3);
        for (int k : {4, 8, 12}) b[static_cast<size_t>(k)] = 0x80;  // 2^31 x 2^31-ish x 2^31-ish
        write_bytes(d / "img", b);
        const std::string e = open_error(d.str());
        EXPECT_HAS(e, d / "img" + ": header says ");
        EXPECT_HAS(e, "more than 2^40 bytes; the file holds 18");
    }
    {  // A gzip stream cut in half.
        TempDir d;
        make_idx(d, "", true);
        std::ifstream in(d / "img.gz", std::ios::binary);
        std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        in.close();
        gz.resize(gz.size() / 2);
        write_bytes(d / "img.gz", gz);
        EXPECT_HAS(open_error(d.str()), d / "img.gz" + ": gzip data is truncated or corrupt");
    }
    {  // CIFAR record cut short.
        TempDir d;
        auto b = cifar_records({1, 2}, 0);
        b.resize(b.size() - 5);
        write_bytes(d / "c.bin", b);
        write_text(d / "dataset.yaml", "format: cifar10_bin\nimages: c.bin\n");
        EXPECT_HAS(open_error(d.str()), d / "c.bin" + ": 6141 bytes (after decompression) is not a positive multiple of the 3073-byte");
    }
    {  // npy images shorter than their header.
        TempDir d;
        const std::vector<uint8_t> img(10 * 784, 1);
        const std::vector<uint8_t> lab(10, 0);
        write_npy(d / "x.npy", {10, 28, 28}, img.data());
        write_npy(d / "y.npy", {10}, lab.data());
        fs::resize_file(d / "x.npy", 128 + 123);
        write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\n");
        EXPECT_HAS(open_error(d.str()), d / "x.npy" + ": file truncated: header says 10 x 28 x 28 uint8 (7840 bytes) but only 123 bytes of data");
    }
}

TEST(Dataset, WrongIdxMagicIsReported) {
    TempDir d;
    make_idx(d);
    write_text(d / "dataset.yaml", "format: idx\nimages: lab\nlabels: img\n");  // swapped
    EXPECT_HAS(open_error(d.str()), d / "lab" + ": not an IDX image file (magic 0x00000801 = 2049, expected 0x00000803 = 2051; this is an IDX label file)");
}

TEST(Dataset, LabelCountMismatchNamesBothFiles) {
    {
        TempDir d;
        make_idx(d);
        write_bytes(d / "lab", idx_labels({1, 2}));
        EXPECT_HAS(open_error(d.str()), "label count mismatch: " + (d / "lab") + " has 2 labels but " + (d / "img") + " has 3 images");
    }
    {
        TempDir d;
        const std::vector<float> img(4 * 3, 0.0f);
        const std::vector<int64_t> lab{0, 1, 2};
        write_npy(d / "x.npy", {4, 1, 3, 1}, img.data());
        write_npy(d / "y.npy", {3}, lab.data());
        write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\n");
        EXPECT_HAS(open_error(d.str()), "label count mismatch: " + (d / "y.npy") + " has 3 labels but " + (d / "x.npy") + " has 4 images");
    }
}

TEST(Dataset, ShapeAndCountMismatchNameBoth) {
    TempDir d;
    make_idx(d, "shape: [1, 28, 28]\n");
    EXPECT_HAS(open_error(d.str()), "dataset.yaml:4: key 'shape': [1, 28, 28] does not match " + (d / "img") +
                                        ", which holds samples of shape [1, 2, 3]");
    TempDir c;
    make_idx(c, "count: 10000\n");
    EXPECT_HAS(open_error(c.str()), "dataset.yaml:4: key 'count': 10000 does not match " + (c / "img") + ", which holds 3 samples");
    TempDir n;
    const std::vector<uint8_t> img(2 * 12, 0);
    const std::vector<uint8_t> lab{0, 1};
    write_npy(n / "x.npy", {2, 2, 2, 3}, img.data());
    write_npy(n / "y.npy", {2}, lab.data());
    // Stored NHWC (C=3) but declared NCHW: the shape check catches it.
    write_text(n / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\nshape: [3, 2, 2]\n");
    EXPECT_HAS(open_error(n.str()), "key 'shape': [3, 2, 2] does not match " + (n / "x.npy") + ", which holds samples of shape [2, 2, 3]");
}

TEST(Dataset, LabelsOutsideClassesAreReported) {
    TempDir d;
    make_idx(d, "classes: 5\n");  // labels are 4 0 9
    EXPECT_HAS(open_error(d.str()), d / "lab" + ": label at index 2 is 9, outside [0, 5) (classes: 5 at " + (d / "dataset.yaml") + ":4)");
    TempDir c;
    write_bytes(c / "c.bin", cifar_records({1, 12}, 0));
    write_text(c / "dataset.yaml", "format: cifar10_bin\nimages: c.bin\n");
    EXPECT_HAS(open_error(c.str()), c / "c.bin" + ": label of record 1 is 12, outside [0, 10) (cifar10_bin has 10 classes)");
}

TEST(Dataset, BadNpyDtypesAreReported) {
    TempDir d;
    const std::vector<int64_t> img(2 * 4, 0);
    const std::vector<uint8_t> lab{0, 1};
    write_npy(d / "x.npy", {2, 1, 2, 2}, img.data());
    write_npy(d / "y.npy", {2}, lab.data());
    write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\n");
    EXPECT_HAS(open_error(d.str()), d / "x.npy" + ": images must be uint8, float32 or float64, got int64 ('<i8')");

    fs::copy_file(kSource + "/tests/fixtures/npy/complex.npy", d / "x.npy", fs::copy_options::overwrite_existing);
    EXPECT_HAS(open_error(d.str()), d / "x.npy" + ": unsupported dtype '<c8'");

    const std::vector<float> img_ok(8, 0.0f), lab_f{0.0f, 1.0f};
    write_npy(d / "x.npy", {2, 1, 2, 2}, img_ok.data());
    write_npy(d / "y.npy", {2}, lab_f.data());
    EXPECT_HAS(open_error(d.str()), d / "y.npy" + ": expected an integer dtype, got float32");

    const std::vector<int64_t> lab2{0, 1};
    write_npy(d / "y.npy", {2, 1}, lab2.data());
    EXPECT_HAS(open_error(d.str()), d / "y.npy" + ": labels must have shape (N,), got [2, 1]");

    write_npy(d / "x.npy", {8}, img_ok.data());
    write_npy(d / "y.npy", {2}, lab2.data());
    EXPECT_HAS(open_error(d.str()), d / "x.npy" + ": images have shape [8]; expected (N, C, H, W)");

    write_text(d / "dataset.yaml", "format: npy\nimages: x.npy.gz\nlabels: y.npy\n");
    write_text(d / "x.npy.gz", "");
    EXPECT_HAS(open_error(d.str()), d / "x.npy.gz" + ": npy images are memory-mapped and cannot be gzip-compressed");
}

// Data that no evaluation can use: an empty set (its report would read "0/0 correct"), float
// pixels that are NaN or infinite, a calibration set that is not there.
TEST(Dataset, EmptyNonFiniteAndMissingCalibrationAreReported) {
    TempDir d;
    const std::vector<float> none;
    const std::vector<int64_t> no_labels;
    write_npy(d / "x.npy", {0, 1, 2, 2}, none.data());
    write_npy(d / "y.npy", {0}, no_labels.data());
    write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\n");
    EXPECT_HAS(open_error(d.str()), d / "dataset.yaml" + ": the dataset holds no samples");

    std::vector<float> img(3 * 4, 0.5f);
    img[4 + 2] = std::nanf("");
    const std::vector<int64_t> lab{0, 1, 2};
    write_npy(d / "x.npy", {3, 1, 2, 2}, img.data());
    write_npy(d / "y.npy", {3}, lab.data());
    auto ds = open_dataset(d.str());
    std::vector<float> x(12);
    std::vector<int32_t> y(3);
    ds->read(0, 1, x.data(), y.data());  // sample 0 is fine
    EXPECT_HAS(error_of([&] { ds->read(0, 3, x.data(), y.data()); }), d / "x.npy" + ": sample 1 holds NaN at element 2");
    img[4 + 2] = INFINITY;
    write_npy(d / "x.npy", {3, 1, 2, 2}, img.data());
    ds = open_dataset(d.str());
    EXPECT_HAS(error_of([&] { ds->read(1, 1, x.data(), y.data()); }), d / "x.npy" + ": sample 1 holds an infinity at element 2");

    write_text(d / "dataset.yaml", "format: npy\nimages: x.npy\nlabels: y.npy\ncalibration: ../no-such-calib\n");
    EXPECT_HAS(open_error(d.str()), d / "dataset.yaml" + ":4: key 'calibration': ");
    EXPECT_HAS(open_error(d.str()), "no-such-calib is not a dataset directory");
}

// ---- BatchStream ---------------------------------------------------------------------------

TEST(BatchStream, DeliversEverySampleOnceInOrder) {
    for (bool prefetch : {true, false}) {
        FakeDataset ds(103, {1, 2, 2});
        BatchStreamOptions o;
        o.batch_size = 10;
        o.prefetch = prefetch;
        BatchStream s(ds, nullptr, o);
        EXPECT_EQ(s.num_samples(), 103);
        EXPECT_EQ(s.num_batches(), 11);
        Batch b;
        int64_t seen = 0, batches = 0;
        while (s.next(b)) {
            EXPECT_EQ(b.index, batches);
            EXPECT_EQ(b.first, seen);
            const int64_t n = batches == 10 ? 3 : 10;
            ASSERT_EQ(b.size(), n);
            EXPECT_EQ(b.x.shape, (Shape{n, 1, 2, 2}));
            for (int64_t i = 0; i < n; ++i) {
                EXPECT_EQ(b.labels[static_cast<size_t>(i)], (seen + i) % 7);
                for (int k = 0; k < 4; ++k) EXPECT_EQ(b.x.data[static_cast<size_t>(i * 4 + k)], static_cast<float>(seen + i));
            }
            seen += n;
            ++batches;
        }
        EXPECT_EQ(seen, 103);
        EXPECT_FALSE(s.next(b));  // stays at the end
        s.rewind();
        ASSERT_TRUE(s.next(b));
        EXPECT_EQ(b.first, 0);
    }
}

TEST(BatchStream, LimitOffsetAndPreprocessing) {
    FakeDataset ds(100, {1, 1, 2});
    PreprocessSpec spec;
    spec.scale = 2.0;
    spec.mean = {1.0};
    const Preprocessor pre(spec, {1, 1, 2});
    BatchStreamOptions o;
    o.batch_size = 10;
    o.limit = 25;
    o.offset = 5;
    BatchStream s(ds, &pre, o);
    std::vector<int64_t> sizes;
    Batch b;
    while (s.next(b)) {
        sizes.push_back(b.size());
        for (int64_t i = 0; i < b.size(); ++i)
            EXPECT_EQ(b.x.data[static_cast<size_t>(2 * i)], 2.0f * static_cast<float>(b.first + i) - 1.0f);
    }
    EXPECT_EQ(sizes, (std::vector<int64_t>{10, 10, 5}));
    EXPECT_EQ(b.first, 25);

    o.limit = 1000;  // clipped to what is there
    BatchStream all(ds, nullptr, o);
    EXPECT_EQ(all.num_samples(), 95);
}

TEST(BatchStream, ReadsAheadOnABackgroundThread) {
    FakeDataset ds(50, {1, 1, 1});
    BatchStreamOptions o;
    o.batch_size = 10;
    BatchStream s(ds, nullptr, o);
    Batch b;
    ASSERT_TRUE(s.next(b));
    // While the caller holds batch 0, batch 1 is read without being asked for...
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ds.reads.load() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(ds.reads.load(), 2);
    // ...but not batch 2 (one batch of read-ahead).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(ds.reads.load(), 2);
    ASSERT_TRUE(s.next(b));
    EXPECT_EQ(b.first, 10);
}

TEST(BatchStream, RethrowsReaderErrorsAfterEarlierBatches) {
    FakeDataset ds(50, {1, 1, 1}, /*fail_at=*/25);
    BatchStreamOptions o;
    o.batch_size = 10;
    BatchStream s(ds, nullptr, o);
    Batch b;
    ASSERT_TRUE(s.next(b));
    ASSERT_TRUE(s.next(b));
    EXPECT_EQ(b.first, 10);
    EXPECT_HAS(error_of([&] { s.next(b); }), "fake: sample 25 is unreadable");
}

TEST(BatchStream, DestructorStopsAReadInProgress) {
    FakeDataset ds(1000, {1, 1, 1}, -1, /*sleep_ms=*/20);
    const auto start = std::chrono::steady_clock::now();
    {
        BatchStreamOptions o;
        o.batch_size = 10;
        BatchStream s(ds, nullptr, o);
        Batch b;
        ASSERT_TRUE(s.next(b));
    }  // joins after at most the batch being read
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_LE(ds.reads.load(), 3);
}

TEST(BatchStream, RejectsBadOptions) {
    FakeDataset ds(10, {1, 2, 2});
    BatchStreamOptions o;
    o.batch_size = 0;
    EXPECT_HAS(error_of([&] { BatchStream s(ds, nullptr, o); }), "dataset 'fake': batch size must be > 0");
    o.batch_size = 4;
    o.offset = 11;
    EXPECT_HAS(error_of([&] { BatchStream s(ds, nullptr, o); }), "first sample 11 is outside the dataset of 10 samples");
    o.offset = 0;
    PreprocessSpec spec;
    spec.scale = 0.5;
    const Preprocessor pre(spec, {3, 2, 2});
    EXPECT_HAS(error_of([&] { BatchStream s(ds, &pre, o); }),
               "preprocessing was set up for samples of shape [3, 2, 2] but the dataset's samples have shape [1, 2, 2]");
}

TEST(BatchStream, BundledMnistWithScaling) {
    auto ds = open_dataset(kSource + "/data/mnist-test");
    PreprocessSpec spec;
    spec.scale = 1.0 / 255.0;
    const Preprocessor pre(spec, ds->info().sample_shape);
    BatchStreamOptions o;
    o.batch_size = 256;
    o.limit = 1000;
    BatchStream s(*ds, &pre, o);
    Batch b;
    ASSERT_TRUE(s.next(b));
    EXPECT_EQ(b.x.shape, (Shape{256, 1, 28, 28}));
    EXPECT_EQ(b.labels[0], 7);
    EXPECT_FLOAT_EQ(b.x.data[12 * 28 + 19], 1.0f);            // pixel 255
    EXPECT_FLOAT_EQ(b.x.data[12 * 28 + 18], 233.0f / 255.0f);  // pixel 233
    int64_t total = b.size();
    while (s.next(b)) total += b.size();
    EXPECT_EQ(total, 1000);
    EXPECT_EQ(b.size(), 1000 - 3 * 256);
}
