// Character sets of HL7 v2 messages (MSH-18 labels or a facility's configured
// default) to and from UTF-8, which is what the hub stores and emits.
// GB 18030-2000 / GBK / GB2312 / CP936 are all decoded as GB18030 (a
// superset) with glibc iconv. Pure ASCII input is returned after one scan.
// Thread rules: pure functions, safe from any thread (one iconv handle per call).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace hie {

// The iconv name for an MSH-18 label ("" and "UNICODE UTF-8" -> "UTF-8",
// "GB 18030-2000" / "GBK" / "GB2312" / "CP936" -> "GB18030", "8859/1" ->
// "ISO-8859-1", "ASCII" -> "ASCII", ...). Case-insensitive; spaces, dashes,
// underscores and slashes are ignored. Unknown -> kUnsupportedCharset "MSH-18".
Result<std::string> CanonicalCharset(std::string_view charset_label);

bool IsAscii(std::string_view bytes);
// Offset of the first byte that is not valid UTF-8 (overlongs, surrogates and
// code points above U+10FFFF are invalid), or npos.
size_t FindInvalidUtf8(std::string_view bytes);

// Converts `bytes` in `charset_label` to UTF-8. A byte sequence invalid in
// that charset -> kUnsupportedCharset (where "MSH-18") whose message names
// the byte offset and suggests the facility's `charset` setting. "ASCII"
// input that is valid UTF-8 is accepted as UTF-8 (a common mislabel).
Result<std::string> DecodeToUtf8(std::string_view bytes, std::string_view charset_label);
// Converts UTF-8 to `charset_label`; invalid UTF-8 or a character the target
// cannot represent -> kUnsupportedCharset naming the byte offset.
Result<std::string> EncodeFromUtf8(std::string_view utf8, std::string_view charset_label);

}  // namespace hie
