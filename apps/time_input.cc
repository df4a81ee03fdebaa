#include "time_input.h"

#include <algorithm>
#include <ctime>

namespace slablog::cli {
namespace {

// What int64 nanoseconds can hold, for messages.
constexpr const char* kRange = "out of range (times are int64 nanoseconds: 1677-09-21 to 2262-04-11 UTC)";

struct DecimalParts {
  bool negative = false;
  std::string_view whole, fraction;
  int64_t exponent = 0;
  bool has_fraction_or_exponent = false;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (leading zeros are let
// through: strings are not JSON numbers and "007" means 7).
bool SplitDecimal(std::string_view s, DecimalParts* out) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    out->negative = true;
    ++i;
  }
  const size_t whole_start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  out->whole = s.substr(whole_start, i - whole_start);
  if (out->whole.empty()) return false;
  if (i < s.size() && s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    out->fraction = s.substr(start, i - start);
    if (out->fraction.empty()) return false;
    out->has_fraction_or_exponent = true;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    out->has_fraction_or_exponent = true;
    ++i;
    bool negative_exponent = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative_exponent = s[i++] == '-';
    const size_t start = i;
    int64_t e = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) e = std::min<int64_t>(e * 10 + (s[i] - '0'), 1'000'000);
    if (i == start) return false;
    out->exponent = negative_exponent ? -e : e;
  }
  return i == s.size();
}

int UnitDigits(TimeUnit unit, bool has_fraction_or_exponent) {
  switch (unit) {
    case TimeUnit::kSeconds: return 9;
    case TimeUnit::kMillis: return 6;
    case TimeUnit::kMicros: return 3;
    case TimeUnit::kNanos: return 0;
    case TimeUnit::kDefault: break;
  }
  return has_fraction_or_exponent ? 9 : 0;
}

const char* UnitName(TimeUnit unit, bool has_fraction_or_exponent) {
  switch (UnitDigits(unit, has_fraction_or_exponent)) {
    case 9: return "seconds";
    case 6: return "milliseconds";
    case 3: return "microseconds";
    default: return "nanoseconds";
  }
}

bool Digits(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (!IsDigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDaysIn[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return kDaysIn[month - 1] + (month == 2 && leap ? 1 : 0);
}

// An RFC 3339 fraction's digits ("5" is half a second) in nanoseconds, rounded to the nearest as
// NumberToNs rounds, so 1000000000 when they round up to a whole second. A half rounds away from
// zero: up after 1970, down before it (the time is then negative and the fraction adds to it).
int64_t FractionNs(std::string_view digits, bool before_1970) {
  int64_t ns = 0;
  for (size_t i = 0; i < 9; ++i) ns = ns * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  if (digits.size() <= 9) return ns;
  const char first_dropped = digits[9];
  const bool more = digits.find_first_not_of('0', 10) != std::string_view::npos;
  return first_dropped > '5' || (first_dropped == '5' && (more || !before_1970)) ? ns + 1 : ns;
}

}  // namespace

bool ParseTimeNs(std::string_view text, int64_t* out) {
  // Integer nanoseconds, by the number grammar write --time-field uses.
  if (DecimalParts parts; SplitDecimal(text, &parts)) {
    return !parts.has_fraction_or_exponent && NumberToNs(text, TimeUnit::kNanos, out).empty();
  }
  // RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int year, mon, day, hour, min, sec;
  if (!Digits(text, 0, 4, &year) || text.size() < 20 || text[4] != '-' || !Digits(text, 5, 2, &mon) ||
      text[7] != '-' || !Digits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !Digits(text, 11, 2, &hour) ||
      text[13] != ':' || !Digits(text, 14, 2, &min) || text[16] != ':' || !Digits(text, 17, 2, &sec)) {
    return false;
  }
  // Days past the month's end (2025-02-31) are refused rather than carried into the next month.
  if (mon < 1 || mon > 12 || day < 1 || day > DaysInMonth(year, mon) || hour > 23 || min > 59 || sec > 60) {
    return false;
  }
  size_t pos = 19;
  std::string_view fraction;
  if (pos < text.size() && text[pos] == '.') {
    const size_t start = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    fraction = text.substr(start, pos - start);
    if (fraction.empty()) return false;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!Digits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !Digits(text, pos + 4, 2, &om)) {
      return false;
    }
    if (oh > 23 || om > 59) return false;
    offset = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = std::min(sec, 59);
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  if (sec == 60) {
    // RFC 3339 allows second 60 only for a leap second, which ends a UTC month's last day (the
    // offset may move it to another local hour). POSIX time has no such second: it is the next
    // day's first, as timegm makes it. Elsewhere it is refused rather than carried.
    const auto at = static_cast<time_t>(secs);
    std::tm utc{};
    if (gmtime_r(&at, &utc) == nullptr || utc.tm_hour != 23 || utc.tm_min != 59 ||
        utc.tm_mday != DaysInMonth(utc.tm_year + 1900, utc.tm_mon + 1)) {
      return false;
    }
    ++secs;
  }
  int64_t frac = FractionNs(fraction, secs < 0);
  // Years past 2262 or before 1677 do not fit int64 nanoseconds. Before 1970 the fraction is
  // taken from the next second up, so that the earliest time that fits (1677-09-21T00:12:43.145224192Z)
  // is not refused on the way.
  if (secs < 0 && frac > 0) {
    ++secs;
    frac -= 1'000'000'000;
  }
  int64_t ns = 0;
  if (__builtin_mul_overflow(secs, int64_t{1'000'000'000}, &ns) || __builtin_add_overflow(ns, frac, &ns)) return false;
  *out = ns;
  return true;
}

bool ParseTimeUnit(std::string_view text, TimeUnit* out) {
  if (text == "s") *out = TimeUnit::kSeconds;
  else if (text == "ms") *out = TimeUnit::kMillis;
  else if (text == "us") *out = TimeUnit::kMicros;
  else if (text == "ns") *out = TimeUnit::kNanos;
  else return false;
  return true;
}

std::string NumberToNs(std::string_view number, TimeUnit unit, int64_t* out) {
  DecimalParts parts;
  if (!SplitDecimal(number, &parts)) return "'" + std::string(number) + "' is not a number";
  // All the digits, and where the nanoseconds' decimal point falls in them.
  std::string digits = std::string(parts.whole) + std::string(parts.fraction);
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    *out = 0;
    return "";
  }
  digits.erase(0, first);
  const int64_t shift = parts.exponent - static_cast<int64_t>(parts.fraction.size()) +
                        UnitDigits(unit, parts.has_fraction_or_exponent);
  const int64_t whole_digits = static_cast<int64_t>(digits.size()) + shift;  // before the point
  const std::string out_of_range = std::string(number) + " " + UnitName(unit, parts.has_fraction_or_exponent) +
                                   " is " + kRange;
  if (whole_digits > 19) return out_of_range;
  const uint64_t limit = parts.negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t ns = 0;
  for (int64_t i = 0; i < whole_digits; ++i) {
    const auto at = static_cast<size_t>(i);
    const uint64_t d = at < digits.size() ? static_cast<uint64_t>(digits[at] - '0') : 0;
    if (ns > (limit - d) / 10) return out_of_range;
    ns = ns * 10 + d;
  }
  // The first digit after the point rounds (halves away from zero).
  const int64_t round_at = std::max<int64_t>(whole_digits, 0);
  if (round_at < static_cast<int64_t>(digits.size()) && whole_digits >= 0 &&
      digits[static_cast<size_t>(round_at)] >= '5') {
    if (ns == limit) return out_of_range;
    ++ns;
  }
  *out = parts.negative ? static_cast<int64_t>(0 - ns) : static_cast<int64_t>(ns);
  return "";
}

std::string StringToNs(std::string_view text, TimeUnit unit, int64_t* out) {
  DecimalParts parts;
  if (SplitDecimal(text, &parts)) return NumberToNs(text, unit, out);
  if (ParseTimeNs(text, out)) return "";
  return "'" + std::string(text) +
         "' is neither a number nor an RFC 3339 time such as 2025-11-24T16:00:00.5Z (or out of range)";
}

}  // namespace slablog::cli
