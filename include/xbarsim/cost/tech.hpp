#pragma once
// Technology parameters of the cost model: one YAML file per node in configs/tech/ (22nm.yaml,
// 32nm.yaml, 7nm.yaml), every constant with its unit and source (docs/cost.md). Plain data: the
// cost model reads it and never touches files itself.
#include <map>
#include <string>

namespace xbarsim::cost {

// One memory cell technology of the node's device table.
struct DeviceCost {
    std::string name;            // rram, pcm, sram, fefet, sonos
    double r_on_ohm = 0;         // low-resistance state, Ω (G_max = 1 / R_on)
    double on_off_ratio = 0;     // R_off / R_on (g_min = 1 / ratio)
    double cell_area_f2 = 0;     // cell footprint in F², F = the node's array feature size
    double read_voltage_v = 0;   // effective voltage across a cell while it is read, V
    double write_voltage_v = 0;  // programming voltage, V (level shifters above the threshold)
};

// Flash: 2^B - 1 comparator levels working in parallel, one conversion per sensing cycle.
struct FlashAdc {
    double power_uw_per_level = 0;    // µW per comparator level while converting
    double conversion_ns = 0;         // one conversion
    double transistors_per_level = 0; // comparator + reference + encoder share, in minimum transistors
};

// SAR: power (a + b·B) µW over B + 1 cycles of cycle_ns; area a + b·B.
struct SarAdc {
    double power_uw_base = 0, power_uw_per_bit = 0;
    double cycle_ns = 0;
    double transistors_base = 0, transistors_per_bit = 0;
};

// Ramp (single slope): 2^B steps of a shared ramp; one comparator and a B-bit latch per ADC, one
// ramp generator and counter per array.
struct RampAdc {
    double comparator_power_uw = 0;   // per ADC while converting
    double step_ns = 0;               // one ramp step (counter clock period)
    double comparator_transistors = 0;
    double latch_transistors_per_bit = 0;
    double generator_power_uw = 0;    // ramp generator + counter, per array while converting
    double generator_transistors = 0;
};

struct TechParams {
    std::string name;  // e.g. "22nm"
    std::string file;  // where it was read from
    std::string description;
    // node
    double feature_nm = 0;        // F of the logic
    double array_feature_nm = 0;  // F of the memory array (cell dimensions, wire width)
    double transistor_um2 = 0;    // layout area of one minimum transistor with its local wiring
    double layout_factor = 1;     // placement/routing overhead on all CMOS periphery (calibrated)
    double level_shifter_above_v = 0;  // write voltages above this need level shifters
    // timing
    double array_read_ns = 0;     // WL switching + column settling + mux, per sensing cycle
    double latency_factor = 1;    // post-layout slow-down of the sensing cycle
    // digital
    double adder_bit_fj = 0, register_bit_fj = 0;                  // per bit operation / write
    double adder_bit_transistors = 0, register_bit_transistors = 0;
    double mac8_fj = 0, mac8_transistors = 0;                      // digital 8-bit multiply-accumulate
    double elementwise_op_fj = 0;                                  // one 8-bit activation/pooling/add op
    // buffers and wires
    double buffer_read_fj_per_bit = 0, buffer_write_fj_per_bit = 0, buffer_um2_per_bit = 0;
    double wire_fj_per_bit_mm = 0, wire_pitch_um = 0;
    double leakage_uw_per_mm2 = 0;  // static power of CMOS periphery per mm²
    // array periphery
    double wl_driver_transistors = 0;    // per row: input register + word-line driver
    double wl_fj_per_cell = 0;           // word-line switching energy per cell on the row
    double dac_transistors_per_bit = 0;  // multi-bit input DAC, per row and bit
    double dac_fj_per_bit = 0;           // per conversion and bit
    double mux_switch_transistors = 0;   // per column (transmission gate)
    double mux_decoder_transistors_per_output = 0;  // select decoder + line driver, per mux input
    double mux_fj_per_column = 0;        // select-line switching per column per mux step
    double level_shifter_transistors = 0;
    FlashAdc flash;
    SarAdc sar;
    RampAdc ramp;
    std::map<std::string, DeviceCost> devices;

    // Area of `transistors` minimum transistors of CMOS periphery, µm² (layout factor included).
    double cmos_um2(double transistors) const { return transistors * transistor_um2 * layout_factor; }
    const DeviceCost& device(const std::string& name) const;  // throws Error naming the file
};

// Reads a technology file; unknown or missing keys and wrong types are errors naming the file,
// the key and its line.
TechParams load_tech(const std::string& path);

// Resolves `name_or_path`: an existing file path (absolute, or relative to the working directory
// or to `relative_to`), else a node name looked up as <dir>/<name>.yaml in: $XBARSIM_TECH_DIR,
// `relative_to`/tech, configs/tech of the working directory, and configs/tech of the source tree
// the executable was built in (<exe>/../configs/tech, <exe>/../../configs/tech). Throws Error
// listing the places tried.
std::string find_tech_file(const std::string& name_or_path, const std::string& relative_to = "");

// The technology a config names (`cost_tech`, from its cost.tech), or `override_name` when given
// (a command-line --tech: a path relative to the working directory, or a node name), looked up
// next to the config file `config_file`.
TechParams load_config_tech(const std::string& cost_tech, const std::string& config_file, const std::string& override_name = "");

}  // namespace xbarsim::cost
