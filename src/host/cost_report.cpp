// Cost reports: JSON (mm², µJ per image, µs per image, µW) and a readable table.
#include <cstdio>
#include <string>

#include "xbarsim/cost/cost_model.hpp"

namespace xbarsim::cost {

namespace {

nlohmann::json component_json(const ComponentCost& c) {
    return {{"area_mm2", c.area_um2 * 1e-6}, {"energy_uj", c.energy_fj * 1e-9}, {"leakage_uw", c.leakage_uw}};
}

nlohmann::json components_json(const Components& cs) {
    nlohmann::json j = nlohmann::json::object();
    for (size_t c = 0; c < kComponentCount; ++c) j[component_name(static_cast<Component>(c))] = component_json(cs[c]);
    return j;
}

nlohmann::json counts_json(const Counts& n) {
    return {{"macs", n.macs},
            {"vectors", n.vectors},
            {"arrays", n.arrays},
            {"adc_conversions", n.adc_conversions},
            {"array_activations", n.array_activations},
            {"sensing_cycles", n.sensing_cycles},
            {"cycles", n.cycles},
            {"adder_tree_adds", n.adder_tree_adds},
            {"buffer_bits", n.buffer_bits}};
}

nlohmann::json latency_json(const LatencyParts& l) {
    return {{"sensing_us", l.sensing_ns * 1e-3},
            {"accumulation_us", l.accumulation_ns * 1e-3},
            {"data_movement_us", l.data_movement_ns * 1e-3},
            {"digital_us", l.digital_ns * 1e-3}};
}

std::string with_commas(int64_t v) {
    const std::string digits = std::to_string(v);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

void append(std::string& out, const char* fmt, auto... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, args...);
    out += buf;
}

}  // namespace

nlohmann::json CostReport::to_json() const {
    nlohmann::json j;
    j["tech"] = {{"name", tech}, {"file", tech_file}, {"cell", cell}, {"r_on_ohm", r_on_ohm}, {"on_off_ratio", on_off_ratio}};
    j["execution"] = execution == Execution::LayerByLayer ? "layer_by_layer" : "pipelined";
    j["interconnect"] = interconnect == InterconnectKind::HTree ? "htree" : "bus";
    j["clock_ns"] = clock_ns;
    j["activity"] = activity_source;
    j["totals"] = {{"area_mm2", area_mm2()},
                   {"dynamic_energy_uj", dynamic_energy_uj()},
                   {"leakage_mw", leakage_mw()},
                   {"leakage_energy_uj", leakage_energy_uj()},
                   {"energy_uj", energy_uj()},
                   {"latency_us", latency_ns * 1e-3},
                   {"interval_us", interval_ns * 1e-3},
                   {"tops", tops()},
                   {"tops_per_w", tops_per_w()},
                   {"tops_per_mm2", tops_per_mm2()},
                   {"edap_uj_us_mm2", edap()}};
    j["latency_breakdown"] = latency_json(latency);
    j["components"] = components_json(totals);
    j["shared"] = components_json(shared);
    j["counts"] = counts_json(counts);
    nlohmann::json layers_json = nlohmann::json::array();
    for (const auto& l : layers) {
        nlohmann::json e = {{"name", l.name},
                            {"mvm_index", l.mvm_index},
                            {"analog", l.analog},
                            {"area_mm2", l.area_um2() * 1e-6},
                            {"energy_uj", l.energy_fj() * 1e-9},
                            {"latency_us", l.latency.total() * 1e-3},
                            {"latency_breakdown", latency_json(l.latency)},
                            {"utilization", l.utilization},
                            {"counts", counts_json(l.counts)},
                            {"components", components_json(l.components)}};
        if (l.analog) {
            e["adc"] = l.adc;
            e["row_blocks"] = l.row_blocks;
            e["col_blocks"] = l.col_blocks;
            e["input_slices"] = l.input_slices;
            e["sensing_ns"] = l.sensing_ns;
            e["input_duty"] = l.input_duty;
            e["mean_conductance"] = l.mean_conductance;
            e["activity_measured"] = l.activity_measured;
        }
        layers_json.push_back(e);
    }
    j["layers"] = layers_json;
    return j;
}

std::string format_cost(const CostReport& r) {
    std::string out;
    append(out, "tech      %s (%s), cell %s (R_on %g ohm, on/off %g)\n", r.tech.c_str(), r.tech_file.c_str(), r.cell.c_str(),
           r.r_on_ohm, r.on_off_ratio);
    append(out, "chip      %s, %s interconnect, clock %.3f ns\n",
           r.execution == Execution::LayerByLayer ? "layer by layer" : "pipelined",
           r.interconnect == InterconnectKind::HTree ? "H-tree" : "bus", r.clock_ns);
    append(out, "activity  %s\n", r.activity_source.c_str());
    append(out, "area      %.2f mm2\n", r.area_mm2());
    append(out, "energy    %.2f uJ/image dynamic + %.2f uJ leakage (%.2f mW)\n", r.dynamic_energy_uj(), r.leakage_energy_uj(),
           r.leakage_mw());
    append(out, "latency   %.2f us/image (sensing %.2f, accumulation %.2f, data movement %.2f, digital %.2f)", r.latency_ns * 1e-3,
           r.latency.sensing_ns * 1e-3, r.latency.accumulation_ns * 1e-3, r.latency.data_movement_ns * 1e-3,
           r.latency.digital_ns * 1e-3);
    if (r.interval_ns != r.latency_ns) append(out, ", one image every %.2f us", r.interval_ns * 1e-3);
    append(out, "\nthroughput %.3f TOPS, %.2f TOPS/W, %.4f TOPS/mm2, EDAP %.4g uJ*us*mm2\n", r.tops(), r.tops_per_w(),
           r.tops_per_mm2(), r.edap());
    append(out, "counts    %s MACs, %s ADC conversions, %s array activations, %s cycles (%s sensing)\n",
           with_commas(r.counts.macs).c_str(), with_commas(r.counts.adc_conversions).c_str(),
           with_commas(r.counts.array_activations).c_str(), with_commas(r.counts.cycles).c_str(),
           with_commas(r.counts.sensing_cycles).c_str());
    append(out, "\n%-15s %10s %6s %12s %6s %12s\n", "component", "area mm2", "%", "energy uJ", "%", "leakage uW");
    const double area = r.area_mm2(), energy = r.dynamic_energy_uj();
    for (size_t c = 0; c < kComponentCount; ++c) {
        const auto& t = r.totals[c];
        append(out, "%-15s %10.3f %6.1f %12.3f %6.1f %12.1f\n", component_name(static_cast<Component>(c)), t.area_um2 * 1e-6,
               area > 0 ? 100 * t.area_um2 * 1e-6 / area : 0.0, t.energy_fj * 1e-9,
               energy > 0 ? 100 * t.energy_fj * 1e-9 / energy : 0.0, t.leakage_uw);
    }
    append(out, "%-15s %10.3f %6s %12.3f %6s %12.1f\n", "total", area, "", energy, "", r.leakage_mw() * 1e3);
    append(out, "\n%3s  %-24s %-28s %7s %6s %6s %10s %11s %11s\n", "#", "layer", "ADC", "arrays", "util", "in-sl", "area mm2",
           "energy uJ", "latency us");
    for (const auto& l : r.layers)
        append(out, "%3d  %-24s %-28s %7lld %5.1f%% %6d %10.3f %11.3f %11.2f\n", l.mvm_index, l.name.c_str(),
               l.analog ? l.adc.c_str() : "digital", static_cast<long long>(l.counts.arrays), 100 * l.utilization,
               l.input_slices, l.area_um2() * 1e-6, l.energy_fj() * 1e-9, l.latency.total() * 1e-3);
    append(out, "%3s  %-24s %-28s %7s %6s %6s %10.3f %11.3f\n", "", "(shared: buffer, wiring, element-wise)", "", "", "", "",
           [&] {
               double a = 0;
               for (const auto& c : r.shared) a += c.area_um2;
               return a * 1e-6;
           }(),
           [&] {
               double e = 0;
               for (const auto& c : r.shared) e += c.energy_fj;
               return e * 1e-9;
           }());
    return out;
}

}  // namespace xbarsim::cost
