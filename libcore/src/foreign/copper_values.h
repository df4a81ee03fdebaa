// Copper's own entry types, decoded from bincode and rendered as JSON: structured log lines
// (cu29_log::CuLogEntry) and the cu29_value::Value parameters they carry. Plus the JSON numbers
// every Copper renderer writes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "copper_bincode.h"

namespace slablog::copper {

void AppendJsonUint(std::string* out, uint64_t v);
void AppendJsonInt(std::string* out, int64_t v);
// Shortest text that reads back to the same value; NaN and infinities as the strings "NaN",
// "Infinity" and "-Infinity", which JSON numbers cannot be.
void AppendJsonDouble(std::string* out, double v);
void AppendJsonFloat(std::string* out, float v);
// A Rust char: its UTF-8 bytes (1 to 4). False when they are not one valid char.
bool DecodeChar(Cursor* in, std::string* json);

// One CuLogEntry at the cursor: time (varint u64 ns), the level byte (when `with_level`: 0 Debug
// .. 4 Critical), msg_index, the parameter name indexes and the parameters. False when the bytes
// are not one. With `json`, appends
//   {"time_ns":T,"level":L,"level_name":"Info","msg_index":M,"paramname_indexes":[..],
//    "params":[{"type":"U32","disc":3,"value":1}, ..]}
// (level and level_name only `with_level`).
bool DecodeLogLine(Cursor* in, bool with_level, std::string* json, int64_t* time_ns);
// As DecodeLogLine without JSON, and says whether the line has as many parameter names as
// parameters (Copper's logger gives each parameter its name): a reading that gives lines
// otherwise is the wrong one.
bool DecodeLogLineShape(Cursor* in, bool with_level, bool* names_match_params);

// The log lines of `region` from `from` while the position is before `stop`, decoded to count
// and check them: how many, where the last one began and ended (or where the one that did not
// decode began), and their earliest and latest time.
struct LogLineRun {
  uint64_t entries = 0;
  size_t last_start = 0;
  size_t end = 0;
  bool failed = false;
  std::optional<int64_t> first_t, last_t;  // of the entries but the last
  std::optional<int64_t> last_entry_t;     // of the last
};
LogLineRun CountLogLines(std::span<const uint8_t> region, size_t from, size_t stop, bool with_level);

}  // namespace slablog::copper
