// JSON text written fast and by hand, for output in bulk: strings and base64. Shared by the
// readers of foreign formats (which give entries as JSON) and the command-line program.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace slablog {

// The length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0.
size_t Utf8Length(std::string_view s, size_t i);
// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
bool IsUtf8(std::string_view s);
// `text` when it is UTF-8, else its copy in `scratch` with U+FFFD for each byte that is not, as
// AppendJsonString writes it: for text that must be UTF-8 but is not JSON (CSV cells, MCAP topics).
std::string_view ValidUtf8(std::string_view text, std::string* scratch);
// Appends `text` as a JSON string (quotes included); bytes that are not valid UTF-8 become U+FFFD.
void AppendJsonString(std::string* out, std::string_view text);
// Appends `bytes` as a JSON string of standard base64 (with padding).
void AppendBase64(std::string* out, std::span<const uint8_t> bytes);

}  // namespace slablog
