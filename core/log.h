// Logging for the hub, on spdlog, with PHI masking: nothing here may print a
// full ID card number, phone number or name. Pass identifiers through the
// Mask* helpers; free text passes through MaskPhi, which masks any run of
// digits that looks like an ID card or a mobile number.
// Thread rules: every function is safe from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace hie {

// "110101199003077777" -> "1101************77"; 15-digit numbers likewise.
std::string MaskIdCard(std::string_view id);
// "13812345678" -> "138****5678".
std::string MaskPhone(std::string_view phone);
// "张三丰" -> "张**"; works on UTF-8 code points.
std::string MaskName(std::string_view name);
// Masks every ID-card-like (15/17+X/18 digits) or phone-like (11 digits
// starting with 1) run of digits in free text.
std::string MaskPhi(std::string_view text);

// Sets the global level from "debug" | "info" | "warn" | "error".
void SetLogLevel(std::string_view level);

}  // namespace hie

#define HIE_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define HIE_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define HIE_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define HIE_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
