#include "mappings/hl7v2/er7.h"

#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hie {
namespace {

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsUpper(c) || IsDigit(c) || (c >= 'a' && c <= 'z'); }
bool IsSegIdChar(char c) { return IsUpper(c) || IsDigit(c); }

// Bytes tolerated between segments and around a message: whitespace,
// blank lines and MLLP framing (0x0B start, 0x1C end).
bool IsBlankByte(char c) {
  return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\x0b' || c == '\x1c' || c == '\f';
}

bool IsHeaderId(std::string_view id) { return id == "MSH" || id == "FHS" || id == "BHS"; }

bool ValidSegmentId(std::string_view id) {
  return id.size() == 3 && IsUpper(id[0]) && IsSegIdChar(id[1]) && IsSegIdChar(id[2]);
}

// First index >= q (q <= n) holding the field separator, CR or LF; n if none.
// With SSE2 (every x86-64) 16 bytes a step while 16 remain: three byte
// compares, one mask, the lowest set bit is the first stop byte.
[[gnu::always_inline]] inline size_t ScanToStop(const char* s, size_t q, size_t n, char fs) {
#if defined(__SSE2__)
  const __m128i f = _mm_set1_epi8(fs);
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  while (n - q >= 16) {
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + q));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, f), _mm_cmpeq_epi8(w, cr)),
                                     _mm_cmpeq_epi8(w, lf));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) return q + static_cast<size_t>(__builtin_ctz(mask));
    q += 16;
  }
#endif
  while (q < n && s[q] != fs && s[q] != '\r' && s[q] != '\n') ++q;
  return q;
}

}  // namespace

size_t Er7FindFieldEnd(std::string_view text, size_t from, char field) {
  return ScanToStop(text.data(), from, text.size(), field);
}

namespace {

Status ParseError(std::string msg, std::string where) {
  return Status(ErrorCode::kParseError, std::move(msg), std::move(where));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Picks repetition / component / subcomponent of one raw field by path.
std::string_view PickElement(std::string_view f, const Er7Path& p, const Er7Delimiters& d) {
  if (p.repetition == 0 && p.component == 0) return f;
  std::string_view r = Er7Piece(f, d.repetition, p.repetition == 0 ? 1 : p.repetition);
  if (p.component == 0) return r;
  std::string_view c = Er7Piece(r, d.component, p.component);
  if (p.subcomponent == 0) return c;
  return Er7Piece(c, d.subcomponent, p.subcomponent);
}

// Replaces piece n (1-based) of `s` split at `sep`, padding with separators.
Status ReplacePiece(std::string& s, char sep, size_t n, std::string_view piece) {
  if (sep == '\0') {
    if (n != 1) {
      return Status(ErrorCode::kInvalidArgument,
                    "报文未声明该分隔符 (delimiter not declared in MSH-2)", "MSH-2");
    }
    s.assign(piece);
    return Status::Ok();
  }
  size_t start = 0;
  for (size_t i = 1; i < n; ++i) {
    size_t k = s.find(sep, start);
    if (k == std::string::npos) {
      s.append(n - i, sep);
      start = s.size();
      break;
    }
    start = k + 1;
  }
  size_t end = s.find(sep, start);
  if (end == std::string::npos) end = s.size();
  s.replace(start, end - start, piece);
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------- delimiters

std::string Er7Delimiters::EncodingCharacters() const {
  std::string s(1, component);
  for (char c : {repetition, escape, subcomponent, truncation}) {
    if (c == '\0') break;
    s += c;
  }
  return s;
}

bool Er7Delimiters::IsDelimiter(char c) const {
  return c != '\0' && (c == field || c == component || c == repetition || c == escape ||
                       c == subcomponent || c == truncation);
}

std::string_view TerminatorText(SegmentTerminator t) {
  switch (t) {
    case SegmentTerminator::kCR:
      return "\r";
    case SegmentTerminator::kLF:
      return "\n";
    case SegmentTerminator::kCRLF:
      return "\r\n";
  }
  return "\r";
}

// ---------------------------------------------------------------------- path

Result<Er7Path> Er7Path::Parse(std::string_view path) {
  auto bad = [&]() {
    return Status(ErrorCode::kInvalidArgument,
                  "字段路径格式错误 (invalid field path): " + std::string(path), std::string(path));
  };
  Er7Path p;
  if (path.size() < 3 || !ValidSegmentId(path.substr(0, 3))) return bad();
  std::memcpy(p.segment, path.data(), 3);
  size_t i = 3;
  auto number = [&](uint32_t* out) {
    uint64_t v = 0;
    size_t start = i;
    while (i < path.size() && IsDigit(path[i]) && i - start < 7) v = v * 10 + (path[i++] - '0');
    if (i == start || v == 0) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  };
  auto bracket = [&](uint32_t* out) {
    if (i < path.size() && path[i] == '[') {
      ++i;
      if (!number(out) || i >= path.size() || path[i] != ']') return false;
      ++i;
    }
    return true;
  };
  if (!bracket(&p.occurrence)) return bad();
  if (i == path.size()) return p;
  if (path[i++] != '-' || !number(&p.field) || !bracket(&p.repetition)) return bad();
  if (i < path.size() && path[i] == '.') {
    ++i;
    if (!number(&p.component)) return bad();
    if (i < path.size() && path[i] == '.') {
      ++i;
      if (!number(&p.subcomponent)) return bad();
    }
  }
  if (i != path.size()) return bad();
  return p;
}

// -------------------------------------------------------------------- pieces

std::string_view Er7Piece(std::string_view s, char sep, size_t n) {
  if (sep == '\0') return n == 1 ? s : std::string_view();
  size_t start = 0;
  for (size_t i = 1; i < n; ++i) {
    size_t k = s.find(sep, start);
    if (k == std::string_view::npos) return {};
    start = k + 1;
  }
  size_t k = s.find(sep, start);
  return s.substr(start, k == std::string_view::npos ? std::string_view::npos : k - start);
}

size_t Er7PieceCount(std::string_view s, char sep) {
  if (s.empty()) return 0;
  if (sep == '\0') return 1;
  size_t n = 1;
  for (char c : s) n += (c == sep);
  return n;
}

// ------------------------------------------------------------------- escapes

std::string Er7Unescape(std::string_view raw, const Er7Delimiters& d) {
  const char e = d.escape;
  if (e == '\0' || raw.find(e) == std::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    char c = raw[i];
    if (c != e) {
      out += c;
      ++i;
      continue;
    }
    size_t close = raw.find(e, i + 1);
    if (close == std::string_view::npos) {  // unterminated: keep as is
      out.append(raw.substr(i));
      break;
    }
    std::string_view body = raw.substr(i + 1, close - i - 1);
    std::string_view whole = raw.substr(i, close - i + 1);
    i = close + 1;
    if (body.size() == 1) {
      switch (body[0]) {
        case 'F':
          out += d.field;
          continue;
        case 'S':
          out += d.component;
          continue;
        case 'T':
          out += d.subcomponent != '\0' ? d.subcomponent : '&';
          continue;
        case 'R':
          out += d.repetition != '\0' ? d.repetition : '~';
          continue;
        case 'E':
          out += e;
          continue;
        case 'P':
          if (d.truncation != '\0') {
            out += d.truncation;
            continue;
          }
          break;
        case 'H':
        case 'N':
          continue;  // highlight on/off: no plain-text meaning
        default:
          break;
      }
      out.append(whole);
      continue;
    }
    if (body.size() >= 3 && body[0] == 'X' && (body.size() - 1) % 2 == 0) {
      std::string bytes;
      bool ok = true;
      for (size_t k = 1; k + 1 < body.size() && ok; k += 2) {
        int hi = HexValue(body[k]), lo = HexValue(body[k + 1]);
        ok = hi >= 0 && lo >= 0;
        if (ok) bytes += static_cast<char>(hi * 16 + lo);
      }
      if (ok) {
        out += bytes;
        continue;
      }
    } else if (!body.empty() && body[0] == '.') {
      if (body == ".br" || body.substr(0, 3) == ".sp") out += '\n';
      continue;  // other formatting commands (.in .ti .sk .ce .fi .nf) are dropped
    }
    out.append(whole);  // \Cxxyy\, \Mxxyyzz\, \Zxx\, malformed: verbatim
  }
  return out;
}

std::string Er7Escape(std::string_view plain, const Er7Delimiters& d) {
  const char e = d.escape;
  if (e == '\0') return std::string(plain);
  size_t first = 0;
  for (; first < plain.size(); ++first) {
    char c = plain[first];
    if (d.IsDelimiter(c) || c == '\r' || c == '\n') break;
  }
  if (first == plain.size()) return std::string(plain);
  std::string out(plain.substr(0, first));
  out.reserve(plain.size() + 16);
  auto seq = [&](std::string_view s) {
    out += e;
    out.append(s);
    out += e;
  };
  for (size_t i = first; i < plain.size(); ++i) {
    char c = plain[i];
    if (c == d.field)
      seq("F");
    else if (c == d.component)
      seq("S");
    else if (c == e)
      seq("E");
    else if (d.subcomponent != '\0' && c == d.subcomponent)
      seq("T");
    else if (d.repetition != '\0' && c == d.repetition)
      seq("R");
    else if (d.truncation != '\0' && c == d.truncation)
      seq("P");
    else if (c == '\r')
      seq("X0D");
    else if (c == '\n')
      seq(".br");
    else
      out += c;
  }
  return out;
}

// ------------------------------------------------------------------- message

uint32_t Er7Message::PackId(std::string_view id) {
  if (id.size() != 3) return 0;
  return static_cast<uint32_t>(static_cast<unsigned char>(id[0])) |
         static_cast<uint32_t>(static_cast<unsigned char>(id[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(id[2])) << 16;
}

Result<Er7Delimiters> Er7ReadHeader(std::string_view text, size_t* msh_at) {
  if (text.size() >= std::numeric_limits<uint32_t>::max()) {
    return Status(ErrorCode::kTooLarge, "消息过大 (message too large)");
  }
  const char* s = text.data();
  const size_t n = text.size();
  size_t pos = 0;
  for (;;) {  // framing, blank lines and a UTF-8 byte order mark
    if (pos < n && IsBlankByte(s[pos])) {
      ++pos;
    } else if (text.substr(pos, 3) == "\xEF\xBB\xBF") {
      pos += 3;
    } else {
      break;
    }
  }
  if (n - pos < 3 || std::memcmp(s + pos, "MSH", 3) != 0) {
    return ParseError("报文必须以 MSH 段开头 (message must start with an MSH segment)", "MSH");
  }
  if (n - pos < 4) return ParseError("缺少字段分隔符 (field separator missing)", "MSH-1");
  const char fs = s[pos + 3];
  if (static_cast<unsigned char>(fs) <= 0x20 || static_cast<unsigned char>(fs) >= 0x7f ||
      IsAlnum(fs)) {
    return ParseError("字段分隔符无效 (invalid field separator)", "MSH-1");
  }
  size_t e = pos + 4;
  while (e < n && s[e] != fs && s[e] != '\r' && s[e] != '\n') ++e;
  std::string_view enc = text.substr(pos + 4, e - pos - 4);
  if (enc.empty() || enc.size() > 5) {
    return ParseError(
        "编码字符无效 (invalid encoding characters): 应为 1-5 个字符 (1 to 5 expected)", "MSH-2");
  }
  for (size_t i = 0; i < enc.size(); ++i) {
    char c = enc[i];
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
        IsAlnum(c) || enc.find(c, i + 1) != std::string_view::npos) {
      return ParseError("编码字符无效或重复 (invalid or duplicate encoding characters)", "MSH-2");
    }
  }
  Er7Delimiters d;
  d.field = fs;
  d.component = enc[0];
  d.repetition = enc.size() > 1 ? enc[1] : '\0';
  d.escape = enc.size() > 2 ? enc[2] : '\0';
  d.subcomponent = enc.size() > 3 ? enc[3] : '\0';
  d.truncation = enc.size() > 4 ? enc[4] : '\0';
  *msh_at = pos;
  return d;
}

Result<Er7Message> Er7Message::Parse(std::string_view text) {
  size_t pos = 0;
  HIE_ASSIGN_OR_RETURN(const Er7Delimiters d, Er7ReadHeader(text, &pos));
  const char* s = text.data();
  const size_t n = text.size();
  const char fs = d.field;
  Er7Message m;
  m.text_ = text;
  m.prefix_ = static_cast<uint32_t>(pos);
  m.delims_ = d;

  m.segs_.reserve(16);
  // starts_ is written through an index (no push_back call per field) and
  // cut to its length at the end.
  std::vector<uint32_t>& starts = m.starts_;
  starts.resize(n / 6 + 16);
  size_t nstarts = 0;
  auto push_start = [&](size_t at) __attribute__((always_inline)) {
    if (nstarts == starts.size()) starts.resize(starts.size() * 2);
    starts[nstarts++] = static_cast<uint32_t>(at);
  };
  // From q (a field separator or the first byte of a field's text): records
  // the start of every field that begins before the next CR or LF, returns
  // the index of that CR / LF (or n). With SSE2, 16 bytes a step: one mask
  // of separators and one of line ends; the separators below the first line
  // end are field boundaries, taken bit by bit.
  auto scan_fields = [&](size_t q) __attribute__((always_inline)) {
#if defined(__SSE2__)
    const __m128i f = _mm_set1_epi8(fs);
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    while (n - q >= 16) {
      const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + q));
      unsigned seps = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(w, f)));
      const unsigned ends = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(w, cr), _mm_cmpeq_epi8(w, lf))));
      if (ends != 0) seps &= (ends & (0u - ends)) - 1;  // separators before the first end
      for (; seps != 0; seps &= seps - 1)
        push_start(q + static_cast<size_t>(__builtin_ctz(seps)) + 1);
      if (ends != 0) return q + static_cast<size_t>(__builtin_ctz(ends));
      q += 16;
    }
#endif
    for (; q < n; ++q) {
      const char c = s[q];
      if (c == fs) {
        push_start(q + 1);
      } else if (c == '\r' || c == '\n') {
        break;
      }
    }
    return q;
  };
  bool have_terminator = false;
  bool cr_mode = false;

  // A lone LF in a CR-terminated message is data (free text from some
  // systems) unless a segment id follows it.
  auto looks_like_segment = [&](size_t at) {
    if (at >= n || IsBlankByte(s[at])) return true;
    if (n - at < 3 || !ValidSegmentId(text.substr(at, 3))) return false;
    return at + 3 == n || s[at + 3] == fs || s[at + 3] == '\r' || s[at + 3] == '\n';
  };

  size_t p = pos;
  while (p < n) {
    const size_t b = p;
    size_t q = ScanToStop(s, b, n, fs);
    std::string_view id = text.substr(b, q - b);
    if (!ValidSegmentId(id)) {
      std::string shown(id.substr(0, 8));
      return ParseError("段标识无效 (invalid segment ID) '" + shown + "'",
                        "segment " + std::to_string(m.segs_.size() + 1));
    }
    Seg g{};
    g.begin = static_cast<uint32_t>(b);
    g.first_field = static_cast<uint32_t>(nstarts);
    g.id = PackId(id);
    g.header = IsHeaderId(id) && q < n && s[q] == fs;
    push_start(b);
    if (g.header) {
      push_start(b + 3);  // -1: the separator
      q = b + 4;          // -2 starts after it
      push_start(q);
      q = ScanToStop(s, q, n, fs);
    }
    for (;;) {
      q = scan_fields(q);  // every field up to the next CR / LF
      if (q < n && s[q] == '\n' && cr_mode && s[q - 1] != '\r' &&
          !(q + 1 < n && s[q + 1] == '\r') && !looks_like_segment(q + 1)) {
        ++q;  // embedded LF, part of the field
        continue;
      }
      break;
    }
    g.end = static_cast<uint32_t>(q);
    if (q < n) {
      size_t tl = 1;
      SegmentTerminator t = SegmentTerminator::kLF;
      if (s[q] == '\r') {
        if (q + 1 < n && s[q + 1] == '\n') {
          t = SegmentTerminator::kCRLF;
          tl = 2;
        } else {
          t = SegmentTerminator::kCR;
        }
      }
      if (!have_terminator) {
        have_terminator = true;
        m.terminator_ = t;
        cr_mode = t == SegmentTerminator::kCR;
      }
      q += tl;
      while (q < n && IsBlankByte(s[q])) ++q;
    }
    g.next = static_cast<uint32_t>(q);
    g.nfields = static_cast<uint32_t>(nstarts) - g.first_field;
    m.segs_.push_back(g);
    p = q;
  }
  starts.resize(nstarts);
  return m;
}

std::string_view Er7Message::segment_id(size_t seg) const {
  return text_.substr(segs_[seg].begin, 3);
}

std::string_view Er7Message::segment_text(size_t seg) const {
  const Seg& g = segs_[seg];
  return text_.substr(g.begin, g.end - g.begin);
}

size_t Er7Message::field_count(size_t seg) const { return segs_[seg].nfields - 1; }

std::string_view Er7Message::field(size_t seg, size_t n) const {
  const Seg& g = segs_[seg];
  if (n >= g.nfields) return {};
  const uint32_t st = starts_[g.first_field + n];
  if (n == 0) return text_.substr(st, 3);
  if (g.header && n == 1) return text_.substr(st, 1);
  const uint32_t en = n + 1 < g.nfields ? starts_[g.first_field + n + 1] - 1 : g.end;
  return text_.substr(st, en - st);
}

std::optional<size_t> Er7Message::FindSegment(std::string_view id, size_t occurrence) const {
  const uint32_t key = PackId(id);
  if (key == 0 || occurrence == 0) return std::nullopt;
  for (size_t i = 0; i < segs_.size(); ++i) {
    if (segs_[i].id == key && --occurrence == 0) return i;
  }
  return std::nullopt;
}

size_t Er7Message::CountSegments(std::string_view id) const {
  const uint32_t key = PackId(id);
  size_t count = 0;
  for (const Seg& g : segs_) count += g.id == key;
  return count;
}

std::string_view Er7Message::Get(const Er7Path& p) const {
  auto si = FindSegment(p.segment_id(), p.occurrence);
  if (!si) return {};
  if (p.field == 0) return segment_text(*si);
  std::string_view f = field(*si, p.field);
  if (segs_[*si].header && p.field <= 2) {
    // MSH-1 / MSH-2 are never split.
    bool whole = p.repetition <= 1 && p.component <= 1 && p.subcomponent <= 1;
    return whole ? f : std::string_view();
  }
  return PickElement(f, p, delims_);
}

std::string_view Er7Message::Get(std::string_view path) const {
  auto p = Er7Path::Parse(path);
  return p.ok() ? Get(*p) : std::string_view();
}

std::string Er7Message::Decoded(std::string_view path) const {
  return Er7Unescape(Get(path), delims_);
}

size_t Er7Message::RepetitionCount(std::string_view path) const {
  auto p = Er7Path::Parse(path);
  if (!p.ok() || p->field == 0) return 0;
  p->repetition = p->component = p->subcomponent = 0;
  std::string_view f = Get(*p);
  auto si = FindSegment(p->segment_id(), p->occurrence);
  if (si && segs_[*si].header && p->field <= 2) return f.empty() ? 0 : 1;
  return Er7PieceCount(f, delims_.repetition);
}

std::string Er7Message::Serialize() const {
  std::string out;
  out.reserve(text_.size());
  out.append(text_.substr(0, prefix_));
  for (const Seg& g : segs_) out.append(text_.substr(g.begin, g.next - g.begin));
  return out;
}

std::string Er7Message::Serialize(SegmentTerminator t) const {
  std::string out;
  out.reserve(text_.size());
  std::string_view term = TerminatorText(t);
  for (size_t i = 0; i < segs_.size(); ++i) {
    out.append(segment_text(i));
    out.append(term);
  }
  return out;
}

// ------------------------------------------------------------------- builder

Er7Builder Er7Builder::From(const Er7Message& msg) {
  Er7Builder b(msg.delimiters(), msg.terminator());
  b.segs_.reserve(msg.segment_count());
  for (size_t i = 0; i < msg.segment_count(); ++i) {
    Segment seg;
    seg.id = std::string(msg.segment_id(i));
    size_t count = msg.field_count(i);
    seg.fields.resize(count + 1);
    for (size_t n = 1; n <= count; ++n) seg.fields[n] = std::string(msg.field(i, n));
    b.segs_.push_back(std::move(seg));
  }
  return b;
}

size_t Er7Builder::AddSegment(std::string_view id) {
  Segment seg;
  seg.id = std::string(id);
  seg.fields.resize(IsHeaderId(id) ? 3 : 1);
  segs_.push_back(std::move(seg));
  return segs_.size() - 1;
}

void Er7Builder::RemoveSegments(std::string_view id) {
  std::erase_if(segs_, [&](const Segment& s) { return s.id == id; });
}

const Er7Builder::Segment* Er7Builder::Locate(const Er7Path& p) const {
  size_t occ = p.occurrence;
  for (const Segment& s : segs_) {
    if (s.id == p.segment_id() && --occ == 0) return &s;
  }
  return nullptr;
}

Er7Builder::Segment* Er7Builder::Locate(const Er7Path& p, bool create) {
  size_t occ = p.occurrence;
  for (Segment& s : segs_) {
    if (s.id == p.segment_id() && --occ == 0) return &s;
  }
  if (create && occ == 1) return &segs_[AddSegment(p.segment_id())];
  return nullptr;
}

Status Er7Builder::SetRaw(std::string_view path, std::string_view raw) {
  HIE_ASSIGN_OR_RETURN(Er7Path p, Er7Path::Parse(path));
  if (p.field == 0) {
    return Status(ErrorCode::kInvalidArgument, "路径须指明字段 (path must name a field)",
                  std::string(path));
  }
  if (IsHeaderId(p.segment_id()) && p.field <= 2) {
    return Status(ErrorCode::kInvalidArgument,
                  "分隔符由构建器决定 (delimiters are fixed by the builder)", std::string(path));
  }
  Segment* seg = Locate(p, true);
  if (seg == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "段序号不连续 (segment occurrence out of range)",
                  std::string(path));
  }
  if (seg->fields.size() <= p.field) seg->fields.resize(p.field + 1);
  std::string& f = seg->fields[p.field];
  if (p.repetition == 0 && p.component == 0) {
    f.assign(raw);
    return Status::Ok();
  }
  const size_t rep = p.repetition == 0 ? 1 : p.repetition;
  std::string r(Er7Piece(f, delims_.repetition, rep));
  if (p.component == 0) {
    r.assign(raw);
  } else {
    std::string c(Er7Piece(r, delims_.component, p.component));
    if (p.subcomponent == 0) {
      c.assign(raw);
    } else {
      HIE_RETURN_IF_ERROR(ReplacePiece(c, delims_.subcomponent, p.subcomponent, raw));
    }
    HIE_RETURN_IF_ERROR(ReplacePiece(r, delims_.component, p.component, c));
  }
  return ReplacePiece(f, delims_.repetition, rep, r);
}

Status Er7Builder::Set(std::string_view path, std::string_view plain) {
  return SetRaw(path, Er7Escape(plain, delims_));
}

std::string_view Er7Builder::Get(std::string_view path) const {
  auto p = Er7Path::Parse(path);
  if (!p.ok() || p->field == 0) return {};
  const Segment* seg = Locate(*p);
  if (seg == nullptr || p->field >= seg->fields.size()) return {};
  if (IsHeaderId(seg->id) && p->field <= 2) return {};  // see delimiters()
  return PickElement(seg->fields[p->field], *p, delims_);
}

std::string Er7Builder::Serialize() const {
  std::string out;
  const std::string enc = delims_.EncodingCharacters();
  const std::string_view term = TerminatorText(terminator_);
  for (const Segment& seg : segs_) {
    out += seg.id;
    size_t first = 1;
    if (IsHeaderId(seg.id)) {
      out += delims_.field;
      out += enc;
      first = 3;
    }
    for (size_t n = first; n < seg.fields.size(); ++n) {
      out += delims_.field;
      out += seg.fields[n];
    }
    out += term;
  }
  return out;
}

}  // namespace hie
