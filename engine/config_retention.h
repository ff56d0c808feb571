// The `retention:` section of the config (engine/config.h RetentionConfig),
// parsed apart from config.cc to keep that file in bounds. Internal to the
// config loader.
// Thread rules: a pure function.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "core/status.h"
#include "engine/config.h"

namespace hie {

// `node` is root["retention"] (absent or null: retention off). Errors are
// kConfigError with "<file>:<line>" in where(), like the rest of the config.
Status LoadRetentionSection(const YAML::Node& node, const std::string& file, RetentionConfig* out);

}  // namespace hie
