// Test helpers for the CDA codec: file reading, setting the WS/T 500 realm
// elements aside, and validation against the CDA R2 schema of the corpus.
// Thread rules: test-only; the schema is loaded once per process.
#pragma once

#include <string>

#include "core/status.h"

namespace hie::cda::testing {

std::string ReadFileOrEmpty(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

// Removes the WS/T 500 realm elements the stock CDA schema does not know
// (township, patientType, age) and returns the document re-serialised.
Result<std::string> StripRealmElements(const std::string& xml);

// Validates against ../shared/corpus/cda-schema/CDA.xsd after stripping the
// realm elements. kInvalidArgument lists the first schema errors.
Status ValidateAgainstCdaSchema(const std::string& xml);

}  // namespace hie::cda::testing
