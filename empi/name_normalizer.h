// Name normalization with ICU: full-width to half-width, traditional to
// simplified ("Hant-Hans"), spaces and middle dots removed, surname split
// (compound surnames such as 欧阳, 司马 first) and toneless pinyin
// ("Han-Latin; Latin-ASCII") with the surname readings of polyphonic
// surnames (曾 zeng, 单 shan, 解 xie, 区 ou, 仇 qiu, 查 zha, 朴 piao, ...).
//
// Thread rules: ICU Transliterator objects are expensive to create and NOT
// thread-safe, and this class also keeps a per-character cache. Create one
// NameNormalizer at start-up and give each worker thread its own Clone();
// never share one instance between threads without a mutex.
#pragma once

#include <unicode/uversion.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"
#include "empi/types.h"

U_NAMESPACE_BEGIN
class Transliterator;
U_NAMESPACE_END

namespace hie::empi {

class NameNormalizer {
 public:
  // Builds the ICU transliterators; kInternal if ICU lacks their rules.
  static Result<std::unique_ptr<NameNormalizer>> Create();
  ~NameNormalizer();
  NameNormalizer(const NameNormalizer&) = delete;
  NameNormalizer& operator=(const NameNormalizer&) = delete;

  // An independent copy for another thread (cheaper than Create()).
  std::unique_ptr<NameNormalizer> Clone() const;

  // Normalizes a name. `full` is split with the surname table unless
  // `surname` / `given` are given explicitly. kInvalidArgument for malformed
  // UTF-8 or a name with no letters at all.
  Result<NormalizedName> Normalize(std::string_view full, std::string_view surname = {},
                                   std::string_view given = {});

  // Half-width, simplified text (used for addresses). Invalid UTF-8 -> "".
  std::string Simplify(std::string_view text);

  // Toneless pinyin of Han text, no spaces; non-Han letters lower-cased.
  // `as_surname` applies the surname readings.
  std::string Pinyin(std::u32string_view text, bool as_surname);

 private:
  NameNormalizer(std::unique_ptr<icu::Transliterator> to_simplified,
                 std::unique_ptr<icu::Transliterator> to_latin);
  char32_t SimplifyChar(char32_t cp);
  const std::string& CharPinyin(char32_t cp);
  std::u32string Clean(const std::u32string& in);

  std::unique_ptr<icu::Transliterator> to_simplified_;
  std::unique_ptr<icu::Transliterator> to_latin_;
  std::unordered_map<char32_t, char32_t> simplified_cache_;
  std::unordered_map<char32_t, std::string> pinyin_cache_;
};

// Length in code points of the surname at the start of simplified Han text:
// 2 for a known compound surname (欧阳, 司马, 诸葛, ...), else 1.
size_t SurnameLength(std::u32string_view simplified);

}  // namespace hie::empi
