// Activity of the analog layers for the array read energy: programmed conductances from the
// weights and input duty from the inputs a simulation saw.
#include "xbarsim/cost/activity.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "xbarsim/analog/quantize.hpp"

namespace xbarsim::cost {

const LayerActivity* ActivityStats::find(const std::string& layer) const {
    const auto it = layers.find(layer);
    return it == layers.end() ? nullptr : &it->second;
}

namespace {

// Sum of the normalized conductances of the cells holding one weight w = W / W_max (all slices;
// differential: both cells of each pair), as analog_matrix.cpp programs them with ideal devices.
double cell_conductance_sum(float w, const analog::MatrixMapping& m, float g_min) {
    using namespace analog;
    const bool offset = m.mapping == Mapping::Offset;
    if (m.slices > 1) {
        const int32_t q = quantize_weight(w, m.weight_bits);
        const int code_bits = offset ? m.weight_bits : m.weight_bits - 1;
        const int slice_bits = (code_bits + m.slices - 1) / m.slices;
        const auto code = static_cast<uint32_t>(offset ? q + (int32_t{1} << (m.weight_bits - 1)) : std::abs(q));
        double sum = 0;
        for (int s = 0; s < m.slices; ++s) {
            sum += level_conductance(code_slice(code, s, slice_bits), slice_bits, g_min);
            if (!offset) sum += g_min;  // the pair's other cell
        }
        return sum;
    }
    const float wq = m.weight_bits > 0
                         ? static_cast<float>(quantize_weight(w, m.weight_bits)) / static_cast<float>(signed_max_level(m.weight_bits))
                         : clampf(w, -1.0f, 1.0f);
    if (offset) return offset_conductance(wq, m.cell_bits, g_min);
    float gp = 0, gn = 0;
    differential_pair(wq, m.cell_bits, g_min, &gp, &gn);
    return static_cast<double>(gp) + gn;
}

}  // namespace

double mean_cell_conductance(const Graph& graph, const AnalogLayerPlan& layer, double g_min) {
    const auto& m = layer.config.mapping;
    const std::vector<float>& w = graph.value(graph.nodes.at(layer.node).inputs.at(1)).data.data;
    if (w.empty()) return -1;
    const auto k = static_cast<size_t>(layer.rows);
    // Weight full scale as the simulator sets it: explicit, else max |W| (per output column with
    // per-column scaling). Every row of W [N_total x K] is one output column.
    std::vector<float> scale(w.size() / k, m.w_max);
    if (!(m.w_max > 0)) {
        float layer_max = 0;
        for (size_t o = 0; o < scale.size(); ++o) {
            float col_max = 0;
            for (size_t i = 0; i < k; ++i) col_max = std::max(col_max, std::fabs(w[o * k + i]));
            scale[o] = col_max;
            layer_max = std::max(layer_max, col_max);
        }
        if (!m.per_column_scale) std::fill(scale.begin(), scale.end(), layer_max);
    }
    const auto gm = static_cast<float>(g_min);
    double sum = 0;
    for (size_t o = 0; o < scale.size(); ++o) {
        const float s = scale[o] > 0 ? scale[o] : 1.0f;
        for (size_t i = 0; i < k; ++i) sum += cell_conductance_sum(w[o * k + i] / s, m, gm);
    }
    const double cells_per_weight = static_cast<double>(m.slices > 1 ? m.slices : 1) * (m.mapping == analog::Mapping::Offset ? 1 : 2);
    return sum / (static_cast<double>(w.size()) * cells_per_weight);
}

double input_duty_of(float x, const AnalogLayerPlan& layer) {
    using namespace analog;
    const auto& c = layer.config;
    const float range = layer.input_range > 0 ? layer.input_range : 1.0f;
    if (c.input_bits <= 0) return std::min(1.0f, std::fabs(x) / range);
    const int32_t code = dac_code(x, range, c.input_bits, layer.input_signed);
    const auto mag = static_cast<uint32_t>(std::abs(code));
    if (c.input_slice_bits <= 0) {
        const int32_t full = layer.input_signed ? signed_max_level(c.input_bits) : unsigned_max_level(c.input_bits);
        return static_cast<double>(mag) / full;
    }
    const int mag_bits = layer.input_signed ? c.input_bits - 1 : c.input_bits;
    const int n = slice_count(mag_bits, c.input_slice_bits);
    const double full = unsigned_max_level(c.input_slice_bits);
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += code_slice(mag, j, c.input_slice_bits) / full;
    return sum / n;
}

InputActivityObserver::InputActivityObserver(const AnalogPlan& plan, int64_t max_values_per_layer)
    : max_values_(max_values_per_layer) {
    for (const auto& l : plan.layers) sums_[l.node].layer = &l;
}

void InputActivityObserver::on_mvm_input(size_t node, int64_t, const float* cols, int64_t k, int64_t m) {
    const auto it = sums_.find(node);
    if (it == sums_.end() || it->second.count >= max_values_) return;
    Sum& s = it->second;
    const int64_t n = std::min(k * m, max_values_ - s.count);
    for (int64_t i = 0; i < n; ++i) s.duty += input_duty_of(cols[i], *s.layer);
    s.count += n;
}

bool InputActivityObserver::watching(size_t node) const {
    const auto it = sums_.find(node);
    return it != sums_.end() && it->second.count < max_values_;
}

void InputActivityObserver::fill(ActivityStats& stats) const {
    for (const auto& [node, s] : sums_) {
        if (s.count == 0) continue;
        auto& a = stats.layers[s.layer->name];
        a.input_duty = s.duty / static_cast<double>(s.count);
        a.input_samples = s.count;
    }
}

ActivityStats measure_activity(const Graph& graph, const AnalogPlan& plan, double g_min, const InputActivityObserver* inputs) {
    ActivityStats stats;
    for (const auto& l : plan.layers) stats.layers[l.name].mean_conductance = mean_cell_conductance(graph, l, g_min);
    stats.source = "conductances from the weights";
    if (inputs) {
        inputs->fill(stats);
        stats.source += ", input duty measured on the simulated inputs";
    }
    return stats;
}

}  // namespace xbarsim::cost
