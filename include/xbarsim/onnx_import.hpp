#pragma once
// ONNX → Graph. Supports the op set listed in the README (opsets 11–17, default domain); any other
// op, attribute value or data type is rejected at load with a message naming the op type, the node
// and, where relevant, the attribute — never silently approximated.
#include <string>

#include "xbarsim/graph.hpp"

namespace xbarsim {

struct ImportOptions {
    bool fold_batchnorm = true;  // fold BatchNormalization into the preceding Conv/Linear
};

// Loads and validates an .onnx file; shapes are inferred for the declared batch.
Graph load_onnx(const std::string& path, const ImportOptions& options = {});

// Same, from bytes already in memory; `origin` names the source in error messages.
Graph parse_onnx(const std::string& bytes, const std::string& origin, const ImportOptions& options = {});

// Folds each BatchNorm whose input comes from a Conv/Linear used by nothing else into that
// layer's weights and bias (the analog arrays then hold the folded weights, as on a real chip).
// BatchNorms that cannot be folded stay as per-channel affine nodes. Exposed for tests.
void fold_batchnorm(Graph& graph);

}  // namespace xbarsim
