// HL7 v2 ER7 ("pipe and hat") codec: a zero-copy parser (Er7Message), the
// escape rules (Er7Escape / Er7Unescape) and a mutable builder (Er7Builder)
// for edits and canonical -> v2 output (ACKs are written directly, ack.cc).
//
// Er7Message holds string_views into the text given to Parse: that text must
// outlive the message (and every view obtained from it). Parsing is one pass
// and allocates only two flat vectors (segments, field start offsets);
// repetitions, components and subcomponents are split lazily on access.
//
// Path syntax (used by Get / Decoded / Er7Builder::Set), all numbers 1-based:
//   SEG[occ]-field[rep].component.subcomponent
//   "PID"          the whole segment text (without terminator)
//   "PID-3"        the whole field, all repetitions, raw
//   "PID-3[2]"     the second repetition of PID-3
//   "PID-5.1"      component 1 of the first repetition
//   "PID-5.1.1"    subcomponent 1 of that component
//   "OBX[3]-5"     field 5 of the third OBX segment
// MSH-1 is the field separator itself and MSH-2 the encoding characters (never
// split); MSH-3 is the first field after them, as in the standard. FHS and BHS
// are numbered the same way.
//
// Thread rules: Er7Message is immutable after Parse; concurrent reads are
// safe. Er7Builder is a plain value type, one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie {

// The delimiters of one message, from MSH-1 and MSH-2.
struct Er7Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';    // '\0' when MSH-2 declares none
  char escape = '\\';       // '\0' when MSH-2 declares none
  char subcomponent = '&';  // '\0' when MSH-2 declares none
  char truncation = '\0';   // v2.7 '#'; '\0' when absent
  // The MSH-2 text these delimiters are written as, e.g. "^~\&".
  std::string EncodingCharacters() const;
  bool IsDelimiter(char c) const;
};

enum class SegmentTerminator { kCR, kLF, kCRLF };
std::string_view TerminatorText(SegmentTerminator t);

// A parsed path, see the syntax above.
struct Er7Path {
  char segment[4] = {0, 0, 0, 0};  // 3-character id, NUL-terminated
  uint32_t occurrence = 1;
  uint32_t field = 0;         // 0: the whole segment
  uint32_t repetition = 0;    // 0: not given
  uint32_t component = 0;     // 0: not given
  uint32_t subcomponent = 0;  // 0: not given

  static Result<Er7Path> Parse(std::string_view path);
  std::string_view segment_id() const { return std::string_view(segment, 3); }
};

// The n-th (1-based) piece of `s` split at `sep` ("" when absent). A `sep` of
// '\0' means "no such delimiter": piece 1 is the whole string.
std::string_view Er7Piece(std::string_view s, char sep, size_t n);
// Number of pieces; an empty string counts as 0.
size_t Er7PieceCount(std::string_view s, char sep);

// Decodes escape sequences: \F\ \S\ \T\ \R\ \E\ \P\ (v2.7 truncation),
// \Xhh..\ (hex bytes), \.br\ and \.sp\ (newline); \H\ \N\ and other
// formatting commands are dropped; unknown sequences are kept verbatim.
std::string Er7Unescape(std::string_view raw, const Er7Delimiters& d);
// The reverse: delimiters become \F\ \S\ \T\ \R\ \E\ (\P\), CR becomes
// \X0D\ and LF becomes \.br\ so that Er7Unescape(Er7Escape(x)) == x.
std::string Er7Escape(std::string_view plain, const Er7Delimiters& d);

// First index >= from (from <= text.size()) holding `field`, CR or LF, or
// text.size(): how Parse finds the end of a field (16 bytes a step).
size_t Er7FindFieldEnd(std::string_view text, size_t from, char field);

// The header check Er7Message::Parse starts with: skips the framing, blank
// bytes and byte order marks it tolerates, then checks "MSH", MSH-1 and MSH-2
// (the same errors as Parse) and returns the delimiters; *msh_at is set to
// the offset of "MSH". For readers of the MSH line alone (ReadMsh).
Result<Er7Delimiters> Er7ReadHeader(std::string_view text, size_t* msh_at);

class Er7Message {
 public:
  Er7Message() = default;

  // Parses one message. Leading MLLP/whitespace bytes and trailing blank
  // lines are tolerated (and kept for Serialize). Errors are kParseError with
  // `where` naming the segment/field ("MSH-2", "segment 4").
  static Result<Er7Message> Parse(std::string_view text);
  static Result<Er7Message> Parse(const char* text) { return Parse(std::string_view(text)); }
  // Parsing a temporary string would leave the views dangling.
  static Result<Er7Message> Parse(std::string&& text) = delete;

  const Er7Delimiters& delimiters() const { return delims_; }
  // The first segment terminator seen (CR when the message has one segment).
  SegmentTerminator terminator() const { return terminator_; }
  std::string_view text() const { return text_; }

  size_t segment_count() const { return segs_.size(); }
  std::string_view segment_id(size_t seg) const;
  std::string_view segment_text(size_t seg) const;  // without terminator
  // Highest field number present in the segment (MSH counts MSH-1 and -2).
  size_t field_count(size_t seg) const;
  // Raw field `n` (1-based) of segment index `seg`; "" when absent.
  std::string_view field(size_t seg, size_t n) const;

  // Index of the `occurrence`-th segment with this id.
  std::optional<size_t> FindSegment(std::string_view id, size_t occurrence = 1) const;
  size_t CountSegments(std::string_view id) const;

  // Raw (still escaped) text at `path`; "" when absent or the path is bad.
  std::string_view Get(std::string_view path) const;
  std::string_view Get(const Er7Path& path) const;
  // Unescaped text at `path`.
  std::string Decoded(std::string_view path) const;
  // Repetitions of the field at `path` (0 when the field is empty/absent).
  size_t RepetitionCount(std::string_view path) const;

  std::string Escape(std::string_view plain) const { return Er7Escape(plain, delims_); }
  std::string Unescape(std::string_view raw) const { return Er7Unescape(raw, delims_); }

  // The original bytes, exactly (the message is immutable; edit through
  // Er7Builder::From).
  std::string Serialize() const;
  // Segments only, each followed by `t` (drops framing and blank lines).
  std::string Serialize(SegmentTerminator t) const;

 private:
  struct Seg {
    uint32_t begin;        // first byte of the segment id
    uint32_t end;          // one past the last content byte
    uint32_t next;         // start of the following segment (or trailer)
    uint32_t first_field;  // index into starts_ of field 0 (the id)
    uint32_t nfields;      // entries in starts_, id included
    uint32_t id;           // 3 id bytes packed
    bool header;           // MSH/FHS/BHS numbering
  };
  static uint32_t PackId(std::string_view id);

  std::string_view text_;
  Er7Delimiters delims_;
  SegmentTerminator terminator_ = SegmentTerminator::kCR;
  uint32_t prefix_ = 0;  // bytes before "MSH"
  std::vector<Seg> segs_;
  std::vector<uint32_t> starts_;  // start offset of every field
};

// A mutable, owning message. Fields hold raw ER7 text in this builder's
// delimiters; Set escapes plain text, SetRaw does not.
class Er7Builder {
 public:
  explicit Er7Builder(Er7Delimiters d = {}, SegmentTerminator t = SegmentTerminator::kCR)
      : delims_(d), terminator_(t) {}
  // A copy of `msg` that serializes to the same segments (blank lines and
  // framing bytes aside) until changed.
  static Er7Builder From(const Er7Message& msg);

  const Er7Delimiters& delimiters() const { return delims_; }
  // Appends a segment; returns its index.
  size_t AddSegment(std::string_view id);
  size_t segment_count() const { return segs_.size(); }

  // Sets the element at `path` to `plain` (escaped). A segment occurrence
  // one past the existing ones is appended. MSH-1/MSH-2 cannot be set.
  Status Set(std::string_view path, std::string_view plain);
  Status SetRaw(std::string_view path, std::string_view raw);
  std::string_view Get(std::string_view path) const;
  // Removes every segment with this id.
  void RemoveSegments(std::string_view id);

  std::string Serialize() const;

 private:
  struct Segment {
    std::string id;
    std::vector<std::string> fields;  // fields[n] = field n; [0] unused
  };
  Segment* Locate(const Er7Path& p, bool create);
  const Segment* Locate(const Er7Path& p) const;

  Er7Delimiters delims_;
  SegmentTerminator terminator_;
  std::vector<Segment> segs_;
};

}  // namespace hie
