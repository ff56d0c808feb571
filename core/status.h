// Status and Result<T>: how every expected failure travels (bad input, peer
// down, database busy). Exceptions are for start-up only.
//
// A Status carries an ErrorCode (see error_codes.def), a message for humans
// (Chinese with the English term beside technical words) and an optional
// `where` (HL7 "PID-3", a JSON pointer, an XPath, "config.yaml:12").
// Thread rules: value types; safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace hie {

enum class ErrorCode {
#define X(name, api, http, hl7, text) name,
#include "core/error_codes.def"
#undef X
};

// Stable lower-case code used in REST error bodies, e.g. "parse_error".
std::string_view ApiCode(ErrorCode code);
// HTTP status that an error of this code answers with.
int HttpStatus(ErrorCode code);
// HL7 table 0357 code for ERR-3, e.g. "102".
std::string_view Hl7ErrorCode(ErrorCode code);
// Chinese description with the English term, e.g. "报文无法解析 (parse error)".
std::string_view DefaultText(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message, std::string where = {})
      : code_(code), message_(std::move(message)), where_(std::move(where)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& where() const { return where_; }

  // "message (where)" or just the message; for logs and ERR texts.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string where_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hie

// Returns early from the enclosing function with the Status if it is not OK.
#define HIE_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::hie::Status hie_st_ = (expr);        \
    if (!hie_st_.ok()) return hie_st_;     \
  } while (0)

#define HIE_CONCAT_INNER(a, b) a##b
#define HIE_CONCAT(a, b) HIE_CONCAT_INNER(a, b)
// Declares `lhs` from a Result<T> or returns its Status.
#define HIE_ASSIGN_OR_RETURN(lhs, expr) \
  HIE_ASSIGN_OR_RETURN_IMPL(HIE_CONCAT(hie_res_, __LINE__), lhs, expr)
#define HIE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
