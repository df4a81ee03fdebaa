// Scanning JSON text a token at a time, on the pointers of the caller's walk: the number and
// string grammars of export --format csv's readers (csv_quick_walk.cc, csv_flatten.cc), eight
// bytes at a time where they can.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "slablog/json_text.h"

namespace slablog::cli {

inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// The scans below work on pointers of their own, not the walk's members: a member written in the
// loop is stored at each step, as a char read through a pointer may alias it.

inline constexpr uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;

// How many of the 8 bytes at p, from the first, are ASCII digits: a byte is one when its high
// nibble is 3 and its low nibble plus 6 stays below 16. Eight digits are 12 instructions, not 8
// rounds of a loop (a nanosecond time has 19).
inline int LeadingDigits8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  const uint64_t high = (x & (kOnes * 0xF0)) ^ (kOnes * 0x30);
  const uint64_t low = ((x & (kOnes * 0x0F)) + kOnes * 0x06) & (kOnes * 0xF0);
  const uint64_t not_digit = high | low;  // a nonzero byte where the byte is not a digit
  return not_digit == 0 ? 8 : __builtin_ctzll(not_digit) >> 3;
}

inline const char* SkipDigits(const char* p, const char* end) {
  while (end - p >= 8) {
    const int n = LeadingDigits8(p);
    p += n;
    if (n < 8) return p;
  }
  while (p < end && IsAsciiDigit(*p)) ++p;
  return p;
}

// The end of the JSON number at p, or null when none starts there; what follows it is the
// caller's to check (a comma, a bracket, space).
inline const char* ScanNumber(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p == end || !IsAsciiDigit(*p)) return nullptr;
  p = *p == '0' ? p + 1 : SkipDigits(p, end);
  if (p < end && *p == '.') {
    const char* digits = ++p;
    p = SkipDigits(p, end);
    if (p == digits) return nullptr;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* digits = p;
    p = SkipDigits(p, end);
    if (p == digits) return nullptr;
  }
  return p;
}

// The high bit of each of the 8 bytes at p that is a quote, a backslash, a comma, a control or a
// non-ASCII byte. (SWAR: a byte's high bit is set in `zero` where the byte was 0 after the XOR;
// a borrow may also mark bytes after a marked one, never before, so the lowest mark is exact.)
inline uint64_t LookMask(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  auto zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHighs;
  return (x & kHighs) | below_space | zero(x ^ (kOnes * '"')) | zero(x ^ (kOnes * '\\')) | zero(x ^ (kOnes * ','));
}

// The four hex digits of a \\u escape at p, or -1.
inline int HexEscape(const char* p, const char* end) {
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
  int v = 0;
  for (int i = 2; i < 6; ++i) {
    const char h = p[i];
    const int d = IsAsciiDigit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// The escape at p ('\\'): the end of it, or null when it is not one of JSON's. A \\u escape of
// a UTF-16 surrogate must be a high one followed by a low one, as slablog write and simdjson
// require: a lone one is no character.
inline const char* ScanEscape(const char* p, const char* end) {
  if (end - p < 2) return nullptr;
  switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      return p + 2;
    case 'u': {
      const int unit = HexEscape(p, end);
      if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return nullptr;
      if (unit < 0xD800 || unit > 0xDBFF) return p + 6;
      const int low = HexEscape(p + 6, end);
      return low >= 0xDC00 && low <= 0xDFFF ? p + 12 : nullptr;
    }
    default:
      return nullptr;
  }
}

// The string whose opening quote is at p: the end of it (past its closing quote), or null when it
// is not a valid JSON string (unterminated, a raw control byte, a bad escape, not UTF-8). `text`
// is its inside as written; `comma` and `escaped` say whether it holds a comma or escapes.
inline const char* ScanString(const char* p, const char* end, std::string_view* text, bool* comma, bool* escaped) {
  const char* const start = ++p;
  bool ascii = true;
  for (;;) {
    if (end - p >= 8) {
      const uint64_t look = LookMask(p);
      if (look == 0) {
        p += 8;
        continue;
      }
      p += __builtin_ctzll(look) >> 3;
    } else if (p == end) {
      return nullptr;
    }
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') break;
    if (c < 0x20) return nullptr;  // raw control characters are invalid in JSON strings
    if (c == '\\') {
      *escaped = true;
      p = ScanEscape(p, end);
      if (p == nullptr) return nullptr;
      continue;
    }
    *comma |= c == ',';
    ascii &= c < 0x80;
    ++p;
  }
  *text = std::string_view(start, static_cast<size_t>(p - start));
  if (!ascii && !IsUtf8(*text)) return nullptr;
  return p + 1;
}

// Whether `s` is one JSON number and nothing else.
inline bool IsJsonNumber(std::string_view s) {
  const char* end = s.data() + s.size();
  return ScanNumber(s.data(), end) == end;
}

}  // namespace slablog::cli
