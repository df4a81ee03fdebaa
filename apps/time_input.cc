#include "time_input.h"

#include <cstring>

#include "output.h"

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

}  // namespace

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
