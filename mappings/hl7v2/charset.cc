#include "mappings/hl7v2/charset.h"

#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hie {
namespace {

std::string NormalizeLabel(std::string_view label) {
  std::string s;
  for (char c : label) {
    if (c == ' ' || c == '-' || c == '_' || c == '/' || c == '\t' || c == '.') continue;
    s += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return s;
}

Status InvalidBytes(size_t offset, std::string_view charset) {
  std::string off = std::to_string(offset);
  return Status(ErrorCode::kUnsupportedCharset,
                "第 " + off + " 字节不是合法的 " + std::string(charset) + " 编码 (invalid " +
                    std::string(charset) + " byte at offset " + off +
                    ")；请核对 MSH-18 或机构的 charset 设置 (check MSH-18 or the facility's "
                    "charset setting)",
                "MSH-18");
}

struct IconvCloser {
  void operator()(void* cd) const { iconv_close(static_cast<iconv_t>(cd)); }
};

// Converts with iconv; `in_charset` names the input for error texts.
Result<std::string> Convert(std::string_view in, const std::string& from, const std::string& to,
                            std::string_view in_charset, bool encoding) {
  iconv_t raw = iconv_open(to.c_str(), from.c_str());
  if (raw == reinterpret_cast<iconv_t>(-1)) {
    return Status(ErrorCode::kUnsupportedCharset,
                  "不支持的字符集 (unsupported character set) " + (encoding ? to : from), "MSH-18");
  }
  std::unique_ptr<void, IconvCloser> cd(raw);
  std::string out;
  out.resize(in.size() * 2 + 16);
  char* inp = const_cast<char*>(in.data());
  size_t inleft = in.size();
  size_t used = 0;
  while (true) {
    char* outp = out.data() + used;
    size_t outleft = out.size() - used;
    size_t r = iconv(raw, inleft > 0 ? &inp : nullptr, &inleft, &outp, &outleft);
    used = out.size() - outleft;
    if (r != static_cast<size_t>(-1)) {
      if (inleft == 0) break;
      continue;
    }
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    size_t offset = static_cast<size_t>(inp - in.data());
    if (encoding) {
      std::string off = std::to_string(offset);
      return Status(ErrorCode::kUnsupportedCharset,
                    "第 " + off + " 字节处的字符无法用 " + to + " 表示 (character at byte offset " +
                        off + " cannot be encoded in " + to + ")",
                    "MSH-18");
    }
    return InvalidBytes(offset, in_charset);
  }
  out.resize(used);
  return out;
}

bool IsUtf8Label(const std::string& canonical) { return canonical == "UTF-8"; }

}  // namespace

Result<std::string> CanonicalCharset(std::string_view charset_label) {
  // The labels of nearly every message, answered before normalizing.
  if (charset_label.empty() || charset_label == "UNICODE UTF-8") return std::string("UTF-8");
  const std::string n = NormalizeLabel(charset_label);
  if (n.empty() || n == "UNICODEUTF8" || n == "UTF8" || n == "UNICODE") return std::string("UTF-8");
  if (n == "ASCII" || n == "USASCII" || n == "ISOIR6") return std::string("ASCII");
  if (n == "GB180302000" || n == "GB180302005" || n == "GB18030" || n == "GBK" || n == "GB2312" ||
      n == "GB23121980" || n == "CP936" || n == "936" || n == "EUCCN" || n == "ISOIR58") {
    return std::string("GB18030");
  }
  if (n == "BIG5" || n == "CP950") return std::string("BIG5");
  for (const char* part : {"1", "2", "3", "4", "5", "6", "7", "8", "9", "15"}) {
    std::string p(part);
    if (n == "8859" + p || n == "ISO8859" + p || n == "ISOIR" + p) {
      return "ISO-8859-" + p;
    }
  }
  if (n == "LATIN1") return std::string("ISO-8859-1");
  return Status(ErrorCode::kUnsupportedCharset,
                "不支持的字符集 (unsupported character set) '" + std::string(charset_label) + "'",
                "MSH-18");
}

namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ull;

// Index of the first byte >= 0x80 at or after `i` (or n), 16 or 8 bytes a step.
size_t SkipAscii(const unsigned char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  while (n - i >= 16) {  // the high bits of 16 bytes in one mask
    const unsigned mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    i += 16;
  }
#endif
  while (n - i >= 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if ((w & kHighBits) != 0) break;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

}  // namespace

bool IsAscii(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  return SkipAscii(p, 0, bytes.size()) == bytes.size();
}

size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      i = SkipAscii(p, i + 1, n);
      continue;
    }
    // Every failure below names the lead byte of the sequence.
    if (c >= 0xE1 && c <= 0xEC && n - i >= 3 && (p[i + 1] & 0xC0) == 0x80 &&
        (p[i + 2] & 0xC0) == 0x80) {
      i += 3;  // U+1000..U+CFFF (most CJK): no overlong or surrogate possible
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

Result<std::string> DecodeToUtf8(std::string_view bytes, std::string_view charset_label) {
  HIE_ASSIGN_OR_RETURN(std::string cs, CanonicalCharset(charset_label));
  if (IsUtf8Label(cs) || cs == "ASCII") {  // ASCII is valid UTF-8: one scan
    size_t bad = FindInvalidUtf8(bytes);
    if (bad != std::string_view::npos) return InvalidBytes(bad, cs == "ASCII" ? "ASCII" : "UTF-8");
    return std::string(bytes);
  }
  if (IsAscii(bytes)) return std::string(bytes);
  if (cs == "ISO-8859-1") {  // every byte is its own code point
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 4);
    for (char ch : bytes) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x80) {
        out += ch;
      } else {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
      }
    }
    return out;
  }
  return Convert(bytes, cs, "UTF-8", cs, /*encoding=*/false);
}

Result<std::string> EncodeFromUtf8(std::string_view utf8, std::string_view charset_label) {
  HIE_ASSIGN_OR_RETURN(std::string cs, CanonicalCharset(charset_label));
  if (IsAscii(utf8)) return std::string(utf8);
  size_t bad = FindInvalidUtf8(utf8);
  if (bad != std::string_view::npos) return InvalidBytes(bad, "UTF-8");
  if (IsUtf8Label(cs)) return std::string(utf8);
  return Convert(utf8, "UTF-8", cs, "UTF-8", /*encoding=*/true);
}

}  // namespace hie
