// Readers of labelled person-record files for the EMPI evaluator: the
// synthetic county CSV of hie-empi-generate, the FEBRL data sets
// (rec-N-org / rec-N-dup-k) and the Splink demo set (cluster column).
// Thread rules: pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "tools/empi/population.h"

namespace hie::empi::tools {

// Splits one CSV line (RFC 4180 quotes; spaces after commas are trimmed).
std::vector<std::string> SplitCsvLine(const std::string& line);

// Reads a labelled file, detecting its format from the header.
// kParseError (with "file:line") for a malformed file.
Result<std::vector<LabelledRecord>> ReadLabelled(const std::string& path);

}  // namespace hie::empi::tools
