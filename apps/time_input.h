// Times as text, made exact int64 nanoseconds since the Unix epoch: --since and --until, write
// --time-field's records as people's tools keep them (integer nanoseconds, float seconds, RFC 3339
// strings), and the Python module's slablog.time_ns (apps/python), which is built from this file too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace slablog::cli {

// --time-unit: what a number means. kDefault: integers are nanoseconds, numbers with a fraction
// or an exponent are seconds.
enum class TimeUnit : uint8_t { kDefault, kSeconds, kMillis, kMicros, kNanos };

// "s", "ms", "us", "ns"; false on anything else.
bool ParseTimeUnit(std::string_view text, TimeUnit* out);

// The raw text of a JSON number (as in the input: "1764000000.000000001", "-5", "1.5e3") in
// nanoseconds, from its decimal digits (never through a double), rounded to the nearest
// nanosecond, halves away from zero. Returns "" or what is wrong ("out of range ...").
std::string NumberToNs(std::string_view number, TimeUnit unit, int64_t* out);

// A time as integer nanoseconds ("1764000000000000000", "-5") or RFC 3339
// ("2025-11-24T16:00:00Z", "2025-11-24T17:00:00.25+01:00"). Fraction digits below a nanosecond
// round to the nearest as NumberToNs rounds numbers. A day or offset out of range (2025-02-31,
// +24:00) is refused, not carried; second 60 is taken only as a leap second, 23:59:60 UTC on a
// month's last day, and read as the next day's 00:00:00 as POSIX time does. False on anything
// else, and on times outside int64 nanoseconds.
bool ParseTimeNs(std::string_view text, int64_t* out);

// A JSON string's value: a number as NumberToNs reads it (so export --time-format ns-string
// output reads back), else an RFC 3339 time (whatever the unit). Returns "" or what is wrong.
std::string StringToNs(std::string_view text, TimeUnit unit, int64_t* out);

}  // namespace slablog::cli
