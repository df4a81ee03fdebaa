#include <map>

#include "damage_tally.h"
#include "mapped_file.h"
#include "slablog/reader.h"
#include "slablog/recovery.h"

namespace slablog {

Result<VerifyResult> Verify(std::string_view path, const VerifyOptions& options, Reporter* reporter) {
  ReaderOptions ro;
  ro.decode_ahead = true;
  ro.threads = options.threads;
  ro.records = false;  // read, checked and counted, but not returned one by one
  VerifyResult result;
  DamageTally tally(reporter);
  auto opened = Reader::Open(path, ro, &tally);
  if (!opened) return opened.error();
  // Open sections of a log a writer holds are expected; the reader knows whether one does.
  result.writer_active = opened.value()->summary().writer_active;
  // Where each file starts in the log as a whole, for progress.
  std::map<std::string, uint64_t> file_start;
  for (const std::string& f : opened.value()->files()) {
    file_start[f] = result.log_bytes;
    result.log_bytes += FileSize(f);
  }
  Reader& reader = *opened.value();
  Item item;
  uint64_t last_progress = 0;
  while (reader.Next(&item)) {
    switch (item.kind) {
      case ItemKind::kSlab:
        break;
      case ItemKind::kSection: {
        const SectionInfo& s = *item.section;
        ++result.sections;
        if (!s.close) ++result.open_sections;
        if (s.close && s.close->frame_count > 0 && s.open.stream_id != kCatalogStream) {
          result.first_t = std::min(result.first_t.value_or(s.close->first_t), s.close->first_t);
          result.last_t = std::max(result.last_t.value_or(s.close->last_t), s.close->last_t);
        }
        const uint64_t done = file_start[s.slab->file] + s.offset;
        if (options.progress && done - last_progress > (uint64_t{64} << 20)) {
          last_progress = done;
          options.progress(done, result.log_bytes);
        }
        break;
      }
      case ItemKind::kRecord:
      case ItemKind::kFrame:
        break;
    }
  }
  const LogSummary& summary = reader.summary();
  result.records = summary.records;
  result.bytes = summary.record_bytes;
  result.clean = summary.clean;
  result.slabs = summary.slabs;
  result.ring = summary.ring;
  result.ring_slabs_gone = summary.ring_slabs_gone;
  result.ring_partial_records = summary.ring_partial_records;
  result.compressed_sections = summary.compressed_sections;
  result.compressed_bytes = summary.compressed_stored_bytes;
  result.uncompressed_bytes = summary.compressed_raw_bytes;
  if (result.clean && result.open_sections > 0) {
    tally.OnCorruption({reader.files().back(), summary.last_slab_index, summary.end_marker_offset, 0,
                 Corruption::kNoStream, {}, CorruptionKind::kBadSection,
                 "the log has an end marker but " + std::to_string(result.open_sections) +
                     " sections were never closed"});
  }
  result.damage = tally.damage;
  result.torn = tally.torn;
  result.in_progress = summary.in_progress;
  if (options.progress) options.progress(result.log_bytes, result.log_bytes);
  return result;
}

}  // namespace slablog
