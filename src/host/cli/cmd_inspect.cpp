// `xbarsim inspect`: one line per layer with output shape, MACs and parameters; MVM layers also
// show their matrix (K rows × N columns) and matrix-vector products per sample.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "validators.hpp"
#include "xbarsim/onnx_import.hpp"

namespace xbarsim::cli {

namespace {

struct InspectArgs {
    std::string model;
    bool no_fold = false;
};

std::string with_commas(int64_t v) {
    const std::string digits = std::to_string(v);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        const size_t left = digits.size() - i;
        if (i > 0 && digits[i - 1] != '-' && left % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

void inspect(const InspectArgs& a) {
    ImportOptions opt;
    opt.fold_batchnorm = !a.no_fold;
    const Graph g = load_onnx(a.model, opt);
    std::printf("model    %s\nproducer %s, opset %lld\n", a.model.c_str(), g.producer.c_str(), static_cast<long long>(g.opset));
    for (int i : g.inputs) std::printf("input    %s %s\n", g.value(i).name.c_str(), shape_str(g.value(i).shape).c_str());
    for (int o : g.outputs) std::printf("output   %s %s\n", g.value(o).name.c_str(), shape_str(g.value(o).shape).c_str());
    for (const auto& [k, v] : g.metadata) {
        std::string one = v;
        for (auto& ch : one)
            if (ch == '\n') ch = ' ';
        std::printf("metadata %s: %s\n", k.c_str(), one.c_str());
    }
    std::printf("\n%3s  %-28s %-18s %-18s %14s %10s  %s\n", "#", "name", "op", "output", "MACs", "params", "matrix (K x N) x MVMs");
    int64_t macs = 0, params = 0, mvm_layers = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node& n = g.nodes[i];
        const LayerStats st = layer_stats(g, n);
        macs += st.macs;
        params += st.params;
        std::string op = n.onnx_op == op_name(n.op) ? n.onnx_op : n.onnx_op + "->" + op_name(n.op);
        std::string matrix;
        if (is_mvm_layer(n.op)) {
            ++mvm_layers;
            matrix = std::to_string(st.rows) + " x " + std::to_string(st.cols) + " x " + std::to_string(st.mvms);
            if (n.op == OpType::Conv && n.attrs.group > 1) matrix += " (groups " + std::to_string(n.attrs.group) + ")";
        }
        for (const auto& f : n.folded) matrix += (matrix.empty() ? "" : ", ") + std::string("+folded ") + f;
        std::printf("%3zu  %-28s %-18s %-18s %14s %10s  %s\n", i, n.name.c_str(), op.c_str(),
                    shape_str(g.value(n.output).shape).c_str(), st.macs ? with_commas(st.macs).c_str() : "",
                    st.params ? with_commas(st.params).c_str() : "", matrix.c_str());
    }
    std::printf("\n%zu nodes, %lld MVM layers (Conv/Linear), %s MACs and %s parameters per sample\n", g.nodes.size(),
                static_cast<long long>(mvm_layers), with_commas(macs).c_str(), with_commas(params).c_str());
}

}  // namespace

Command add_inspect(CLI::App& app) {
    auto a = std::make_shared<InspectArgs>();
    app.add_option("--model", a->model, "ONNX model file")->required()->check(non_empty());
    app.add_flag("--no-fold", a->no_fold, "Show BatchNormalization nodes instead of folding them into Conv/Gemm");
    return [a] { inspect(*a); };
}

}  // namespace xbarsim::cli
