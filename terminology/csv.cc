#include "terminology/csv.h"

#include <cstdint>
#include <string>

namespace hie {
namespace {

Status CsvError(std::string_view file, int line, std::string message) {
  return Status(ErrorCode::kConfigError, std::move(message),
                std::string(file) + ":" + std::to_string(line));
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8SeqLen(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

Result<CsvTable> ParseCsv(std::string_view text, std::string_view file) {
  // Validate UTF-8 first, reporting the line of the first bad byte.
  {
    int line = 1;
    for (size_t i = 0; i < text.size();) {
      const size_t n = Utf8SeqLen(text, i);
      if (n == 0) {
        return CsvError(file, line,
                        "文件不是 UTF-8 编码，请在表格软件中另存为 CSV UTF-8 "
                        "(invalid UTF-8; file saved as GBK?)");
      }
      if (text[i] == '\n') ++line;
      i += n;
    }
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  CsvTable table;
  bool have_header = false;
  size_t i = 0;
  int line = 1;
  const size_t n = text.size();
  while (i < n) {
    // At the start of a physical line.
    const size_t eol = text.find('\n', i);
    const size_t line_end = eol == std::string_view::npos ? n : eol;
    std::string_view raw = text.substr(i, line_end - i);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (raw.empty()) {  // blank line
      i = line_end + 1;
      ++line;
      continue;
    }
    if (!have_header && raw.front() == '#') {
      table.comments.emplace_back(raw.substr(1));
      i = line_end + 1;
      ++line;
      continue;
    }
    // Parse one record, which may span lines inside quotes.
    CsvRow row;
    row.line = line;
    std::string field;
    bool record_done = false;
    while (!record_done) {
      field.clear();
      if (i < n && text[i] == '"') {
        const int quote_line = line;
        ++i;
        bool closed = false;
        while (i < n) {
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
        }
        if (!closed) {
          return CsvError(file, quote_line,
                          "引号未闭合 (broken quoting: unterminated quoted field)");
        }
        // After the closing quote: comma, line end or end of text.
        if (i < n && text[i] == '\r' && (i + 1 >= n || text[i + 1] == '\n')) ++i;
        if (i < n && text[i] != ',' && text[i] != '\n') {
          return CsvError(file, line,
                          "引号后有多余字符 (broken quoting: text after closing quote)");
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n') {
          if (text[i] == '"') {
            return CsvError(file, line,
                            "未加引号的字段中出现引号，应写成 \"\"...\"\" "
                            "(broken quoting: quote inside unquoted field)");
          }
          field.push_back(text[i]);
          ++i;
        }
        if (!field.empty() && field.back() == '\r' && (i >= n || text[i] == '\n')) {
          field.pop_back();
        }
      }
      row.fields.push_back(field);
      if (i >= n) {
        record_done = true;
      } else if (text[i] == ',') {
        ++i;
      } else {  // '\n'
        ++i;
        ++line;
        record_done = true;
      }
    }
    if (!have_header) {
      table.header = std::move(row);
      have_header = true;
    } else {
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

std::string CsvEscape(std::string_view field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!field.empty() && (field.front() == ' ' || field.back() == ' ' || field.front() == '#')) {
    quote = true;
  }
  if (!quote) return std::string(field);
  std::string out;
  out.reserve(field.size() + 2);
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void AppendCsvRow(std::string& out, const std::vector<std::string_view>& fields) {
  for (size_t k = 0; k < fields.size(); ++k) {
    if (k > 0) out.push_back(',');
    out += CsvEscape(fields[k]);
  }
  out += "\r\n";
}

}  // namespace hie
