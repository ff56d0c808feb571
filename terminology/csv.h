// RFC 4180 CSV reading and writing for the terminology files county IT edits
// in a spreadsheet: quoted fields with commas, doubled quotes and newlines,
// CRLF or LF line ends, a UTF-8 byte-order mark tolerated, `#` comment lines
// allowed before the header (source and edition notes), blank lines skipped.
// Input must be UTF-8: a file saved as GBK is refused with its line, since
// silently mangled Chinese displays are worse than a clear error.
// Thread rules: free functions on values; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie {

struct CsvRow {
  int line = 0;  // 1-based line where the record starts in the file
  std::vector<std::string> fields;
};

struct CsvTable {
  std::vector<std::string> comments;  // `#` lines before the header, without '#'
  CsvRow header;                      // header.fields empty for an empty file
  std::vector<CsvRow> rows;           // data records after the header
};

// Parses a whole file. `file` names it in errors (where = "file:line").
// Errors: kConfigError for broken quoting or invalid UTF-8.
Result<CsvTable> ParseCsv(std::string_view text, std::string_view file);

// Quotes a field if it holds a comma, quote, CR/LF or leading/trailing space.
std::string CsvEscape(std::string_view field);
// Appends one record (escaped fields joined by commas) and "\r\n".
void AppendCsvRow(std::string& out, const std::vector<std::string_view>& fields);

}  // namespace hie
