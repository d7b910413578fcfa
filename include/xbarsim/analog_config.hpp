#pragma once
// The analog part of a config: how every Conv/Gemm/MatMul layer is mapped onto crossbars
// (`analog:` defaults, `layers:` per-layer overrides) and which device model the cells follow
// (`device:`). docs/config.md lists every key with unit and default.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "xbarsim/analog/analog_matrix.hpp"
#include "xbarsim/analog/device_model.hpp"

namespace xbarsim {

// Bounds of the analog keys (docs/config.md). A crossbar has at most a few thousand rows or
// columns in any published design; 2^16 leaves room for exploration while a larger value (a
// typo) would otherwise overflow the tiling arithmetic or allocate without bound.
inline constexpr int64_t kMaxArraySize = 65536;       // array.rows, array.cols, adc.columns_per_adc
inline constexpr float kMaxRangeValue = 1e20f;        // input.range, adc.range given as a number

// Where a range (input full scale, ADC full scale) comes from.
enum class RangeMode {
    Calibrated,  // from calibration images (percentile of |value|), per layer (and per slice)
    Max,         // the largest value the hardware can produce (inputs: max |x| seen; ADC: +-rows)
    Value,       // given explicitly
};

// How a calibrated range is chosen from the recorded |values|.
enum class CalibrationMethod {
    Percentile,  // the given percentile of |value|
    Mse,         // the clipping range that minimizes clipping + rounding squared error for the bits
};

struct RangeSpec {
    RangeMode mode = RangeMode::Calibrated;
    float value = 0.0f;         // RangeMode::Value
    double percentile = 99.99;  // RangeMode::Calibrated, CalibrationMethod::Percentile
    CalibrationMethod method = CalibrationMethod::Percentile;
};

enum class InputSign { Auto, Signed, Unsigned };  // Auto: unsigned when calibration saw no negative input
enum class WeightRange { Max, Percentile };
enum class ReadNoiseMode { Lumped, PerCell };
// ADC circuit family. It changes only the cost model (area, energy, conversion time), not the
// quantization the simulator applies: every family converts to the same 2^bits levels.
enum class AdcType { Flash, Sar, Ramp };

// Everything that decides how one MVM layer runs, after defaults and overrides are applied.
struct AnalogLayerConfig {
    bool analog = true;  // false: the layer is kept digital (FP32)
    analog::MatrixMapping mapping;
    WeightRange weight_range = WeightRange::Max;
    double weight_percentile = 99.99;
    int input_bits = 8;
    RangeSpec input_range;
    InputSign input_sign = InputSign::Auto;
    int input_slice_bits = 0;  // bit-serial inputs: bits per input slice (0 = all bits at once)
    bool input_analog_accumulation = false;  // bit-serial: shift-add input slices in analog, one ADC conversion
    int adc_bits = 8;
    RangeSpec adc_range;
    bool adc_symmetric = true;
    bool stochastic_rounding = false;
    bool adc_per_column = false;  // calibrated ADC range per output column (and weight slice)
    int columns_per_adc = 1;
    AdcType adc_type = AdcType::Sar;
    ReadNoiseMode read_noise_mode = ReadNoiseMode::Lumped;
};

struct LayerOverride {
    std::string match;  // node name, glob (* ?), or MVM-layer index ("3", "-1" = last)
    int line = 0;       // for messages
    YAML::Node node;    // the override's keys, applied on top of the defaults in file order
};

struct AnalogConfig {
    bool enabled = false;  // false: the whole network runs digitally
    AnalogLayerConfig defaults;
    std::vector<LayerOverride> overrides;
    analog::DeviceParams device;
    std::string file;  // config file, for messages
};

// Parses the `analog:`, `layers:` and `device:` sections of a config root (any may be absent).
AnalogConfig parse_analog_config(const YAML::Node& root, const std::string& file);

// The resolved settings of MVM layer `index` (0-based, in graph order, of `count`) named `name`.
// Throws Error when an override names keys that do not apply or values out of range.
AnalogLayerConfig resolve_layer(const AnalogConfig& config, const std::string& name, int index, int count);

// Throws Error naming the config file, the key layers[i].match, its line and `model` for the first
// override that matches none of `mvm_layers` (the model's Conv/Gemm/MatMul layers in graph order).
void check_overrides_match(const AnalogConfig& config, const std::vector<std::string>& mvm_layers, const std::string& model);

// True when an override's `match` selects the layer.
bool layer_matches(const std::string& match, const std::string& name, int index, int count);

YAML::Node analog_to_yaml(const AnalogConfig& config);
YAML::Node layer_to_yaml(const AnalogLayerConfig& layer);

}  // namespace xbarsim
