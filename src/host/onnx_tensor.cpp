#include "onnx_tensor.hpp"

#include <cstring>

#include "xbarsim/error.hpp"

namespace xbarsim {

namespace {

template <typename T>
std::vector<T> raw_as(const std::string& raw, int64_t count, const std::string& where) {
    if (static_cast<int64_t>(raw.size()) != count * static_cast<int64_t>(sizeof(T)))
        throw Error(where + ": raw_data holds " + std::to_string(raw.size()) + " bytes, expected " +
                    std::to_string(count * static_cast<int64_t>(sizeof(T))));
    std::vector<T> out(static_cast<size_t>(count));
    if (count) std::memcpy(out.data(), raw.data(), raw.size());  // ONNX raw_data is little-endian, as is x86-64
    return out;
}

template <typename Field>
void check_count(const Field& f, int64_t count, const std::string& where) {
    if (f.size() != count)
        throw Error(where + ": tensor holds " + std::to_string(f.size()) + " values, its shape needs " +
                    std::to_string(count));
}

std::string dims_str(const onnx::TensorProto& t) {
    std::string s = "[";
    for (int i = 0; i < t.dims_size(); ++i) s += (i ? ", " : "") + std::to_string(t.dims(i));
    return s + "]";
}

}  // namespace

Value decode_tensor(const onnx::TensorProto& t, const std::string& where) {
    Value v;
    v.name = t.name();
    v.is_constant = true;
    // Dimensions come straight from the file: negative ones, or a product past 2^40 elements
    // (4 TiB of floats, and far past what int64 products of a few dims can hold), would wrap
    // the sizes every check below relies on.
    constexpr int64_t kMaxElements = int64_t{1} << 40;
    int64_t count = 1;
    for (int64_t d : t.dims()) {
        if (d < 0 || (d > 0 && count > kMaxElements / d))
            throw Error(where + ": tensor '" + t.name() + "' has dimensions " + dims_str(t) +
                        (d < 0 ? ", one of them negative" : ", more than 2^40 elements"));
        count *= d;
        v.shape.push_back(d);
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
        throw Error(where + ": tensor '" + t.name() +
                    "' is stored in external data, which xbarsim does not read; re-export with the weights "
                    "embedded (e.g. onnx.save(model, path, save_as_external_data=False))");
    const bool raw = t.has_raw_data();
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT: {
        std::vector<float> d;
        if (raw) {
            d = raw_as<float>(t.raw_data(), count, where);
        } else {
            check_count(t.float_data(), count, where);
            d.assign(t.float_data().begin(), t.float_data().end());
        }
        v.data = Tensor(v.shape, std::move(d));
        break;
    }
    case onnx::TensorProto::DOUBLE: {
        std::vector<double> d;
        if (raw) {
            d = raw_as<double>(t.raw_data(), count, where);
        } else {
            check_count(t.double_data(), count, where);
            d.assign(t.double_data().begin(), t.double_data().end());
        }
        v.data = Tensor(v.shape, std::vector<float>(d.begin(), d.end()));
        break;
    }
    case onnx::TensorProto::INT64: {
        if (raw) {
            v.ints = raw_as<int64_t>(t.raw_data(), count, where);
        } else {
            check_count(t.int64_data(), count, where);
            v.ints.assign(t.int64_data().begin(), t.int64_data().end());
        }
        break;
    }
    case onnx::TensorProto::INT32: {
        if (raw) {
            auto d = raw_as<int32_t>(t.raw_data(), count, where);
            v.ints.assign(d.begin(), d.end());
        } else {
            check_count(t.int32_data(), count, where);
            v.ints.assign(t.int32_data().begin(), t.int32_data().end());
        }
        break;
    }
    default:
        throw Error(where + ": tensor '" + t.name() + "' has data type " +
                    onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(t.data_type())) +
                    "; xbarsim supports float, double, int32 and int64 constants");
    }
    // Integer constants also get a float copy so that they can feed arithmetic ops.
    if (!v.ints.empty() || (count == 0 && v.data.data.empty())) {
        std::vector<float> f(v.ints.begin(), v.ints.end());
        v.data = Tensor(v.shape, std::move(f));
    }
    return v;
}

}  // namespace xbarsim
