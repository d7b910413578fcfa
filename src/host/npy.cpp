// NumPy .npy reading (whole-file and memory-mapped) and writing. Format reference:
// numpy/lib/format.py ("NEP 1"): magic "\x93NUMPY", major, minor, little-endian header length
// (uint16 for 1.0, uint32 for 2.0/3.0), then a Python dict literal with descr, fortran_order and
// shape, padded with spaces and terminated by '\n'; the data follows.
#include "xbarsim/npy.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <utility>

#include "xbarsim/error.hpp"

namespace xbarsim {

static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw Error(path + ": " + what); }

// ---- A tiny parser for the Python literal subset used in .npy headers ----------------------

struct PyValue {
    enum class Type { Str, Int, Bool, None, Seq, Dict } type = Type::None;
    std::string str;
    int64_t num = 0;
    bool boolean = false;
    std::vector<PyValue> items;                           // Seq
    std::vector<std::pair<std::string, PyValue>> entries;  // Dict
};

class PyParser {
public:
    PyParser(const std::string& path, std::string_view text) : path_(path), s_(text) {}

    PyValue parse_top() {
        PyValue v = value();
        skip_ws();
        if (pos_ != s_.size()) error("unexpected text after the header dictionary");
        return v;
    }

private:
    [[noreturn]] void error(const std::string& what) const {
        fail(path_, "malformed .npy header (" + what + "): " + std::string(s_));
    }
    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }
    bool eat(char c) {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool starts(std::string_view w) const { return s_.substr(pos_, w.size()) == w; }

    PyValue value() {
        skip_ws();
        if (pos_ >= s_.size()) error("unexpected end");
        const char c = s_[pos_];
        PyValue v;
        if (c == '\'' || c == '"') {
            v.type = PyValue::Type::Str;
            v.str = string_literal();
        } else if (c == '{') {
            ++pos_;
            v.type = PyValue::Type::Dict;
            while (!eat('}')) {
                skip_ws();
                if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) error("expected a string key");
                std::string key = string_literal();
                if (!eat(':')) error("expected ':'");
                v.entries.emplace_back(std::move(key), value());
                if (!eat(',')) {
                    if (!eat('}')) error("expected ',' or '}'");
                    break;
                }
            }
        } else if (c == '(' || c == '[') {
            const char close = c == '(' ? ')' : ']';
            ++pos_;
            v.type = PyValue::Type::Seq;
            while (!eat(close)) {
                v.items.push_back(value());
                if (!eat(',')) {
                    if (!eat(close)) error(std::string("expected ',' or '") + close + "'");
                    break;
                }
            }
        } else if (starts("True")) {
            pos_ += 4;
            v.type = PyValue::Type::Bool;
            v.boolean = true;
        } else if (starts("False")) {
            pos_ += 5;
            v.type = PyValue::Type::Bool;
        } else if (starts("None")) {
            pos_ += 4;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            v.type = PyValue::Type::Int;
            const bool neg = c == '-';
            if (neg) ++pos_;
            if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') error("expected a digit");
            int64_t n = 0;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
                if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) error("integer too large");
                n = n * 10 + (s_[pos_] - '0');
                ++pos_;
            }
            if (pos_ < s_.size() && (s_[pos_] == 'L' || s_[pos_] == 'l')) ++pos_;  // Python 2 long
            v.num = neg ? -n : n;
        } else {
            error(std::string("unexpected character '") + c + "'");
        }
        return v;
    }

    std::string string_literal() {
        const char q = s_[pos_++];
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != q) {
            if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
            out += s_[pos_++];
        }
        if (pos_ >= s_.size()) error("unterminated string");
        ++pos_;
        return out;
    }

    const std::string& path_;
    std::string_view s_;
    size_t pos_ = 0;
};

uint32_t read_le(const uint8_t* p, int bytes) {
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::string dims_text(const Shape& shape) {
    if (shape.empty()) return "a scalar";
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
    return s;
}

// Fills kind/item_size from descr, or fails with a message naming the dtype.
void parse_descr(const std::string& path, NpyHeader& h) {
    const std::string& d = h.descr;
    size_t p = 0;
    char order = '=';
    if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=')) order = d[p++];
    if (p >= d.size()) fail(path, "unsupported dtype '" + d + "'");
    const char kind = d[p++];
    size_t size = 0;
    bool digits = p < d.size();
    for (; p < d.size(); ++p) {
        if (d[p] < '0' || d[p] > '9') {
            digits = false;
            break;
        }
        size = size * 10 + static_cast<size_t>(d[p] - '0');
    }
    bool ok = digits;
    if (ok) {
        switch (kind) {
            case 'f': ok = size == 4 || size == 8; break;
            case 'i':
            case 'u': ok = size == 1 || size == 2 || size == 4 || size == 8; break;
            case 'b': ok = size == 1; break;
            default: ok = false;
        }
    }
    if (!ok)
        fail(path, "unsupported dtype '" + d +
                       "' (supported: float32, float64, int8..int64, uint8..uint64, bool; little-endian)");
    if (order == '>' && size > 1)
        fail(path, "big-endian dtype '" + d + "' is not supported (convert it with arr.astype('<" + kind +
                       std::to_string(size) + "'))");
    h.kind = kind;
    h.item_size = size;
}

template <class T, class O>
void convert(const uint8_t* src, size_t n, O* dst) {
    for (size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, src + i * sizeof(T), sizeof(T));
        dst[i] = static_cast<O>(v);
    }
}

std::string shape_tuple(const Shape& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) s += ",";
    return s + ")";
}

void write_npy_raw(const std::string& path, const Shape& shape, const std::string& descr, size_t item_size,
                   const void* data) {
    for (int64_t d : shape)
        if (d < 0) fail(path, "cannot write a .npy with negative dimension in shape " + shape_str(shape));
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
    // Pad so that the data starts on a 64-byte boundary, as numpy does.
    size_t prefix = 10;
    int major = 1;
    if (dict.size() + 1 + prefix > 65535) {
        prefix = 12;
        major = 2;
    }
    const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';
    std::string head = "\x93NUMPY";
    head += static_cast<char>(major);
    head += '\0';
    const size_t hlen = dict.size();
    for (size_t i = 0; i < prefix - 8; ++i) head += static_cast<char>((hlen >> (8 * i)) & 0xff);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
    const size_t bytes = static_cast<size_t>(numel(shape)) * item_size;
    if (bytes) out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    out.close();
    if (!out) fail(path, "write failed");
}

}  // namespace

// ---- Header ------------------------------------------------------------------------------

std::string NpyHeader::dtype_name() const {
    switch (kind) {
        case 'f': return "float" + std::to_string(item_size * 8);
        case 'i': return "int" + std::to_string(item_size * 8);
        case 'u': return "uint" + std::to_string(item_size * 8);
        case 'b': return "bool";
        default: return descr;
    }
}

NpyHeader parse_npy_header(const std::string& path, const uint8_t* bytes, size_t size, size_t file_size) {
    static const char magic[] = "\x93NUMPY";
    if (size < 10 || std::memcmp(bytes, magic, 6) != 0)
        fail(path, "not a .npy file (missing the \\x93NUMPY magic)");
    NpyHeader h;
    h.version_major = bytes[6];
    const int minor = bytes[7];
    size_t prefix = 0;
    if (h.version_major == 1) {
        prefix = 10;
    } else if (h.version_major == 2 || h.version_major == 3) {
        prefix = 12;
        if (size < prefix) fail(path, "file truncated inside the .npy header");
    } else {
        fail(path, "unsupported .npy format version " + std::to_string(h.version_major) + "." + std::to_string(minor));
    }
    const size_t hlen = read_le(bytes + 8, static_cast<int>(prefix - 8));
    if (prefix + hlen > size) fail(path, "file truncated inside the .npy header");
    h.data_offset = prefix + hlen;
    const std::string_view text(reinterpret_cast<const char*>(bytes + prefix), hlen);

    const PyValue dict = PyParser(path, text).parse_top();
    if (dict.type != PyValue::Type::Dict) fail(path, "malformed .npy header (not a dictionary)");
    bool have_descr = false, have_order = false, have_shape = false;
    for (const auto& [key, v] : dict.entries) {
        if (key == "descr") {
            if (v.type != PyValue::Type::Str)
                fail(path, "unsupported dtype (structured or non-string descr; only plain numeric arrays are read)");
            h.descr = v.str;
            have_descr = true;
        } else if (key == "fortran_order") {
            if (v.type != PyValue::Type::Bool) fail(path, "malformed .npy header (fortran_order is not True/False)");
            if (v.boolean)
                fail(path, "fortran_order is True; only C-order arrays are supported (save np.ascontiguousarray(a))");
            have_order = true;
        } else if (key == "shape") {
            if (v.type != PyValue::Type::Seq) fail(path, "malformed .npy header (shape is not a tuple)");
            for (const auto& d : v.items) {
                if (d.type != PyValue::Type::Int || d.num < 0)
                    fail(path, "malformed .npy header (shape entries must be non-negative integers)");
                h.shape.push_back(d.num);
            }
            have_shape = true;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        fail(path, "malformed .npy header (needs descr, fortran_order and shape): " + std::string(text));
    parse_descr(path, h);

    // Guard the element count against overflow before trusting it.
    long double total = static_cast<long double>(h.item_size);
    for (int64_t d : h.shape) total *= static_cast<long double>(d);
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max() / 2))
        fail(path, "shape " + shape_str(h.shape) + " is too large");

    const size_t have = file_size >= h.data_offset ? file_size - h.data_offset : 0;
    const size_t need = h.data_bytes();
    if (have < need)
        fail(path, "file truncated: header says " + dims_text(h.shape) + " " + h.dtype_name() + " (" +
                       std::to_string(need) + " bytes) but only " + std::to_string(have) + " bytes of data");
    if (have > need)
        fail(path, "file has " + std::to_string(have) + " bytes of data but the header says " + dims_text(h.shape) +
                       " " + h.dtype_name() + " (" + std::to_string(need) + " bytes)");
    return h;
}

namespace {

// Converts integer elements ('i' and 'u' kinds) to Dst, except unsigned 8-byte ones, whose
// conversion depends on the destination (returns false for them).
template <typename Dst>
bool convert_integers(const NpyHeader& h, const uint8_t* src, size_t n, Dst* dst) {
    if (h.kind == 'i') {
        switch (h.item_size) {
            case 1: convert<int8_t>(src, n, dst); return true;
            case 2: convert<int16_t>(src, n, dst); return true;
            case 4: convert<int32_t>(src, n, dst); return true;
            default: convert<int64_t>(src, n, dst); return true;
        }
    }
    switch (h.item_size) {
        case 1: convert<uint8_t>(src, n, dst); return true;
        case 2: convert<uint16_t>(src, n, dst); return true;
        case 4: convert<uint32_t>(src, n, dst); return true;
        default: return false;
    }
}

}  // namespace

void npy_convert_to_float(const NpyHeader& h, const uint8_t* src, size_t n, float* dst) {
    switch (h.kind) {
        case 'f':
            if (h.item_size == 4) {
                std::memcpy(dst, src, n * 4);
                return;
            }
            return convert<double>(src, n, dst);
        case 'i':
        case 'u':
            if (!convert_integers(h, src, n, dst)) convert<uint64_t>(src, n, dst);
            return;
        case 'b':
            for (size_t i = 0; i < n; ++i) dst[i] = src[i] ? 1.0f : 0.0f;
            return;
        default: throw Error("npy: internal error: unknown dtype kind");
    }
}

void npy_convert_to_int64(const std::string& path, const NpyHeader& h, const uint8_t* src, size_t n, int64_t* dst) {
    switch (h.kind) {
        case 'i':
        case 'u':
            if (convert_integers(h, src, n, dst)) return;
            for (size_t i = 0; i < n; ++i) {  // uint64: only values that fit
                uint64_t v;
                std::memcpy(&v, src + i * 8, 8);
                if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                    fail(path, "uint64 value " + std::to_string(v) + " at element " + std::to_string(i) +
                                   " does not fit in int64");
                dst[i] = static_cast<int64_t>(v);
            }
            return;
        case 'b':
            for (size_t i = 0; i < n; ++i) dst[i] = src[i] ? 1 : 0;
            return;
        default:
            fail(path, "expected an integer dtype, got " + h.dtype_name() + " ('" + h.descr + "')");
    }
}

// ---- Whole-file reading --------------------------------------------------------------------

NpyArray read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
    std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) fail(path, "read error");
    NpyArray a;
    a.path = path;
    a.header = parse_npy_header(path, file.data(), file.size(), file.size());
    file.erase(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(a.header.data_offset));
    a.bytes = std::move(file);
    return a;
}

std::vector<float> NpyArray::to_float() const {
    std::vector<float> out(static_cast<size_t>(size()));
    npy_convert_to_float(header, bytes.data(), out.size(), out.data());
    return out;
}

std::vector<int64_t> NpyArray::to_int64() const {
    std::vector<int64_t> out(static_cast<size_t>(size()));
    npy_convert_to_int64(path, header, bytes.data(), out.size(), out.data());
    return out;
}

// ---- Memory-mapped reading -----------------------------------------------------------------

NpyMap::NpyMap(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        fail(path, std::string("cannot stat: ") + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(path, "not a regular file");
    }
    file_size_ = static_cast<size_t>(st.st_size);
    if (file_size_ < 10) {
        ::close(fd);
        fail(path, "not a .npy file (only " + std::to_string(file_size_) + " bytes)");
    }
    void* p = ::mmap(nullptr, file_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (p == MAP_FAILED) fail(path, std::string("cannot memory-map: ") + std::strerror(e));
    base_ = static_cast<const uint8_t*>(p);
    try {
        header_ = parse_npy_header(path, base_, file_size_, file_size_);
    } catch (...) {
        ::munmap(const_cast<uint8_t*>(base_), file_size_);
        base_ = nullptr;
        throw;
    }
}

NpyMap::~NpyMap() {
    if (base_) ::munmap(const_cast<uint8_t*>(base_), file_size_);
}

NpyMap::NpyMap(NpyMap&& other) noexcept
    : path_(std::move(other.path_)),
      header_(std::move(other.header_)),
      base_(std::exchange(other.base_, nullptr)),
      file_size_(std::exchange(other.file_size_, 0)) {}

NpyMap& NpyMap::operator=(NpyMap&& other) noexcept {
    if (this != &other) {
        if (base_) ::munmap(const_cast<uint8_t*>(base_), file_size_);
        path_ = std::move(other.path_);
        header_ = std::move(other.header_);
        base_ = std::exchange(other.base_, nullptr);
        file_size_ = std::exchange(other.file_size_, 0);
    }
    return *this;
}

void NpyMap::check_range(int64_t first, int64_t n) const {
    if (!base_) throw Error("NpyMap: use of a moved-from map");
    if (first < 0 || n < 0 || first > size() - n)
        fail(path_, "element range [" + std::to_string(first) + ", " + std::to_string(first + n) +
                        ") is outside the array of " + std::to_string(size()) + " elements");
}

void NpyMap::copy_float(int64_t first, int64_t n, float* out) const {
    check_range(first, n);
    npy_convert_to_float(header_, data() + static_cast<size_t>(first) * header_.item_size, static_cast<size_t>(n), out);
}

void NpyMap::copy_int64(int64_t first, int64_t n, int64_t* out) const {
    check_range(first, n);
    npy_convert_to_int64(path_, header_, data() + static_cast<size_t>(first) * header_.item_size,
                         static_cast<size_t>(n), out);
}

// ---- Writing -----------------------------------------------------------------------------

void write_npy(const std::string& path, const Shape& shape, const float* data) {
    write_npy_raw(path, shape, "<f4", 4, data);
}
void write_npy(const std::string& path, const Shape& shape, const double* data) {
    write_npy_raw(path, shape, "<f8", 8, data);
}
void write_npy(const std::string& path, const Shape& shape, const uint8_t* data) {
    write_npy_raw(path, shape, "|u1", 1, data);
}
void write_npy(const std::string& path, const Shape& shape, const int32_t* data) {
    write_npy_raw(path, shape, "<i4", 4, data);
}
void write_npy(const std::string& path, const Shape& shape, const int64_t* data) {
    write_npy_raw(path, shape, "<i8", 8, data);
}

}  // namespace xbarsim
