// JSON text written fast and by hand, for output in bulk: strings and base64. Shared by the
// readers of foreign formats (which give entries as JSON) and the command-line program.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace slablog {

// Appends `text` as a JSON string (quotes included); bytes that are not valid UTF-8 become U+FFFD.
void AppendJsonString(std::string* out, std::string_view text);
// Appends `bytes` as a JSON string of standard base64 (with padding).
void AppendBase64(std::string* out, std::span<const uint8_t> bytes);

}  // namespace slablog
