#include "xbarsim/analog_config.hpp"

#include <fnmatch.h>

#include "xbarsim/device_config.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim {

namespace {

// map[key], or an undefined node when `map` itself is absent (yaml-cpp throws on indexing it).
YAML::Node at(const YAML::Node& map, const char* key) {
    if (!map.IsDefined() || map.IsNull() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return map[key];
}

RangeSpec parse_range(const std::string& file, const YAML::Node& map, const std::string& section, RangeSpec r) {
    if (!map.IsDefined() || map.IsNull()) return r;
    const YAML::Node n = map["range"];
    if (n.IsDefined() && !n.IsNull()) {
        if (!n.IsScalar()) yaml_fail(file, n, section + ".range", "expected calibrated, max or a number");
        const std::string s = n.Scalar();
        if (s == "calibrated") {
            r.mode = RangeMode::Calibrated;
        } else if (s == "max") {
            r.mode = RangeMode::Max;
        } else {
            r.mode = RangeMode::Value;
            // Checked as the float it is stored in: 1e300 would become inf and 1e-300 zero.
            r.value = yaml_as_float(file, n, section + ".range", yaml_number(file, map, "range", 0.0, section));
            if (!(r.value > 0.0f && r.value <= kMaxRangeValue))
                yaml_fail(file, n, section + ".range", "must be positive and at most 1e20");
        }
    }
    const std::string method = yaml_string(file, map, "method", "", section);
    if (method == "percentile") r.method = CalibrationMethod::Percentile;
    else if (method == "mse") r.method = CalibrationMethod::Mse;
    else if (!method.empty()) yaml_fail(file, map["method"], section + ".method", "must be percentile or mse");
    r.percentile = yaml_number(file, map, "percentile", r.percentile, section);
    if (!(r.percentile > 0.0 && r.percentile <= 100.0)) yaml_fail(file, at(map, "percentile"), section + ".percentile", "must be in (0, 100]");
    return r;
}

int parse_bits(const std::string& file, const YAML::Node& map, const std::string& key, int fallback, const std::string& section,
               int lo) {
    const int64_t v = yaml_int(file, map, key, fallback, section);
    if (v != 0 && (v < lo || v > 24)) yaml_fail(file, map[key], section + "." + key, "must be 0 (not quantized) or " + std::to_string(lo) + "..24");
    return static_cast<int>(v);
}

// Applies the layer keys present in `node` on top of `c`. `is_override` allows match/digital,
// the analog section allows enabled; both are handled by the caller's key check.
AnalogLayerConfig apply_layer_keys(const std::string& file, const YAML::Node& node, const std::string& section,
                                   AnalogLayerConfig c) {
    if (!node.IsDefined() || node.IsNull()) return c;
    const std::string mapping = yaml_string(file, node, "mapping", "", section);
    if (mapping == "differential") c.mapping.mapping = analog::Mapping::Differential;
    else if (mapping == "offset") c.mapping.mapping = analog::Mapping::Offset;
    else if (!mapping.empty()) yaml_fail(file, at(node, "mapping"), section + ".mapping", "must be differential or offset");
    c.mapping.weight_bits = parse_bits(file, node, "weight_bits", c.mapping.weight_bits, section, 2);
    const std::string wr = yaml_string(file, node, "weight_range", "", section);
    if (wr == "max") c.weight_range = WeightRange::Max;
    else if (wr == "percentile") c.weight_range = WeightRange::Percentile;
    else if (!wr.empty()) yaml_fail(file, at(node, "weight_range"), section + ".weight_range", "must be max or percentile");
    c.weight_percentile = yaml_number(file, node, "weight_percentile", c.weight_percentile, section);
    if (!(c.weight_percentile > 0 && c.weight_percentile <= 100))
        yaml_fail(file, at(node, "weight_percentile"), section + ".weight_percentile", "must be in (0, 100]");
    c.mapping.slices = static_cast<int>(yaml_int_in(file, node, "slices", c.mapping.slices, 1, 24, section));
    c.mapping.cell_bits = parse_bits(file, node, "cell_bits", c.mapping.cell_bits, section, 1);
    const std::string scaling = yaml_string(file, node, "weight_scaling", "", section);
    if (scaling == "layer") c.mapping.per_column_scale = false;
    else if (scaling == "column") c.mapping.per_column_scale = true;
    else if (!scaling.empty()) yaml_fail(file, at(node, "weight_scaling"), section + ".weight_scaling", "must be layer or column");
    const std::string readout = yaml_string(file, node, "differential_readout", "", section);
    if (readout == "subtract") c.mapping.separate_differential = false;
    else if (readout == "separate") c.mapping.separate_differential = true;
    else if (!readout.empty()) yaml_fail(file, at(node, "differential_readout"), section + ".differential_readout", "must be subtract or separate");
    const std::string reference = yaml_string(file, node, "offset_reference", "", section);
    if (reference == "digital") c.mapping.reference_column = false;
    else if (reference == "column") c.mapping.reference_column = true;
    else if (!reference.empty()) yaml_fail(file, at(node, "offset_reference"), section + ".offset_reference", "must be digital or column");

    const YAML::Node array = at(node, "array");
    yaml_check_keys(file, array, section + ".array", {"rows", "cols"});
    c.mapping.array_rows = yaml_int_in(file, array, "rows", c.mapping.array_rows, 1, kMaxArraySize, section + ".array");
    c.mapping.array_cols = yaml_int_in(file, array, "cols", c.mapping.array_cols, 1, kMaxArraySize, section + ".array");

    const YAML::Node input = at(node, "input");
    const std::string in = section + ".input";
    yaml_check_keys(file, input, in, {"bits", "range", "percentile", "method", "sign", "slice_bits", "accumulation"});
    c.input_bits = parse_bits(file, input, "bits", c.input_bits, in, 2);
    c.input_range = parse_range(file, input, in, c.input_range);
    c.input_slice_bits = static_cast<int>(yaml_int_in(file, input, "slice_bits", c.input_slice_bits, 0, 24, in));
    if (c.input_slice_bits > 0 && c.input_bits == 0)
        yaml_fail(file, at(input, "slice_bits"), in + ".slice_bits", "bit-serial inputs need input.bits > 0");
    const std::string accumulation = yaml_string(file, input, "accumulation", "", in);
    if (accumulation == "digital") c.input_analog_accumulation = false;
    else if (accumulation == "analog") c.input_analog_accumulation = true;
    else if (!accumulation.empty()) yaml_fail(file, at(input, "accumulation"), in + ".accumulation", "must be digital or analog");
    const std::string sign = yaml_string(file, input, "sign", "", in);
    if (sign == "auto") c.input_sign = InputSign::Auto;
    else if (sign == "signed") c.input_sign = InputSign::Signed;
    else if (sign == "unsigned") c.input_sign = InputSign::Unsigned;
    else if (!sign.empty()) yaml_fail(file, at(input, "sign"), in + ".sign", "must be auto, signed or unsigned");

    const YAML::Node adc = at(node, "adc");
    const std::string ad = section + ".adc";
    yaml_check_keys(file, adc, ad, {"bits", "range", "percentile", "method", "symmetric", "stochastic_rounding", "per_column", "columns_per_adc", "type"});
    c.adc_bits = parse_bits(file, adc, "bits", c.adc_bits, ad, 1);
    c.adc_range = parse_range(file, adc, ad, c.adc_range);
    c.adc_symmetric = yaml_bool(file, adc, "symmetric", c.adc_symmetric, ad);
    if (c.adc_symmetric && c.adc_bits == 1) yaml_fail(file, at(adc, "bits"), ad + ".bits", "a symmetric ADC needs at least 2 bits");
    c.stochastic_rounding = yaml_bool(file, adc, "stochastic_rounding", c.stochastic_rounding, ad);
    c.adc_per_column = yaml_bool(file, adc, "per_column", c.adc_per_column, ad);
    c.columns_per_adc = static_cast<int>(yaml_int_in(file, adc, "columns_per_adc", c.columns_per_adc, 1, kMaxArraySize, ad));
    const std::string adc_type = yaml_string(file, adc, "type", "", ad);
    if (adc_type == "flash") c.adc_type = AdcType::Flash;
    else if (adc_type == "sar") c.adc_type = AdcType::Sar;
    else if (adc_type == "ramp") c.adc_type = AdcType::Ramp;
    else if (!adc_type.empty()) yaml_fail(file, at(adc, "type"), ad + ".type", "must be flash, sar or ramp");

    const std::string rn = yaml_string(file, node, "read_noise_mode", "", section);
    if (rn == "lumped") c.read_noise_mode = ReadNoiseMode::Lumped;
    else if (rn == "per_cell") c.read_noise_mode = ReadNoiseMode::PerCell;
    else if (!rn.empty()) yaml_fail(file, at(node, "read_noise_mode"), section + ".read_noise_mode", "must be lumped or per_cell");

    if (c.mapping.slices > 1 && c.mapping.weight_bits == 0)
        yaml_fail(file, node, section + ".slices", "bit slicing needs weight_bits > 0");
    if (c.mapping.mapping == analog::Mapping::Offset && c.mapping.slices == 1 && c.mapping.cell_bits == 1)
        yaml_fail(file, node, section + ".cell_bits", "offset mapping needs cell_bits >= 2 (a level at zero)");
    // Each readout key applies to its own mapping: an error where a section names it together with
    // the other mapping; inherited from the defaults by an override that switches mapping, it is
    // simply not used.
    const bool offset = c.mapping.mapping == analog::Mapping::Offset;
    if (offset && !readout.empty() && c.mapping.separate_differential)
        yaml_fail(file, at(node, "differential_readout"), section + ".differential_readout", "separate readout needs mapping: differential");
    if (!offset && !reference.empty() && c.mapping.reference_column)
        yaml_fail(file, at(node, "offset_reference"), section + ".offset_reference", "a reference column needs mapping: offset");
    if (offset) c.mapping.separate_differential = false;
    else c.mapping.reference_column = false;
    if (c.mapping.per_column_scale && c.weight_range == WeightRange::Percentile)
        yaml_fail(file, node, section + ".weight_scaling", "per-column scaling uses each column's max |W| (weight_range: max)");
    if (c.adc_per_column && c.adc_bits > 0 && c.adc_range.mode != RangeMode::Calibrated)
        yaml_fail(file, node, section + ".adc.per_column", "per-column ADC ranges are calibrated (adc.range: calibrated)");
    return c;
}

#define XBARSIM_LAYER_KEYS "mapping", "weight_bits", "weight_range", "weight_percentile", "weight_scaling", "slices", "cell_bits", \
                           "differential_readout", "offset_reference", "array", "input", "adc", "read_noise_mode"

}  // namespace

AnalogConfig parse_analog_config(const YAML::Node& root, const std::string& file) {
    AnalogConfig c;
    c.file = file;
    const YAML::Node a = root["analog"];
    yaml_check_keys(file, a, "analog", {"enabled", XBARSIM_LAYER_KEYS});
    c.enabled = a.IsDefined() && !a.IsNull() && yaml_bool(file, a, "enabled", true, "analog");
    c.defaults = apply_layer_keys(file, a, "analog", c.defaults);
    c.device = parse_device(root["device"], file, "device");
    c.defaults.mapping.g_min = c.device.g_min;

    const YAML::Node layers = root["layers"];
    if (layers.IsDefined() && !layers.IsNull()) {
        if (!layers.IsSequence()) yaml_fail(file, layers, "layers", "expected a list of overrides (- match: ...)");
        for (size_t i = 0; i < layers.size(); ++i) {
            const YAML::Node o = layers[i];
            const std::string sec = "layers[" + std::to_string(i) + "]";
            yaml_check_keys(file, o, sec, {"match", "digital", XBARSIM_LAYER_KEYS});
            LayerOverride lo;
            lo.match = yaml_string_required(file, o, "match", sec);
            lo.line = o.Mark().line + 1;
            lo.node = o;
            // Validate the keys now (against the defaults) so a bad override fails at load, not at run.
            apply_layer_keys(file, o, sec, c.defaults);
            yaml_bool(file, o, "digital", false, sec);
            c.overrides.push_back(lo);
        }
    }
    return c;
}

bool layer_matches(const std::string& match, const std::string& name, int index, int count) {
    if (match == name) return true;
    // An integer selects by position among the MVM layers; negative counts from the end.
    char* end = nullptr;
    const long v = std::strtol(match.c_str(), &end, 10);
    if (!match.empty() && end && *end == '\0') return v == index || (v < 0 && count + v == index);
    return fnmatch(match.c_str(), name.c_str(), 0) == 0;
}

void check_overrides_match(const AnalogConfig& config, const std::vector<std::string>& mvm_layers, const std::string& model) {
    const int count = static_cast<int>(mvm_layers.size());
    for (size_t i = 0; i < config.overrides.size(); ++i) {
        const auto& o = config.overrides[i];
        bool any = false;
        for (int j = 0; j < count && !any; ++j) any = layer_matches(o.match, mvm_layers[static_cast<size_t>(j)], j, count);
        if (any) continue;
        // A config is often written for one model and run with another: an override that
        // selects nothing would silently leave its layers at the defaults.
        std::string names;
        for (int j = 0; j < count && j < 8; ++j) {
            if (j > 0) names += ", ";
            names += mvm_layers[static_cast<size_t>(j)];
        }
        if (count > 8) names += ", ...";
        const YAML::Node& node = o.node;
        const YAML::Node m = node.IsMap() ? node["match"] : YAML::Node(YAML::NodeType::Undefined);
        // Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::to_string().
        std::string msg = m.IsDefined() ? yaml_where(config.file, m) : config.file;
        if (!m.IsDefined() && o.line > 0) msg.append(":").append(std::to_string(o.line));
        msg.append(": key 'layers[").append(std::to_string(i)).append("].match': '").append(o.match);
        msg.append("' matches no Conv/Gemm/MatMul layer of model '").append(model).append("' (its ");
        msg.append(std::to_string(count)).append(" such layers, by name or by index 0..").append(std::to_string(count - 1));
        msg.append(" or -").append(std::to_string(count)).append("..-1: ").append(names);
        msg.append("; `xbarsim inspect` lists them)");
        throw Error(msg);
    }
}

AnalogLayerConfig resolve_layer(const AnalogConfig& config, const std::string& name, int index, int count) {
    AnalogLayerConfig c = config.defaults;
    c.analog = config.enabled;
    for (size_t i = 0; i < config.overrides.size(); ++i) {
        const auto& o = config.overrides[i];
        if (!layer_matches(o.match, name, index, count)) continue;
        const std::string sec = "layers[" + std::to_string(i) + "]";
        c = apply_layer_keys(config.file, o.node, sec, c);
        if (o.node["digital"].IsDefined()) c.analog = !yaml_bool(config.file, o.node, "digital", false, sec);
    }
    return c;
}

namespace {

YAML::Node range_to_yaml(const RangeSpec& r) {
    YAML::Node n;
    if (r.mode == RangeMode::Value) n["range"] = r.value;
    else n["range"] = r.mode == RangeMode::Max ? "max" : "calibrated";
    n["percentile"] = r.percentile;
    n["method"] = r.method == CalibrationMethod::Mse ? "mse" : "percentile";
    return n;
}

}  // namespace

YAML::Node layer_to_yaml(const AnalogLayerConfig& c) {
    YAML::Node n;
    n["analog"] = c.analog;
    n["mapping"] = c.mapping.mapping == analog::Mapping::Offset ? "offset" : "differential";
    n["weight_bits"] = c.mapping.weight_bits;
    n["weight_range"] = c.weight_range == WeightRange::Max ? "max" : "percentile";
    n["weight_percentile"] = c.weight_percentile;
    n["weight_scaling"] = c.mapping.per_column_scale ? "column" : "layer";
    n["slices"] = c.mapping.slices;
    n["cell_bits"] = c.mapping.cell_bits;
    if (c.mapping.mapping == analog::Mapping::Differential) n["differential_readout"] = c.mapping.separate_differential ? "separate" : "subtract";
    else n["offset_reference"] = c.mapping.reference_column ? "column" : "digital";
    n["array"]["rows"] = c.mapping.array_rows;
    n["array"]["cols"] = c.mapping.array_cols;
    YAML::Node in = range_to_yaml(c.input_range);
    in["bits"] = c.input_bits;
    in["slice_bits"] = c.input_slice_bits;
    in["accumulation"] = c.input_analog_accumulation ? "analog" : "digital";
    in["sign"] = c.input_sign == InputSign::Auto ? "auto" : (c.input_sign == InputSign::Signed ? "signed" : "unsigned");
    n["input"] = in;
    YAML::Node adc = range_to_yaml(c.adc_range);
    adc["bits"] = c.adc_bits;
    adc["symmetric"] = c.adc_symmetric;
    adc["stochastic_rounding"] = c.stochastic_rounding;
    adc["per_column"] = c.adc_per_column;
    adc["columns_per_adc"] = c.columns_per_adc;
    adc["type"] = c.adc_type == AdcType::Flash ? "flash" : (c.adc_type == AdcType::Sar ? "sar" : "ramp");
    n["adc"] = adc;
    n["read_noise_mode"] = c.read_noise_mode == ReadNoiseMode::Lumped ? "lumped" : "per_cell";
    return n;
}

YAML::Node analog_to_yaml(const AnalogConfig& c) {
    YAML::Node n;
    n["enabled"] = c.enabled;
    n["defaults"] = layer_to_yaml(c.defaults);
    for (const auto& o : c.overrides) {
        YAML::Node e = YAML::Clone(o.node);
        n["layers"].push_back(e);
    }
    n["device"] = device_to_yaml(c.device);
    return n;
}

}  // namespace xbarsim
