// Technology files of the cost model (configs/tech/*.yaml): strict reading (every key required,
// unknown keys rejected) and lookup of a node name.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "xbarsim/cost/cost_config.hpp"
#include "xbarsim/cost/tech.hpp"
#include "xbarsim/error.hpp"
#include "xbarsim/yaml_util.hpp"

namespace xbarsim::cost {

namespace {

namespace fs = std::filesystem;

// The required numbers of one section `parent[key]`, named `section` in messages: every constant
// of a technology must be stated.
class Section {
public:
    Section(const std::string& file, const YAML::Node& parent, const std::string& key, const std::string& section,
            std::initializer_list<std::string_view> keys)
        : file_(file), name_(section), node_(parent[key]) {
        if (!node_.IsDefined() || node_.IsNull()) yaml_fail(file, parent, section, "required section is missing");
        yaml_check_keys(file, node_, section, keys);
    }
    // A required number above `min` (`strict`) or at least `min`, and at most `max`: finite, and
    // bounded so that a typo (1e308) cannot turn the report's figures into inf or 300 digits.
    double get(const std::string& key, double min = 0.0, bool strict = true, double max = kMaxTechConstant) const {
        const double v = yaml_number_required(file_, node_, key, name_);
        if (!std::isfinite(v)) yaml_fail(file_, node_[key], name_ + "." + key, "must be a finite number");
        if (strict ? !(v > min) : !(v >= min)) {
            char bound[32];
            std::snprintf(bound, sizeof bound, "%g", min);
            yaml_fail(file_, node_[key], name_ + "." + key, std::string("must be ") + (strict ? "greater than " : "at least ") + bound);
        }
        if (v > max) {
            char msg[96];
            std::snprintf(msg, sizeof msg, "must be at most %g, got %g", max, v);
            yaml_fail(file_, node_[key], name_ + "." + key, msg);
        }
        return v;
    }
    const YAML::Node& node() const { return node_; }

private:
    std::string file_, name_;
    YAML::Node node_;
};

DeviceCost parse_device(const std::string& file, const YAML::Node& devices, const std::string& name) {
    const std::string section = "devices." + name;
    Section s(file, devices, name, section, {"r_on_ohm", "on_off_ratio", "cell_area_F2", "read_voltage_V", "write_voltage_V"});
    DeviceCost d;
    d.name = name;
    d.r_on_ohm = s.get("r_on_ohm", kMinResistanceOhm, false, kMaxResistanceOhm);
    d.on_off_ratio = s.get("on_off_ratio", 1.0, false, kMaxOnOffRatio);
    d.cell_area_f2 = s.get("cell_area_F2");
    d.read_voltage_v = s.get("read_voltage_V");
    d.write_voltage_v = s.get("write_voltage_V", 0.0, false);
    return d;
}

std::string executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

const DeviceCost& TechParams::device(const std::string& cell) const {
    const auto it = devices.find(cell);
    if (it != devices.end()) return it->second;
    std::string list;
    for (const auto& [k, v] : devices) list += (list.empty() ? "" : ", ") + k;
    throw Error(file + ": no device '" + cell + "' in the technology's device table (available: " + list + ")");
}

TechParams load_tech(const std::string& path) {
    const YAML::Node root = load_yaml_file(path);
    if (!root.IsMap()) throw Error(path + ": a technology file is a mapping (see configs/tech/22nm.yaml)");
    yaml_check_keys(path, root, "",
                    {"name", "description", "node", "timing", "digital", "buffer", "interconnect", "leakage", "periphery", "adc",
                     "devices"});
    TechParams t;
    t.file = path;
    t.name = yaml_string_required(path, root, "name");
    t.description = yaml_string(path, root, "description", "");

    const Section node(path, root, "node", "node",
                       {"feature_nm", "array_feature_nm", "transistor_um2", "layout_factor", "level_shifter_above_V"});
    t.feature_nm = node.get("feature_nm");
    t.array_feature_nm = node.get("array_feature_nm");
    t.transistor_um2 = node.get("transistor_um2");
    t.layout_factor = node.get("layout_factor", 1.0, false, 100.0);
    t.level_shifter_above_v = node.get("level_shifter_above_V");

    const Section timing(path, root, "timing", "timing", {"array_read_ns", "latency_factor"});
    t.array_read_ns = timing.get("array_read_ns", 0.0, false, 1e6);  // 1 ms per sensing cycle
    t.latency_factor = timing.get("latency_factor", 1.0, false, 100.0);

    const Section digital(path, root, "digital", "digital",
                          {"adder_bit_fJ", "register_bit_fJ", "adder_bit_transistors", "register_bit_transistors", "mac8_fJ",
                           "mac8_transistors", "elementwise_op_fJ"});
    t.adder_bit_fj = digital.get("adder_bit_fJ");
    t.register_bit_fj = digital.get("register_bit_fJ");
    t.adder_bit_transistors = digital.get("adder_bit_transistors");
    t.register_bit_transistors = digital.get("register_bit_transistors");
    t.mac8_fj = digital.get("mac8_fJ");
    t.mac8_transistors = digital.get("mac8_transistors");
    t.elementwise_op_fj = digital.get("elementwise_op_fJ");

    const Section buffer(path, root, "buffer", "buffer", {"read_fJ_per_bit", "write_fJ_per_bit", "um2_per_bit"});
    t.buffer_read_fj_per_bit = buffer.get("read_fJ_per_bit");
    t.buffer_write_fj_per_bit = buffer.get("write_fJ_per_bit");
    t.buffer_um2_per_bit = buffer.get("um2_per_bit");

    const Section wires(path, root, "interconnect", "interconnect", {"wire_fJ_per_bit_mm", "wire_pitch_um"});
    t.wire_fj_per_bit_mm = wires.get("wire_fJ_per_bit_mm");
    t.wire_pitch_um = wires.get("wire_pitch_um");

    const Section leakage(path, root, "leakage", "leakage", {"uW_per_mm2"});
    t.leakage_uw_per_mm2 = leakage.get("uW_per_mm2", 0.0, false, 1e6);  // 1 W/mm², beyond any CMOS

    const Section per(path, root, "periphery", "periphery",
                      {"wl_driver_transistors", "wl_fJ_per_cell", "dac_transistors_per_bit", "dac_fJ_per_bit", "mux_switch_transistors",
                       "mux_decoder_transistors_per_output", "mux_fJ_per_column", "level_shifter_transistors"});
    t.wl_driver_transistors = per.get("wl_driver_transistors");
    t.wl_fj_per_cell = per.get("wl_fJ_per_cell");
    t.dac_transistors_per_bit = per.get("dac_transistors_per_bit");
    t.dac_fj_per_bit = per.get("dac_fJ_per_bit");
    t.mux_switch_transistors = per.get("mux_switch_transistors");
    t.mux_decoder_transistors_per_output = per.get("mux_decoder_transistors_per_output");
    t.mux_fj_per_column = per.get("mux_fJ_per_column");
    t.level_shifter_transistors = per.get("level_shifter_transistors");

    const Section adc(path, root, "adc", "adc", {"flash", "sar", "ramp"});
    const Section flash(path, adc.node(), "flash", "adc.flash", {"power_uW_per_level", "conversion_ns", "transistors_per_level"});
    t.flash.power_uw_per_level = flash.get("power_uW_per_level");
    t.flash.conversion_ns = flash.get("conversion_ns");
    t.flash.transistors_per_level = flash.get("transistors_per_level");
    const Section sar(path, adc.node(), "sar", "adc.sar",
                      {"power_uW_base", "power_uW_per_bit", "cycle_ns", "transistors_base", "transistors_per_bit"});
    t.sar.power_uw_base = sar.get("power_uW_base", 0.0, false);
    t.sar.power_uw_per_bit = sar.get("power_uW_per_bit", 0.0, false);
    t.sar.cycle_ns = sar.get("cycle_ns");
    t.sar.transistors_base = sar.get("transistors_base", 0.0, false);
    t.sar.transistors_per_bit = sar.get("transistors_per_bit", 0.0, false);
    const Section ramp(path, adc.node(), "ramp", "adc.ramp",
                       {"comparator_power_uW", "step_ns", "comparator_transistors", "latch_transistors_per_bit", "generator_power_uW",
                        "generator_transistors"});
    t.ramp.comparator_power_uw = ramp.get("comparator_power_uW");
    t.ramp.step_ns = ramp.get("step_ns");
    t.ramp.comparator_transistors = ramp.get("comparator_transistors");
    t.ramp.latch_transistors_per_bit = ramp.get("latch_transistors_per_bit");
    t.ramp.generator_power_uw = ramp.get("generator_power_uW", 0.0, false);
    t.ramp.generator_transistors = ramp.get("generator_transistors", 0.0, false);

    const YAML::Node devices = root["devices"];
    if (!devices.IsDefined() || devices.IsNull()) yaml_fail(path, root, "devices", "required section is missing");
    yaml_require_map(path, devices, "devices");
    yaml_check_unique_keys(path, devices, "devices");
    for (const auto& kv : devices) {
        const std::string name = yaml_key(path, kv.first, "devices");
        t.devices[name] = parse_device(path, devices, name);
    }
    if (t.devices.empty()) yaml_fail(path, devices, "devices", "the device table is empty");
    return t;
}

std::string find_tech_file(const std::string& name_or_path, const std::string& relative_to) {
    if (name_or_path.empty()) throw Error("cost model: no technology given (cost.tech or --tech)");
    std::vector<fs::path> tried;
    auto exists = [&](const fs::path& p) {
        tried.push_back(p);
        std::error_code ec;
        return fs::is_regular_file(p, ec);
    };
    const fs::path given(name_or_path);
    std::error_code dir_ec;
    if (fs::is_directory(given, dir_ec))
        throw Error("technology '" + name_or_path + "' is a directory; give a technology file (configs/tech/*.yaml) or a node name");
    const bool looks_like_path = given.has_parent_path() || given.extension() == ".yaml" || given.extension() == ".yml";
    if (looks_like_path) {
        if (exists(given)) return given.string();
        if (!relative_to.empty() && given.is_relative() && exists(fs::path(relative_to) / given))
            return (fs::path(relative_to) / given).string();
    } else {
        const std::string file = name_or_path + ".yaml";
        std::vector<fs::path> dirs;
        if (const char* env = std::getenv("XBARSIM_TECH_DIR")) dirs.emplace_back(env);
        if (!relative_to.empty()) dirs.push_back(fs::path(relative_to) / "tech");
        dirs.emplace_back("configs/tech");
        const std::string exe = executable_dir();
        if (!exe.empty()) {
            dirs.push_back(fs::path(exe) / ".." / "configs" / "tech");
            dirs.push_back(fs::path(exe) / ".." / ".." / "configs" / "tech");
        }
        for (const auto& d : dirs)
            if (exists(d / file)) return (d / file).lexically_normal().string();
    }
    std::string list;
    for (const auto& p : tried) list += (list.empty() ? "" : ", ") + p.lexically_normal().string();
    throw Error("technology '" + name_or_path + "' not found (tried " + list + ")");
}

TechParams load_config_tech(const std::string& cost_tech, const std::string& config_file, const std::string& override_name) {
    std::error_code ec;
    const bool from_file = !config_file.empty() && fs::is_regular_file(config_file, ec);
    const std::string dir = from_file ? fs::path(config_file).parent_path().string() : std::string();
    if (!override_name.empty()) {
        try {
            return load_tech(find_tech_file(override_name, std::string()));
        } catch (const Error& e) {
            throw Error(std::string("--tech: ") + e.what());
        }
    }
    std::string path;
    try {
        path = find_tech_file(cost_tech, dir);
    } catch (const Error& e) {
        // Name where the technology was asked for: the config's key (or the built-in default).
        throw Error((from_file ? config_file + ": key 'cost.tech': " : std::string("cost.tech (default): ")) + e.what());
    }
    return load_tech(path);
}

}  // namespace xbarsim::cost
