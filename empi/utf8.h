// Small UTF-8 helpers for the EMPI normalizers (decode, encode, full-width to
// half-width). Invalid bytes are reported, never guessed.
// Thread rules: pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie::empi {

// Decodes UTF-8 into code points; kInvalidArgument on malformed input.
Result<std::u32string> DecodeUtf8(std::string_view text);
void AppendUtf8(char32_t cp, std::string& out);
std::string EncodeUtf8(std::u32string_view text);

// Full-width ASCII forms (U+FF01..U+FF5E) and the ideographic space map to
// their ASCII equivalents; everything else is returned unchanged.
char32_t ToHalfWidth(char32_t cp);

// CJK unified ideographs (basic block and extension A).
bool IsHan(char32_t cp);

}  // namespace hie::empi
