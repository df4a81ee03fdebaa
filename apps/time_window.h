// --since and --until: an absolute time (nanoseconds, or RFC 3339), or a time relative to the
// log's newest record ("-60s": the last minute of a flight recorder), for every command that
// takes times.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "slablog/copper.h"

namespace slablog::cli {

struct TimeWindow {
  int64_t since = std::numeric_limits<int64_t>::min();
  int64_t until = std::numeric_limits<int64_t>::max();
  bool any = false;  // either was given
  bool Contains(int64_t t) const { return t >= since && t <= until; }
};

// Parses both options (empty: not given). A relative value asks `newest` for the log's newest
// record time, once. False, after a message naming the command, on a value that is neither kind
// or a relative one on a log without records.
bool ParseTimeWindow(const char* cmd, const std::string& since, const std::string& until,
                     const std::function<std::optional<int64_t>()>& newest, TimeWindow* out);

// The newest record time of a slablog or Copper log (closed sections by their headers), or
// nullopt when it has none or cannot be read (the command's own reading then says why).
std::optional<int64_t> NewestRecordTime(const std::string& log, const copper::CopperType* copperlist_type);

}  // namespace slablog::cli
