// Turns an input stream into records as the bytes arrive: NDJSON lines (validated with simdjson),
// text lines, or length-prefixed binary records. Memory is one buffer that grows only to the
// longest record actually received.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "slablog/status.h"
#include "time_input.h"

namespace slablog::cli {

enum class InputFormat : uint8_t { kNdjson, kLines, kRaw };

struct InputOptions {
  InputFormat format = InputFormat::kNdjson;
  std::string name = "stdin";     // for messages
  std::string stream_field;       // ndjson: route by this field's string value
  std::string time_field;         // ndjson: timestamp from this field (see time_input.h)
  TimeUnit time_unit = TimeUnit::kDefault;  // what a number in the time field counts
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: stop reading
};

struct InputRecord {
  std::string_view stream;            // empty: the default stream
  int64_t timestamp = 0;              // from the time field, else the time the bytes arrived
  std::string_view payload;
  uint64_t line = 0;                  // 1-based line number (text formats)
};

// Calls `sink` for every record in order until the input ends, `stop` is set, or a record is
// invalid. Invalid input gives Errc::kCorruption with the line (or byte offset); a failed read
// gives Errc::kIo; an error from `sink` is passed through. Returns the number of records.
Result<uint64_t> ReadRecords(int fd, const InputOptions& options,
                             const std::function<Status(const InputRecord&)>& sink);

}  // namespace slablog::cli
