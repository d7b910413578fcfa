#pragma once
// Decoding of ONNX TensorProto (initializers and Constant values) into xbarsim Values.
#include <onnx/onnx_pb.h>

#include <string>

#include "xbarsim/graph.hpp"

namespace xbarsim {

// Converts a TensorProto to a constant Value (float data for floating types, ints for integer
// types, both for small integer tensors). `where` names the initializer/node for errors.
Value decode_tensor(const onnx::TensorProto& t, const std::string& where);

}  // namespace xbarsim
