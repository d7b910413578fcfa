#pragma once
// The `device:` section of a config: YAML → analog::DeviceParams with strict validation, and back
// for reports. docs/devices.md lists every key with unit, default and source.
#include <yaml-cpp/yaml.h>

#include <string>

#include "xbarsim/analog/device_model.hpp"

namespace xbarsim {

// Parses a `device:` mapping. `file` and `section` (its dotted key, e.g. "device" or
// "layers.conv1.device") name the place in error messages. An absent or null node gives the ideal
// device. Unknown keys (for the chosen model), wrong types and out-of-range values throw Error
// "<file>:<line>: key '<section>.<key>': <message>".
analog::DeviceParams parse_device(const YAML::Node& node, const std::string& file, const std::string& section);

// The resolved model as YAML (every key the model accepts, defaults included); parse_device of the
// result gives back the same parameters.
YAML::Node device_to_yaml(const analog::DeviceParams& params);

// The model with its published defaults (docs/devices.md). Generic and custom come with their
// effects disabled, since they have no law until one is given.
analog::DeviceParams default_device(analog::DeviceKind kind);

// YAML name of a model: ideal, generic, pcm, rram_wan2022, rram_milo2021, sonos, custom.
const char* device_kind_name(analog::DeviceKind kind);

}  // namespace xbarsim
