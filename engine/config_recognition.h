// The `recognition:` section of the config (engine/config.h
// RecognitionConfig): the mutual-recognition catalogue (检查检验结果互认) —
// for each recognized item (LOINC code) its validity window, standard UCUM
// unit and the facilities qualified for it by external quality assessment
// (室间质评, with the year). Items come from `recognition.items` (YAML) and
// from the CSV named by `recognition.file` (relative paths: the hub's working
// directory, like every path of the config). Parsed apart from config.cc to
// keep that file in bounds. Internal to the config loader.
//
// CSV (UTF-8, header required): code,name,validity_days,unit,facility,eqa_year
// One row per (item, qualified facility); rows of one code must agree on
// name, validity_days and unit; a row with an empty facility declares the
// item without a qualified facility. Lines starting with '#' are comments.
//
// Thread rules: pure functions (the CSV file is read once).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "core/status.h"
#include "engine/config.h"

namespace hie {

// `node` is root["recognition"] (absent or null: no catalogue). Errors are
// kConfigError with "<file>:<line>" in where() (the YAML line, or the CSV
// file's line).
Status LoadRecognitionSection(const YAML::Node& node, const std::string& file,
                              RecognitionConfig* out);

// Parses catalogue CSV text (what recognition.file holds) into `out`, adding
// to what is there. `file_name` names the file in errors ("<file>:<line>").
Status ParseRecognitionCsv(std::string_view text, const std::string& file_name,
                           RecognitionConfig* out);

}  // namespace hie
