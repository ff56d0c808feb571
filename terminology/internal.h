// Private to terminology/: hashing helpers and the open-addressing index's
// template members, shared by snapshot.cc (lookups) and builder.cc (build).
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>

#include "terminology/terminology.h"

namespace hie {
namespace term_internal {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// FNV-1a over ASCII-lower-cased bytes: system names are matched
// case-insensitively ("loinc" = "LOINC").
inline uint64_t HashNameCi(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(AsciiLower(c));
    h *= 1099511628211ull;
  }
  return h;
}

inline bool EqualsCi(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

inline uint64_t HashKey(uint32_t a, uint32_t b, std::string_view code) {
  return Mix(std::hash<std::string_view>{}(code) ^ (uint64_t{a} * 0x9E3779B97F4A7C15ull) ^
             (uint64_t{b} * 0xC2B2AE3D27D4EB4Full));
}

inline std::string_view TrimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace term_internal

// ---- Index ----

inline void TerminologySnapshot::Index::Reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (const Slot& s : old) {
    if (s.value == kNone) continue;
    size_t i = s.tag & mask_;  // the tag is the hash's low 32 bits
    while (slots_[i].value != kNone) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

inline void TerminologySnapshot::Index::Grow() { Reserve(size_ + 1); }

template <typename Eq>
inline uint32_t TerminologySnapshot::Index::Find(uint64_t hash, Eq&& eq) const {
  if (slots_.empty()) return kNone;
  const auto tag = static_cast<uint32_t>(hash);
  for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.value == kNone) return kNone;
    if (s.tag == tag && eq(s.value)) return s.value;
  }
}

template <typename Eq>
inline uint32_t TerminologySnapshot::Index::Insert(uint64_t hash, uint32_t value, Eq&& eq) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const auto tag = static_cast<uint32_t>(hash);
  for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.value == kNone) {
      s.tag = tag;
      s.value = value;
      ++size_;
      return kNone;
    }
    if (s.tag == tag && eq(s.value)) return s.value;
  }
}

}  // namespace hie
