#pragma once
// Helpers shared by the tests: repository paths, fixture loading, tolerant comparison, and
// running the CLI binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "xbarsim/error.hpp"
#include "xbarsim/npy.hpp"
#include "xbarsim/tensor.hpp"

namespace xbarsim::test {

inline std::string repo(const std::string& relative) { return std::string(XBARSIM_SOURCE_DIR) + "/" + relative; }

inline Tensor load_tensor(const std::string& path) {
    const NpyArray a = read_npy(path);
    return Tensor(a.shape(), a.to_float());
}

// max |got - want| <= tol * max(1, max |want|): relative to the tensor's scale, absolute near 0.
inline ::testing::AssertionResult close(const Tensor& got, const Tensor& want, double tol) {
    if (got.shape != want.shape)
        return ::testing::AssertionFailure() << "shape " << shape_str(got.shape) << " != " << shape_str(want.shape);
    double scale = 1.0, worst = 0.0;
    size_t at = 0;
    for (float v : want.data) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    for (size_t i = 0; i < got.data.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got.data[i]) - want.data[i]);
        if (!(d <= worst)) {  // also catches NaN
            worst = d;
            at = i;
        }
    }
    if (worst <= tol * scale) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "max difference " << worst << " at element " << at << " (got "
                                         << got.data[at] << ", want " << want.data[at] << ") exceeds " << tol
                                         << " x " << scale;
}

// A fresh, empty temporary directory removed at the end of the test. Unique across processes
// (ctest runs tests in parallel) and within one.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("xbarsim_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::string operator/(const std::string& name) const { return file(name); }
    std::string str() const { return path.string(); }

    std::filesystem::path path;
};

// The message of the xbarsim::Error that `f` throws (a test failure when it throws none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected an xbarsim::Error";
    return "";
}

#define EXPECT_HAS(msg, sub) EXPECT_NE((msg).find(sub), std::string::npos) << "message: " << (msg) << "\nmissing: " << (sub)

struct CommandResult {
    int status = -1;
    std::string output;  // stdout and stderr together
};

// Runs the xbarsim CLI with `args` (a shell-quoted string) and captures its output.
CommandResult run_cli(const std::string& args);

}  // namespace xbarsim::test
