// What split and merge share: a survey of a log (its streams, its time range) taken from section
// headers and the catalog, and an output log that records are copied into by stream name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "slablog/compressed_writer.h"
#include "slablog/reader.h"
#include "slablog/writer.h"

namespace slablog::cli {

struct LogSurvey {
  std::vector<std::string> files;
  std::vector<CatalogEntry> streams;  // in id order
  std::optional<int64_t> first_t;     // the smallest and largest record timestamps
  std::optional<int64_t> last_t;
};

// Reads the catalog and, with `times`, the time range: closed sections from their headers, open
// ones (a crashed or live log) frame by frame. Damage is left for the pass that copies records.
Result<LogSurvey> SurveyLog(const std::string& path, bool times);

// A log being written by split or merge. Streams are opened on first use, by name, with the
// encoding and type of the catalog entry they come from. With a zstd level (split --compress),
// a compressed log (CompressedWriter), written whole at Close().
class OutputLog {
 public:
  static Result<std::unique_ptr<OutputLog>> Create(const std::string& base, const WriterOptions& options,
                                                   int compress_level = 0);
  Status OpenStream(const CatalogEntry& entry);
  // `entry` must stay where it is while this log is open (it caches the last stream used).
  Status Append(const CatalogEntry& entry, std::span<const uint8_t> payload, int64_t timestamp);
  Status Close() { return writer_ != nullptr ? writer_->Close() : compressed_->Close(); }
  uint64_t records() const { return records_; }
  // Frame bytes appended (records and their 20-byte headers), before any compression.
  uint64_t frame_bytes() const { return frame_bytes_; }

 private:
  OutputLog(std::unique_ptr<Writer> writer, std::unique_ptr<CompressedWriter> compressed)
      : writer_(std::move(writer)), compressed_(std::move(compressed)) {}
  // A stream's handle: a Writer's, or a CompressedWriter's stream id.
  struct Handle {
    StreamHandle plain;
    uint32_t compressed = 0;
  };
  Result<Handle> HandleOf(const CatalogEntry& entry);
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<CompressedWriter> compressed_;
  std::unordered_map<std::string, Handle> streams_;
  const CatalogEntry* last_entry_ = nullptr;
  Handle last_handle_;
  uint64_t records_ = 0;
  uint64_t frame_bytes_ = 0;
};

}  // namespace slablog::cli
