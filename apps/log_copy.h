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
// encoding and type of the catalog entry they come from.
class OutputLog {
 public:
  static Result<std::unique_ptr<OutputLog>> Create(const std::string& base, const WriterOptions& options);
  Status OpenStream(const CatalogEntry& entry);
  // `entry` must stay where it is while this log is open (it caches the last stream used).
  Status Append(const CatalogEntry& entry, std::span<const uint8_t> payload, int64_t timestamp);
  Status Close() { return writer_->Close(); }
  uint64_t records() const { return records_; }

 private:
  explicit OutputLog(std::unique_ptr<Writer> writer) : writer_(std::move(writer)) {}
  Result<StreamHandle> Handle(const CatalogEntry& entry);
  std::unique_ptr<Writer> writer_;
  std::unordered_map<std::string, StreamHandle> streams_;
  const CatalogEntry* last_entry_ = nullptr;
  StreamHandle last_handle_;
  uint64_t records_ = 0;
};

}  // namespace slablog::cli
