// Terminal tables for the CLI (hie patient show / labs): column widths by
// display width, where a CJK (East Asian wide / fullwidth) character takes
// two columns, a combining mark none, everything else one; UTF-8 in and out.
// Thread rules: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hie {

// Columns `s` takes in a terminal (invalid UTF-8 bytes count 1 each).
int DisplayWidth(std::string_view s);
// `s` cut to at most `width` columns (the cut marked with ".."), never
// splitting a character. Only ASCII marks: box-drawing characters and "…"
// are East Asian Ambiguous and take two columns in many CJK terminals.
std::string TruncateToWidth(std::string_view s, int width);
// `s` padded with spaces to `width` columns.
std::string PadToWidth(std::string_view s, int width);

// Header, a rule of '-', then the rows; columns two spaces apart, each as
// wide as its widest cell (at most `max_cell` columns; longer cells are
// truncated). Rows shorter than the header get empty cells. All headers
// empty: no header and no rule. Lines end in '\n', no trailing spaces.
std::string RenderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, int max_cell = 40);

}  // namespace hie
