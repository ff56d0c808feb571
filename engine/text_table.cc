#include "engine/text_table.h"

#include <algorithm>
#include <cstdint>

namespace hie {
namespace {

// Decodes one code point at s[i]; advances i. Invalid bytes: the byte itself.
char32_t Next(std::string_view s, size_t& i, size_t* len) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    *len = 1;
    ++i;
    return c;
  }
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < n; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 0x2) {
      *len = 1;
      ++i;
      return c;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  *len = static_cast<size_t>(n);
  i += n;
  return cp;
}

int WidthOf(char32_t cp) {
  if (cp == 0) return 0;
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 0;
  // Combining marks and zero-width characters.
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
      (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0x20D0 && cp <= 0x20FF)) {
    return 0;
  }
  // East Asian Wide (W) and Fullwidth (F).
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

}  // namespace

int DisplayWidth(std::string_view s) {
  int w = 0;
  size_t len = 0;
  for (size_t i = 0; i < s.size();) w += WidthOf(Next(s, i, &len));
  return w;
}

std::string TruncateToWidth(std::string_view s, int width) {
  if (DisplayWidth(s) <= width) return std::string(s);
  if (width <= 0) return {};
  std::string out;
  int w = 0;
  size_t len = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const int cw = WidthOf(Next(s, i, &len));
    if (w + cw > width - 2) break;  // two columns for the ".."
    out.append(s.substr(start, len));
    w += cw;
  }
  return out + "..";
}

std::string PadToWidth(std::string_view s, int width) {
  std::string out(s);
  for (int w = DisplayWidth(s); w < width; ++w) out += ' ';
  return out;
}

std::string RenderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, int max_cell) {
  const size_t n = headers.size();
  std::vector<int> widths(n, 0);
  auto cell = [&](const std::vector<std::string>& row, size_t c) {
    return c < row.size() ? TruncateToWidth(row[c], max_cell) : std::string();
  };
  for (size_t c = 0; c < n; ++c) widths[c] = DisplayWidth(cell(headers, c));
  for (const auto& r : rows) {
    for (size_t c = 0; c < n; ++c) widths[c] = std::max(widths[c], DisplayWidth(cell(r, c)));
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t c = 0; c < n; ++c) {
      if (c > 0) out += "  ";
      out += c + 1 < n ? PadToWidth(cell(row, c), widths[c]) : cell(row, c);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  const bool header =
      std::any_of(headers.begin(), headers.end(), [](const std::string& h) { return !h.empty(); });
  std::string out;
  if (header) {
    out = line(headers);
    int total = 0;
    for (size_t c = 0; c < n; ++c) total += widths[c] + (c > 0 ? 2 : 0);
    out += std::string(static_cast<size_t>(total), '-') + "\n";
  }
  for (const auto& r : rows) out += line(r);
  return out;
}

}  // namespace hie
