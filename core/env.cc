#include "core/env.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace hie {
namespace {

class RealEnv final : public Env {
 public:
  int64_t NowMillis() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonoNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  uint64_t Random() override {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return rng();
  }
};

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ReadInt(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

Env& Env::Default() {
  static RealEnv env;
  return env;
}

std::string FormatTimeMillis(int64_t millis) {
  std::time_t secs = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis % 1000));
  return buf;
}

int64_t ParseSinceMillis(std::string_view s) {
  if (s.empty()) return -1;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (s.size() > 15) return -1;  // beyond year 33000: not a time
    int64_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  }
  int64_t ms = ParseTimeMillis(s);
  if (ms >= 0 && s.size() == 10) ms -= 8 * 3'600'000;  // a bare date: China midnight
  return ms;
}

int64_t ParseTimeMillis(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, ms = 0;
  if (!ReadInt(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !ReadInt(s, 5, 2, mo) ||
      s[7] != '-' || !ReadInt(s, 8, 2, d))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return -1;
  size_t p = 10;
  int64_t offset_min = 0;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    if (!ReadInt(s, p + 1, 2, h) || s.size() < p + 6 || s[p + 3] != ':' ||
        !ReadInt(s, p + 4, 2, mi))
      return -1;
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!ReadInt(s, p + 1, 2, se)) return -1;
      p += 3;
      if (p < s.size() && s[p] == '.') {
        ++p;
        int digits = 0;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          if (digits < 3) ms = ms * 10 + (s[p] - '0');
          ++digits;
          ++p;
        }
        for (; digits < 3; ++digits) ms *= 10;
      }
    }
    if (p < s.size()) {
      if (s[p] == 'Z') {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        int oh = 0, om = 0;
        if (!ReadInt(s, p + 1, 2, oh) || s.size() < p + 6 || !ReadInt(s, p + 4, 2, om)) return -1;
        offset_min = (oh * 60 + om) * (s[p] == '+' ? 1 : -1);
        p += 6;
      }
    }
  }
  if (p != s.size()) return -1;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 86400 + h * 3600 + mi * 60 + se) - offset_min * 60) * 1000 + ms;
}

}  // namespace hie
