#include "core/log.h"

#include <cctype>

namespace hie {

std::string MaskIdCard(std::string_view id) {
  if (id.size() <= 6) return std::string(id.size(), '*');
  std::string out(id.substr(0, 4));
  out.append(id.size() - 6, '*');
  out.append(id.substr(id.size() - 2));
  return out;
}

std::string MaskPhone(std::string_view phone) {
  if (phone.size() < 7) return std::string(phone.size(), '*');
  std::string out(phone.substr(0, 3));
  out.append(phone.size() - 7, '*');
  out.append(phone.substr(phone.size() - 4));
  return out;
}

std::string MaskName(std::string_view name) {
  if (name.empty()) return {};
  // Keep the first UTF-8 code point, star the rest (one star per code point).
  size_t first = 1;
  auto lead = static_cast<unsigned char>(name[0]);
  if (lead >= 0xF0) first = 4;
  else if (lead >= 0xE0) first = 3;
  else if (lead >= 0xC0) first = 2;
  if (first > name.size()) first = name.size();
  std::string out(name.substr(0, first));
  for (size_t i = first; i < name.size(); ++i) {
    if ((static_cast<unsigned char>(name[i]) & 0xC0) != 0x80) out.push_back('*');
  }
  if (out.size() == first) out.push_back('*');
  return out;
}

std::string MaskPhi(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      out.push_back(text[i++]);
      continue;
    }
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    size_t end = j;
    if (end - i == 17 && end < text.size() && (text[end] == 'X' || text[end] == 'x')) ++end;
    std::string_view run = text.substr(i, end - i);
    if (run.size() == 15 || run.size() == 18) {
      out += MaskIdCard(run);
    } else if (run.size() == 11 && run[0] == '1') {
      out += MaskPhone(run);
    } else {
      out.append(run);
    }
    i = end;
  }
  return out;
}

void SetLogLevel(std::string_view level) {
  if (level == "debug") spdlog::set_level(spdlog::level::debug);
  else if (level == "warn") spdlog::set_level(spdlog::level::warn);
  else if (level == "error") spdlog::set_level(spdlog::level::err);
  else spdlog::set_level(spdlog::level::info);
}

}  // namespace hie
