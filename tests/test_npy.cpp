// NumPy .npy reader/writer. Fixtures in tests/fixtures/npy/ were written by NumPy itself
// (make_fixtures.py there); the expected values below are the literals of that script.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/npy.hpp"

namespace fs = std::filesystem;
using namespace xbarsim;

namespace {

const std::string kFixtures = std::string(XBARSIM_SOURCE_DIR) + "/tests/fixtures/npy/";

using xbarsim::test::TempDir;

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Runs `f`, expecting an xbarsim::Error; returns its message ("" and a test failure otherwise).
using xbarsim::test::error_of;

}  // namespace

TEST(Npy, ReadsFloat32Version1) {
    const NpyArray a = read_npy(kFixtures + "f4_v1.npy");
    EXPECT_EQ(a.shape(), (Shape{3, 4}));
    EXPECT_EQ(a.dtype(), "<f4");
    EXPECT_EQ(a.header.version_major, 1);
    EXPECT_EQ(a.header.dtype_name(), "float32");
    const auto v = a.to_float();
    ASSERT_EQ(v.size(), 12u);
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], -1.0f + 0.5f * static_cast<float>(i)) << i;
}

TEST(Npy, ReadsFloat64Version2) {
    const NpyArray a = read_npy(kFixtures + "f8_v2.npy");
    EXPECT_EQ(a.shape(), (Shape{2, 3}));
    EXPECT_EQ(a.dtype(), "<f8");
    EXPECT_EQ(a.header.version_major, 2);
    EXPECT_EQ(a.to_float(), (std::vector<float>{1.5f, -2.25f, 1e10f, 0.1f, -0.0f, 7.0f}));
}

TEST(Npy, ReadsUint8Version3) {
    const NpyArray a = read_npy(kFixtures + "u1_v3.npy");
    EXPECT_EQ(a.shape(), (Shape{2, 2, 2}));
    EXPECT_EQ(a.dtype(), "|u1");
    EXPECT_EQ(a.header.version_major, 3);
    EXPECT_EQ(a.to_float(), (std::vector<float>{0, 30, 60, 90, 120, 150, 180, 210}));
    EXPECT_EQ(a.to_int64(), (std::vector<int64_t>{0, 30, 60, 90, 120, 150, 180, 210}));
}

TEST(Npy, ReadsIntegersAndBool) {
    EXPECT_EQ(read_npy(kFixtures + "i8.npy").to_int64(), (std::vector<int64_t>{0, -1, int64_t{1} << 40, 7, 9}));
    EXPECT_EQ(read_npy(kFixtures + "i4.npy").to_int64(), (std::vector<int64_t>{-5, 0, 5, 2147483647}));
    EXPECT_EQ(read_npy(kFixtures + "i4.npy").to_float(), (std::vector<float>{-5.0f, 0.0f, 5.0f, 2147483648.0f}));
    EXPECT_EQ(read_npy(kFixtures + "b1.npy").to_int64(), (std::vector<int64_t>{1, 0, 1}));
}

TEST(Npy, ReadsScalarAndEmpty) {
    const NpyArray s = read_npy(kFixtures + "scalar_f4.npy");
    EXPECT_TRUE(s.shape().empty());
    EXPECT_EQ(s.to_float(), (std::vector<float>{3.25f}));
    const NpyArray e = read_npy(kFixtures + "empty_f4.npy");
    EXPECT_EQ(e.shape(), (Shape{0, 3}));
    EXPECT_TRUE(e.to_float().empty());
}

TEST(Npy, FloatToInt64IsAnError) {
    const std::string msg = error_of([] { (void)read_npy(kFixtures + "f4_v1.npy").to_int64(); });
    EXPECT_HAS(msg, "f4_v1.npy");
    EXPECT_HAS(msg, "expected an integer dtype, got float32");
}

TEST(Npy, RejectsUnsupportedInputsNamingTheFile) {
    struct Case {
        const char* file;
        const char* message;
    };
    const Case cases[] = {
        {"complex.npy", "complex.npy: unsupported dtype '<c8'"},
        {"fortran.npy", "fortran.npy: fortran_order is True"},
        {"bigendian.npy", "bigendian.npy: big-endian dtype '>f4' is not supported"},
        {"structured.npy", "structured.npy: unsupported dtype (structured"},
        {"does_not_exist.npy", "does_not_exist.npy: cannot open"},
        {"make_fixtures.py", "make_fixtures.py: not a .npy file"},
    };
    for (const Case& c : cases) {
        const std::string path = kFixtures + c.file;
        EXPECT_HAS(error_of([&] { (void)read_npy(path); }), c.message);
        EXPECT_HAS(error_of([&] { NpyMap m(path); }), c.message);
    }
}

TEST(Npy, RejectsTruncatedAndOverlongFiles) {
    TempDir tmp;
    std::vector<uint8_t> b = file_bytes(kFixtures + "f4_v1.npy");
    ASSERT_EQ(b.size(), 128u + 48u);
    const std::string cut = tmp / "cut.npy";
    write_bytes(cut, std::vector<uint8_t>(b.begin(), b.end() - 5));
    const std::string expected = "cut.npy: file truncated: header says 3 x 4 float32 (48 bytes) but only 43 bytes of data";
    EXPECT_HAS(error_of([&] { (void)read_npy(cut); }), expected);
    EXPECT_HAS(error_of([&] { NpyMap m(cut); }), expected);

    const std::string head = tmp / "head.npy";
    write_bytes(head, std::vector<uint8_t>(b.begin(), b.begin() + 40));
    EXPECT_HAS(error_of([&] { (void)read_npy(head); }), "head.npy: file truncated inside the .npy header");

    const std::string longer = tmp / "long.npy";
    b.push_back(0);
    write_bytes(longer, b);
    EXPECT_HAS(error_of([&] { (void)read_npy(longer); }), "long.npy: file has 49 bytes of data but the header says 3 x 4 float32");
}

TEST(Npy, WriterMatchesNumpyByteForByte) {
    TempDir tmp;
    std::vector<float> v(12);
    for (size_t i = 0; i < v.size(); ++i) v[i] = -1.0f + 0.5f * static_cast<float>(i);
    write_npy(tmp / "mine.npy", {3, 4}, v.data());
    EXPECT_EQ(file_bytes(tmp / "mine.npy"), file_bytes(kFixtures + "f4_v1.npy"));
}

TEST(Npy, RoundTripsEveryWrittenDtype) {
    TempDir tmp;
    const std::vector<float> f{1.0f, -2.5f, 3.25f, 1e-7f, 6.0f, -0.0f};
    const std::vector<double> d{1.0, -2.5, 1e300, 0.1, 5.0, 6.0};
    const std::vector<uint8_t> u{0, 1, 127, 128, 254, 255};
    const std::vector<int32_t> i4{-2147483647 - 1, -1, 0, 1, 42, 2147483647};
    const std::vector<int64_t> i8{INT64_MIN, -1, 0, 1, int64_t{1} << 53, INT64_MAX};
    write_npy(tmp / "f.npy", {2, 3}, f.data());
    write_npy(tmp / "d.npy", {6}, d.data());
    write_npy(tmp / "u.npy", {1, 2, 3}, u.data());
    write_npy(tmp / "i4.npy", {3, 2}, i4.data());
    write_npy(tmp / "i8.npy", {6}, i8.data());

    const NpyArray af = read_npy(tmp / "f.npy");
    EXPECT_EQ(af.shape(), (Shape{2, 3}));
    EXPECT_EQ(af.to_float(), f);
    const NpyArray ad = read_npy(tmp / "d.npy");
    EXPECT_EQ(ad.dtype(), "<f8");
    std::vector<double> back(6);
    std::memcpy(back.data(), ad.bytes.data(), 48);
    EXPECT_EQ(back, d);
    const NpyArray au = read_npy(tmp / "u.npy");
    EXPECT_EQ(au.dtype(), "|u1");
    EXPECT_EQ(au.shape(), (Shape{1, 2, 3}));
    EXPECT_EQ(au.bytes, u);
    EXPECT_EQ(read_npy(tmp / "i4.npy").to_int64(), (std::vector<int64_t>(i4.begin(), i4.end())));
    EXPECT_EQ(read_npy(tmp / "i8.npy").to_int64(), i8);
    for (const char* n : {"f.npy", "d.npy", "u.npy", "i4.npy", "i8.npy"})
        EXPECT_EQ(read_npy(tmp / n).header.data_offset % 64, 0u) << n;
}

TEST(NpyMap, CopiesARangeOfALargeFile) {
    TempDir tmp;
    const int64_t rows = 5000, cols = 13;
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f;
    write_npy(tmp / "big.npy", {rows, cols}, v.data());

    NpyMap m(tmp / "big.npy");
    EXPECT_EQ(m.shape(), (Shape{rows, cols}));
    EXPECT_EQ(m.size(), rows * cols);
    EXPECT_EQ(m.item_size(), 4u);
    EXPECT_EQ(m.data_offset(), 128u);
    std::vector<float> out(3 * cols);
    m.copy_float(4000 * cols, 3 * cols, out.data());
    for (int64_t i = 0; i < 3 * cols; ++i) EXPECT_EQ(out[static_cast<size_t>(i)], static_cast<float>(4000 * cols + i) * 0.25f);

    // The raw pointer sees the same bytes.
    float last;
    std::memcpy(&last, m.data() + (rows * cols - 1) * 4, 4);
    EXPECT_EQ(last, v.back());

    NpyMap moved(std::move(m));
    moved.copy_float(0, 2, out.data());
    EXPECT_EQ(out[1], 0.25f);
    const std::string msg = error_of([&] { moved.copy_float(rows * cols - 1, 2, out.data()); });
    EXPECT_HAS(msg, "big.npy: element range [64999, 65001) is outside the array of 65000 elements");
}

TEST(NpyMap, ConvertsIntegerLabels) {
    NpyMap m(kFixtures + "i8.npy");
    std::vector<int64_t> out(3);
    m.copy_int64(1, 3, out.data());
    EXPECT_EQ(out, (std::vector<int64_t>{-1, int64_t{1} << 40, 7}));
    std::vector<float> f(2);
    NpyMap(kFixtures + "u1_v3.npy").copy_float(6, 2, f.data());
    EXPECT_EQ(f, (std::vector<float>{180.0f, 210.0f}));
}
