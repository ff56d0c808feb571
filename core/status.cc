#include "core/status.h"

namespace hie {

std::string_view ApiCode(ErrorCode code) {
  switch (code) {
#define X(name, api, http, hl7, text) \
  case ErrorCode::name:               \
    return api;
#include "core/error_codes.def"
#undef X
  }
  return "internal";
}

int HttpStatus(ErrorCode code) {
  switch (code) {
#define X(name, api, http, hl7, text) \
  case ErrorCode::name:               \
    return http;
#include "core/error_codes.def"
#undef X
  }
  return 500;
}

std::string_view Hl7ErrorCode(ErrorCode code) {
  switch (code) {
#define X(name, api, http, hl7, text) \
  case ErrorCode::name:               \
    return hl7;
#include "core/error_codes.def"
#undef X
  }
  return "207";
}

std::string_view DefaultText(ErrorCode code) {
  switch (code) {
#define X(name, api, http, hl7, text) \
  case ErrorCode::name:               \
    return text;
#include "core/error_codes.def"
#undef X
  }
  return "内部错误 (internal error)";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = message_.empty() ? std::string(DefaultText(code_)) : message_;
  if (!where_.empty()) s += " (位置 where: " + where_ + ")";
  return s;
}

}  // namespace hie
