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

Result<std::unique_ptr<OutputLog>> OutputLog::Create(const std::string& base, const WriterOptions& options,
                                                     int compress_level) {
  if (compress_level > 0) {
    CompressedWriterOptions co;
    co.level = compress_level;
    co.slab_bytes = options.slab_size;
    co.section_bytes = options.section_size;
    auto writer = CompressedWriter::Create(base, co);
    if (!writer) return writer.error();
    return std::unique_ptr<OutputLog>(new OutputLog(nullptr, std::move(writer.value())));
  }
  auto writer = Writer::Open(base, options);
  if (!writer) return writer.error();
  return std::unique_ptr<OutputLog>(new OutputLog(std::move(writer.value()), nullptr));
}

Result<OutputLog::Handle> OutputLog::HandleOf(const CatalogEntry& entry) {
  if (&entry == last_entry_) return last_handle_;
  auto it = streams_.find(entry.name);
  if (it == streams_.end()) {
    Handle h;
    if (writer_ != nullptr) {
      auto opened = writer_->OpenStream({entry.name, entry.encoding, entry.type});
      if (!opened) return opened.error();
      h.plain = opened.value();
    } else {
      auto added = compressed_->AddStream(entry.name, entry.encoding, entry.type);
      if (!added) return added.error();
      h.compressed = added.value();
    }
    it = streams_.emplace(entry.name, h).first;
  }
  last_entry_ = &entry;
  last_handle_ = it->second;
  return it->second;
}

Status OutputLog::OpenStream(const CatalogEntry& entry) {
  auto h = HandleOf(entry);
  return h ? Status() : Status(h.error());
}

Status OutputLog::Append(const CatalogEntry& entry, std::span<const uint8_t> payload, int64_t timestamp) {
  auto h = HandleOf(entry);
  if (!h) return h.error();
  Status st = writer_ != nullptr ? writer_->Append(h->plain, payload, timestamp)
                                 : compressed_->Append(h->compressed, payload, timestamp);
  if (!st) return st;
  ++records_;
  frame_bytes_ += kFrameHeaderSize + payload.size();
  return Status();
}

}  // namespace slablog::cli
