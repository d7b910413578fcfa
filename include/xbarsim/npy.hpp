#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order, little-endian.
//
// Two ways in:
//   * read_npy(path)  loads the whole array (small files: mean images, labels, fixtures);
//   * NpyMap(path)    memory-maps the file and parses the header only, so large datasets are
//                     streamed: only the pages of the elements actually copied are touched.
// Supported dtypes: float32 (<f4), float64 (<f8), float16 is not; signed and unsigned integers of
// 1, 2, 4 and 8 bytes (|i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8) and bool (|b1). Anything else (complex,
// strings, structured dtypes, objects), big-endian data and fortran_order=True is an Error that
// names the file and what is wrong.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "xbarsim/tensor.hpp"

namespace xbarsim {

// The parsed header of a .npy file.
struct NpyHeader {
    std::string descr;        // dtype as written in the file, e.g. "<f4", "|u1"
    char kind = 0;            // 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool
    size_t item_size = 0;     // bytes per element
    Shape shape;              // () for a scalar
    size_t data_offset = 0;   // byte offset of the first element from the start of the file
    int version_major = 1;

    int64_t count() const { return numel(shape); }           // number of elements
    size_t data_bytes() const { return static_cast<size_t>(count()) * item_size; }
    std::string dtype_name() const;                        // "float32", "uint8", ...
    bool is_float() const { return kind == 'f'; }
    bool is_integer() const { return kind == 'i' || kind == 'u' || kind == 'b'; }
};

// Parses the header at the start of `bytes` (the first `size` bytes of the file; the whole file
// for full validation). Checks the magic, version, dtype and order, and that `file_size` bytes
// hold the whole array. `path` is only used in messages.
NpyHeader parse_npy_header(const std::string& path, const uint8_t* bytes, size_t size, size_t file_size);

// Converts `n` elements of dtype `h` stored at `src` (any alignment) to float / int64.
// to-int64 of a float dtype is an Error (labels must be integers); uint64 values above
// INT64_MAX are an Error.
void npy_convert_to_float(const NpyHeader& h, const uint8_t* src, size_t n, float* dst);
void npy_convert_to_int64(const std::string& path, const NpyHeader& h, const uint8_t* src, size_t n, int64_t* dst);

// A whole array in memory, raw bytes as stored (little-endian).
struct NpyArray {
    std::string path;
    NpyHeader header;
    std::vector<uint8_t> bytes;

    const Shape& shape() const { return header.shape; }
    const std::string& dtype() const { return header.descr; }
    int64_t size() const { return header.count(); }
    std::vector<float> to_float() const;
    std::vector<int64_t> to_int64() const;  // integer and bool dtypes only
};

NpyArray read_npy(const std::string& path);

// Read-only memory map of a .npy file. Move-only; unmaps on destruction.
class NpyMap {
public:
    explicit NpyMap(const std::string& path);
    ~NpyMap();
    NpyMap(NpyMap&& other) noexcept;
    NpyMap& operator=(NpyMap&& other) noexcept;
    NpyMap(const NpyMap&) = delete;
    NpyMap& operator=(const NpyMap&) = delete;

    const std::string& path() const { return path_; }
    const NpyHeader& header() const { return header_; }
    const Shape& shape() const { return header_.shape; }
    const std::string& dtype() const { return header_.descr; }
    int64_t size() const { return header_.count(); }
    size_t item_size() const { return header_.item_size; }
    size_t data_offset() const { return header_.data_offset; }
    // First element (may be unaligned for the element type: copy with memcpy or the helpers).
    const uint8_t* data() const { return base_ + header_.data_offset; }

    // Converts flat elements [first, first + n) (C order) to float / int64. Range-checked.
    void copy_float(int64_t first, int64_t n, float* out) const;
    void copy_int64(int64_t first, int64_t n, int64_t* out) const;

private:
    void check_range(int64_t first, int64_t n) const;
    std::string path_;
    NpyHeader header_;
    const uint8_t* base_ = nullptr;
    size_t file_size_ = 0;
};

// Writes a C-order little-endian .npy (format 1.0, or 2.0 when the header needs it).
void write_npy(const std::string& path, const Shape& shape, const float* data);
void write_npy(const std::string& path, const Shape& shape, const double* data);
void write_npy(const std::string& path, const Shape& shape, const uint8_t* data);
void write_npy(const std::string& path, const Shape& shape, const int32_t* data);
void write_npy(const std::string& path, const Shape& shape, const int64_t* data);

}  // namespace xbarsim
