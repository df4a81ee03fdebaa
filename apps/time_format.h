// --time-format: how export, follow, dump and info --json print a record time (int64 nanoseconds
// since the Unix epoch). Nanoseconds as a JSON number are exact but above 2^53 tools that read
// numbers as doubles (jq 1.6, JavaScript) round them; the other formats survive such tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace CLI {
class App;
}

namespace slablog::cli {

enum class TimeFormat : uint8_t {
  kNs,        // 1764000000000000001: a JSON integer (the default, and what older versions print)
  kNsString,  // "1764000000000000001": the same digits as a JSON string, which jq 1.6 keeps exact
  kRfc3339,   // "2025-11-24T16:00:00.000000001Z": UTC, always 9 fractional digits
  kSeconds,   // 1764000000.000000001: decimal seconds, always 9 fractional digits
};

// The most characters PutTime writes (an RFC 3339 time in quotes).
inline constexpr size_t kMaxTimeChars = 32;

// Adds --time-format to a subcommand; `text` stays empty when it is not given.
void AddTimeFormatOption(CLI::App* sub, std::string* text);
// The parsed format (kNs when `text` is empty); false, after a message naming the command, when
// `text` names no format.
bool ParseTimeFormatOption(const char* command, const std::string& text, TimeFormat* out);

// Writes `t` as a JSON value at `p`, which has room for kMaxTimeChars; returns the end.
char* PutTime(char* p, int64_t t, TimeFormat format);
void AppendTimeJson(std::string* out, int64_t t, TimeFormat format);
// `t` for text output (dump): as PutTime without the quotes (kNsString prints as kNs).
std::string TimeText(int64_t t, TimeFormat format);

// For commands that build their JSON with nlohmann_json: `t` as a value DumpJson prints as
// PutTime does (nlohmann_json would print seconds as a double, and round them).
nlohmann::ordered_json TimeJson(int64_t t, TimeFormat format);
std::string DumpJson(const nlohmann::ordered_json& j, int indent = 2);

}  // namespace slablog::cli
