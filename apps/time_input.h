// write --time-field: a record's time as people's tools keep it (integer nanoseconds, float
// seconds, RFC 3339 strings), made exact int64 nanoseconds since the Unix epoch.
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

// A JSON string's value: a number as NumberToNs reads it (so export --time-format ns-string
// output reads back), else an RFC 3339 time (whatever the unit). Returns "" or what is wrong.
std::string StringToNs(std::string_view text, TimeUnit unit, int64_t* out);

}  // namespace slablog::cli
