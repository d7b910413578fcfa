#pragma once
// One exception type for every user-facing failure (bad file, bad ONNX node, bad YAML key).
// The CLI catches it, prints the message once and exits non-zero; messages always name the
// file, node or key that caused them so the user can act on them without a debugger.
#include <stdexcept>
#include <string>

namespace xbarsim {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace xbarsim
