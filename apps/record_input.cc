#include "record_input.h"

#include <simdjson.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "slablog/format.h"

namespace slablog::cli {
namespace {

constexpr size_t kReadChunk = size_t{1} << 20;
// Below this much free space the buffer is compacted (or grown) before the next read.
constexpr size_t kMinRead = size_t{64} << 10;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Parses one NDJSON line and fills the record's stream and timestamp from its fields.
class NdjsonLine {
 public:
  explicit NdjsonLine(const InputOptions& options) : options_(options) {}

  // `line` must be followed by simdjson::SIMDJSON_PADDING readable bytes.
  Status Parse(std::string_view line, uint64_t offset, InputRecord* record) {
    simdjson::dom::element doc;
    if (auto error = parser_.parse(line.data(), line.size(), false).get(doc)) {
      // simdjson's DOM holds numbers of at most 64 bits; JSON has no such limit. Such lines (and
      // only they) are checked by nlohmann_json instead: slower, but rare.
      if (error == simdjson::NUMBER_ERROR) return ParseWithBigNumbers(line, offset, record);
      return Invalid(record->line, offset, std::string("invalid JSON: ") + simdjson::error_message(error));
    }
    if (options_.stream_field.empty() && options_.time_field.empty()) return Status();
    if (!doc.is_object()) {
      if (!options_.time_field.empty()) {
        return Invalid(record->line, offset, "not an object, so it has no field '" + options_.time_field + "'");
      }
      return Status();
    }
    if (!options_.stream_field.empty()) {
      simdjson::dom::element field;
      if (doc.at_key(options_.stream_field).get(field) == simdjson::SUCCESS) {
        std::string_view name;
        if (field.get_string().get(name) != simdjson::SUCCESS || name.empty()) {
          return Invalid(record->line, offset,
                         "field '" + options_.stream_field + "' must be a non-empty string");
        }
        record->stream = name;
      }
    }
    if (!options_.time_field.empty()) {
      simdjson::dom::element field;
      if (doc.at_key(options_.time_field).get(field) != simdjson::SUCCESS) {
        return Invalid(record->line, offset, "has no field '" + options_.time_field + "'");
      }
      std::string_view text;
      if (field.is_int64() && (options_.time_unit == TimeUnit::kDefault || options_.time_unit == TimeUnit::kNanos)) {
        record->timestamp = field.get_int64().value_unsafe();  // today's input, kept fast
      } else if (field.is_number()) {
        return TimeFromNumber(line, offset, record);
      } else if (field.get_string().get(text) == simdjson::SUCCESS) {
        return TimeFromString(text, offset, record);
      } else {
        return Invalid(record->line, offset, NotATime());
      }
    }
    return Status();
  }

 private:
  Status ParseWithBigNumbers(std::string_view line, uint64_t offset, InputRecord* record) {
    nlohmann::json doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return Invalid(record->line, offset, "invalid JSON: a number or the text around it is malformed");
    if (!options_.stream_field.empty() && doc.is_object() && doc.contains(options_.stream_field)) {
      const auto& f = doc[options_.stream_field];
      if (!f.is_string() || f.get_ref<const std::string&>().empty()) {
        return Invalid(record->line, offset, "field '" + options_.stream_field + "' must be a non-empty string");
      }
      big_stream_ = f.get<std::string>();
      record->stream = big_stream_;
    }
    if (!options_.time_field.empty()) {
      if (!doc.is_object() || !doc.contains(options_.time_field)) {
        return Invalid(record->line, offset, "has no field '" + options_.time_field + "'");
      }
      const auto& f = doc[options_.time_field];
      if (f.is_number()) return TimeFromNumber(line, offset, record);
      if (f.is_string()) return TimeFromString(f.get_ref<const std::string&>(), offset, record);
      return Invalid(record->line, offset, NotATime());
    }
    return Status();
  }

  // A number's digits as written: a double would lose the nanoseconds of float seconds (2^53 ns
  // is 104 days), so the field is found again, lazily, in the raw text.
  Status TimeFromNumber(std::string_view line, uint64_t offset, InputRecord* record) {
    simdjson::ondemand::document doc;
    simdjson::ondemand::value value;
    std::string_view raw;  // up to the next token: trailing white space included
    const simdjson::padded_string_view padded(line.data(), line.size(), line.size() + simdjson::SIMDJSON_PADDING);
    if (raw_parser_.iterate(padded).get(doc) != simdjson::SUCCESS ||
        doc.find_field_unordered(options_.time_field).get(value) != simdjson::SUCCESS) {
      return Invalid(record->line, offset, NotATime());
    }
    raw = value.raw_json_token();
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' || raw.back() == '\n')) {
      raw.remove_suffix(1);
    }
    const std::string problem = NumberToNs(raw, options_.time_unit, &record->timestamp);
    if (problem.empty()) return Status();
    return Invalid(record->line, offset, "field '" + options_.time_field + "': " + problem);
  }

  Status TimeFromString(std::string_view text, uint64_t offset, InputRecord* record) {
    const std::string problem = StringToNs(text, options_.time_unit, &record->timestamp);
    if (problem.empty()) return Status();
    return Invalid(record->line, offset, "field '" + options_.time_field + "': " + problem);
  }

  std::string NotATime() const {
    return "field '" + options_.time_field +
           "' must be a number (integers are nanoseconds, fractions seconds, unless --time-unit says) "
           "or a string holding one or an RFC 3339 time";
  }

  Status Invalid(uint64_t line, uint64_t offset, std::string what) const {
    return Error{Errc::kCorruption, options_.name, offset, "line " + std::to_string(line) + ": " + what};
  }

  const InputOptions& options_;
  simdjson::dom::parser parser_;
  simdjson::ondemand::parser raw_parser_;  // for the raw text of a time that is not an integer
  std::string big_stream_;  // the stream name of the last big-number line (the record views it)
};

// The read buffer: unconsumed bytes are [begin, end). simdjson's padding follows the capacity.
class InputBuffer {
 public:
  InputBuffer() : bytes_(kReadChunk + simdjson::SIMDJSON_PADDING) {}

  // Makes room for a read; grows only when the unconsumed bytes fill the buffer (one long record).
  void MakeRoom() {
    if (capacity() - end_ >= kMinRead) return;
    if (begin_ > 0) {
      std::memmove(bytes_.data(), bytes_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      consumed_ += begin_;
      begin_ = 0;
    }
    if (capacity() - end_ < kMinRead) bytes_.resize(capacity() * 2 + simdjson::SIMDJSON_PADDING);
  }

  size_t capacity() const { return bytes_.size() - simdjson::SIMDJSON_PADDING; }
  char* data() { return bytes_.data(); }
  size_t begin_ = 0;
  size_t end_ = 0;
  uint64_t consumed_ = 0;  // input bytes before data()[0]

 private:
  std::vector<char> bytes_;
};

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

Result<uint64_t> ReadRecords(int fd, const InputOptions& options,
                             const std::function<Status(const InputRecord&)>& sink) {
  InputBuffer buf;
  NdjsonLine ndjson(options);
  uint64_t records = 0;
  uint64_t line_number = 0;
  bool eof = false;
  while (!eof) {
    if (options.stop != nullptr && options.stop->load()) break;
    buf.MakeRoom();
    const ssize_t n = ::read(fd, buf.data() + buf.end_, buf.capacity() - buf.end_);
    if (n < 0) {
      if (errno == EINTR) continue;  // a signal: the loop checks `stop`
      return Error{Errc::kIo, options.name, buf.consumed_ + buf.end_,
                   std::string("cannot read: ") + std::strerror(errno)};
    }
    eof = n == 0;
    buf.end_ += static_cast<size_t>(n);
    const int64_t arrival = NowNs();

    if (options.format == InputFormat::kRaw) {
      // Each record: a 4-byte little-endian length, then that many bytes.
      while (buf.end_ - buf.begin_ >= 4) {
        uint32_t length;
        std::memcpy(&length, buf.data() + buf.begin_, 4);
        if (buf.end_ - buf.begin_ - 4 < length) break;  // wait for the rest
        InputRecord r{{}, arrival, {buf.data() + buf.begin_ + 4, length}, 0};
        if (Status s = sink(r); !s) return s.error();
        ++records;
        buf.begin_ += 4 + size_t{length};
      }
      if (eof && buf.begin_ != buf.end_) {
        return Error{Errc::kCorruption, options.name, buf.consumed_ + buf.begin_,
                     "input ends inside a raw record (" + std::to_string(buf.end_ - buf.begin_) +
                         " bytes left, a record needs its 4-byte length and payload)"};
      }
      continue;
    }

    for (;;) {
      const size_t left = buf.end_ - buf.begin_;
      const char* start = buf.data() + buf.begin_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', left));
      if (nl == nullptr && !(eof && left > 0)) break;
      const size_t length = nl != nullptr ? static_cast<size_t>(nl - start) : left;
      std::string_view line(start, length);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_number;
      const uint64_t offset = buf.consumed_ + buf.begin_;
      buf.begin_ += nl != nullptr ? length + 1 : length;
      InputRecord r{{}, arrival, line, line_number};
      if (options.format == InputFormat::kNdjson) {
        if (Blank(line)) continue;  // blank lines separate nothing in NDJSON; skip them
        if (Status s = ndjson.Parse(line, offset, &r); !s) return s.error();
      }
      if (Status s = sink(r); !s) return s.error();
      ++records;
    }
  }
  return records;
}

}  // namespace slablog::cli
