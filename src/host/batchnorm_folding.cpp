#include <algorithm>

#include "xbarsim/onnx_import.hpp"

namespace xbarsim {

namespace {

int consumers(const Graph& g, int value) {
    int n = 0;
    for (const auto& node : g.nodes)
        n += static_cast<int>(std::count(node.inputs.begin(), node.inputs.end(), value));
    n += static_cast<int>(std::count(g.outputs.begin(), g.outputs.end(), value));
    return n;
}

// Adds a private copy of constant `id` so that folding never changes a tensor another node shares.
int private_copy(Graph& g, int id, const std::string& name) {
    Value v = g.value(id);
    v.name = name;
    g.values.push_back(std::move(v));
    return static_cast<int>(g.values.size() - 1);
}

}  // namespace

void fold_batchnorm(Graph& g) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        Node& bn = g.nodes[i];
        if (bn.op != OpType::BatchNorm) continue;
        const int x = bn.inputs[0];
        auto producer = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.output == x; });
        if (producer == g.nodes.end() || !is_mvm_layer(producer->op) || consumers(g, x) != 1) continue;
        Node& layer = *producer;
        // Linear outputs carry features on the last axis; BN normalizes axis 1, so they agree only for rank 2.
        if (layer.op == OpType::Linear && g.value(x).shape.size() != 2) continue;
        const Tensor scale = g.value(bn.inputs[1]).data;  // copies: g.values grows below
        const Tensor shift = g.value(bn.inputs[2]).data;
        const int64_t n_out = g.value(layer.inputs[1]).shape[0];
        if (scale.size() != n_out) continue;

        const int w = private_copy(g, layer.inputs[1], layer.name + ".weight_bnfolded");
        layer.inputs[1] = w;
        Tensor& weight = g.value(w).data;
        const int64_t per_out = weight.size() / n_out;
        for (int64_t o = 0; o < n_out; ++o)
            for (int64_t k = 0; k < per_out; ++k) weight.data[static_cast<size_t>(o * per_out + k)] *= scale.data[static_cast<size_t>(o)];

        Tensor bias({n_out});
        if (layer.inputs.size() > 2) bias = g.value(layer.inputs[2]).data;
        for (int64_t o = 0; o < n_out; ++o) {
            const auto k = static_cast<size_t>(o);
            bias.data[k] = bias.data[k] * scale.data[k] + shift.data[k];
        }
        Value b;
        b.name = layer.name + ".bias_bnfolded";
        b.is_constant = true;
        b.shape = {n_out};
        b.data = std::move(bias);
        g.values.push_back(std::move(b));
        const int bid = static_cast<int>(g.values.size() - 1);
        if (layer.inputs.size() > 2) layer.inputs[2] = bid;
        else layer.inputs.push_back(bid);

        layer.output = bn.output;  // the layer now produces the normalized tensor directly
        layer.folded.push_back(bn.name);
        g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(i));
        --i;
    }
}

}  // namespace xbarsim
