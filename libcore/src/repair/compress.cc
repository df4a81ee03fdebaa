// Compress: read a log, write its records into a compressed log (CompressedWriter).
#include <unordered_map>

#include "damage_tally.h"
#include "slablog/compressed_writer.h"
#include "slablog/reader.h"

namespace slablog {
Result<CompressResult> Compress(std::string_view path, const std::string& out,
                                const CompressedWriterOptions& options, Reporter* reporter) {
  DamageTally count(reporter);
  ReaderOptions ro;
  ro.decode_ahead = true;
  auto opened = Reader::Open(path, ro, &count);
  if (!opened) return opened.error();
  Reader& reader = *opened.value();
  if (reader.summary().writer_active) {
    return Error{Errc::kInvalidArgument, std::string(path), 0,
                 "a writer has the log open: compress it once it is closed (or split a window out of it)"};
  }
  auto writer = CompressedWriter::Create(out, options);
  if (!writer) return writer.error();
  std::unordered_map<uint32_t, uint32_t> ids;  // input stream id -> output's
  Item item;
  while (reader.Next(&item)) {
    if (item.kind != ItemKind::kRecord) continue;
    const RecordView& r = item.record;
    auto it = ids.find(r.stream_id);
    if (it == ids.end()) {
      const CatalogEntry* e = reader.stream(r.stream_id);
      auto id = e != nullptr ? writer.value()->AddStream(e->name, e->encoding, e->type)
                             : writer.value()->AddStream("stream-" + std::to_string(r.stream_id), Encoding::kBinary, 0);
      if (!id) return id.error();
      it = ids.emplace(r.stream_id, *id).first;
    }
    if (Status s = writer.value()->Append(it->second, r.payload, r.timestamp); !s) return s.error();
  }
  if (count.damage > 0) {
    return Error{Errc::kCorruption, std::string(path), 0,
                 std::to_string(count.damage) + " problems in the log: nothing was written (recover it first)"};
  }
  // Streams the catalog defines but that hold no record are kept too.
  for (const CatalogEntry* e : reader.streams()) {
    if (ids.count(e->stream_id) != 0) continue;
    auto id = writer.value()->AddStream(e->name, e->encoding, e->type);
    if (!id) return id.error();
  }
  if (Status s = writer.value()->Close(); !s) return s.error();
  CompressResult result;
  result.stats = writer.value()->stats();
  result.torn = count.torn;
  result.log_bytes = FilesSize(reader.files());
  return result;
}

}  // namespace slablog
