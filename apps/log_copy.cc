#include "log_copy.h"

#include <algorithm>

namespace slablog::cli {

Result<LogSurvey> SurveyLog(const std::string& path, bool times) {
  ReaderOptions options;
  options.threads = 1;
  options.background_prefault = false;
  auto opened = Reader::Open(path, options, nullptr);
  if (!opened) return opened.error();
  Reader& reader = *opened.value();
  LogSurvey survey;
  survey.files = reader.files();
  auto widen = [&](int64_t first, int64_t last) {
    survey.first_t = std::min(survey.first_t.value_or(first), first);
    survey.last_t = std::max(survey.last_t.value_or(last), last);
  };
  Item item;
  while (reader.Next(&item)) {
    if (item.kind == ItemKind::kSection) {
      // Frames are read only where times are wanted and no close block gives them; the reader
      // reads the catalog's whatever the caller skips.
      const auto& close = item.section->close;
      if (times && close && close->frame_count > 0 && item.section->open.stream_id != kCatalogStream) {
        widen(close->first_t, close->last_t);
      }
      if (!times || close) reader.SkipSection();
    } else if (item.kind == ItemKind::kRecord) {
      widen(item.record.timestamp, item.record.timestamp);
    }
  }
  for (const CatalogEntry* e : reader.streams()) survey.streams.push_back(*e);
  return survey;
}

Result<std::unique_ptr<OutputLog>> OutputLog::Create(const std::string& base, const WriterOptions& options) {
  auto writer = Writer::Open(base, options);
  if (!writer) return writer.error();
  return std::unique_ptr<OutputLog>(new OutputLog(std::move(writer.value())));
}

Result<StreamHandle> OutputLog::Handle(const CatalogEntry& entry) {
  if (&entry == last_entry_) return last_handle_;
  auto it = streams_.find(entry.name);
  if (it == streams_.end()) {
    auto h = writer_->OpenStream({entry.name, entry.encoding, entry.type});
    if (!h) return h.error();
    it = streams_.emplace(entry.name, h.value()).first;
  }
  last_entry_ = &entry;
  last_handle_ = it->second;
  return it->second;
}

Status OutputLog::OpenStream(const CatalogEntry& entry) {
  auto h = Handle(entry);
  return h ? Status() : Status(h.error());
}

Status OutputLog::Append(const CatalogEntry& entry, std::span<const uint8_t> payload, int64_t timestamp) {
  auto h = Handle(entry);
  if (!h) return h.error();
  if (Status st = writer_->Append(h.value(), payload, timestamp); !st) return st;
  ++records_;
  return Status();
}

}  // namespace slablog::cli
