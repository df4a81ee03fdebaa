// Reads a log in one forward pass: its slabs, their sections, and the frames and records in them,
// with every damaged byte classified and sent to a Reporter. Memory stays independent of the
// log's size: nothing is collected per section or per record.
//
// Views (slab, section, frame, record) are valid until the next call to Next(). A Reader is used
// by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slablog/format.h"
#include "slablog/reporter.h"
#include "slablog/status.h"

namespace slablog {

struct ReaderOptions {
  bool verify_checksums = true;  // check every frame's CRC32C
  bool frames = false;           // return every frame (Item::kFrame), including damaged ones
  // Return reassembled records (Item::kRecord). Without, they are still read and checked, and
  // counted in LogSummary: the fastest way through a log that checks everything.
  bool records = true;
  // Read only the named file (one slab, or slabs joined with cat) even if it is named like a slab
  // of a larger log.
  bool single_file = false;
  // Only these streams' frames are read and returned (their sections and the catalog still are
  // walked). Empty: every stream.
  std::vector<std::string> only_streams;
  // Threads used, the reading one included; 0 means 2. The others check the frame CRCs of
  // closed sections ahead of the reading thread (which also maps their pages), or, without
  // verify_checksums, one maps pages ahead. 1: the reading thread alone. Records and reports are
  // the same whatever the number.
  unsigned threads = 0;
  // Without verify_checksums: map pages ahead of the frames being read on a helper thread, so the
  // reading thread does not wait for page faults or, on a log not in the page cache, the disk.
  bool background_prefault = true;
  // With helper threads: they also decode compressed sections a few ahead of the reading thread.
  // Off, each compressed section is decoded by the reading thread when its frames are read, so a
  // caller that skips sections (SkipSection, say by time) has them never decompressed.
  bool decode_ahead = false;
  // Start at this slab of a log named by its base name or a slab file (earlier slab files are not
  // opened; at least the last slab is read). A stream whose sections began in an earlier slab
  // is not reported as missing them, and its RecordView::index then counts from its first
  // section read. For readers that come back to a live log (follow), past what they have read.
  uint32_t first_slab = 0;
};

struct SlabInfo {
  std::string file;          // the file the slab is in
  uint64_t file_offset = 0;  // where the slab starts in that file
  SlabHeader header;
  uint64_t bytes = 0;        // bytes of the slab present in the file
};

struct SectionInfo {
  const SlabInfo* slab = nullptr;
  uint64_t offset = 0;       // file offset of the section header
  SectionOpen open;
  std::optional<SectionClose> close;  // present once the section was closed
  std::string_view stream_name;       // from the catalog; empty when unknown
};

struct FrameView {
  uint64_t offset = 0;       // file offset of the frame header (compressed sections: see RecordView)
  FrameHeader header;
  std::span<const uint8_t> payload;  // the record's bytes in this fragment (a FIRST's length prefix left out)
  bool crc_ok = true;        // false for a frame returned although its CRC did not match
  // FIRST: the whole record's length, from the prefix just before its payload (so only for a
  // frame a Reader returned); otherwise 0. Read when asked rather than stored: nearly every frame
  // is FULL, and a view that small leaves the reading loop its registers.
  uint64_t record_length() const;
};

struct RecordView {
  uint32_t stream_id = 0;
  std::string_view stream_name;
  uint64_t index = 0;        // the record's number in its stream, counting from 0
  int64_t timestamp = 0;
  // File offset of its first frame. In a compressed section: the section's offset plus where the
  // frame is in the section's frames once decompressed (so it can lie past the section's end).
  uint64_t offset = 0;
  // A record in fragments (fragments > 1): the file offset of the section of its first frame.
  // Not set for a whole record, whose section is Item::section.
  uint64_t section_offset = 0;
  const SlabInfo* slab = nullptr;  // the slab of its first frame
  uint32_t fragments = 1;
  std::span<const uint8_t> payload;
};

enum class ItemKind : uint8_t { kSlab, kSection, kFrame, kRecord };

struct Item {
  ItemKind kind = ItemKind::kSlab;
  const SlabInfo* slab = nullptr;        // the current slab, for every kind
  const SectionInfo* section = nullptr;  // the current section, for all but kSlab
  FrameView frame;                       // kFrame
  RecordView record;                     // kRecord
};

// What one pass found about the log as a whole (complete once Next() has returned false).
struct LogSummary {
  std::optional<LogId> log_id;
  uint32_t page_size = 0;
  uint64_t slab_capacity = 0;
  uint32_t slabs = 0;          // slabs read
  uint32_t last_slab_index = 0;
  bool clean = false;          // the last slab ends with a valid end marker
  uint64_t end_marker_offset = 0;  // file offset of that end marker (when clean)
  uint64_t corruptions = 0;    // events sent to the Reporter
  bool writer_active = false;  // a writer had the log open (or added to it) when it was opened
  // With writer_active: torn-tail events met (a frame or record the writer was still writing
  // can give more than one). They are counted here and not sent to the Reporter.
  uint64_t in_progress = 0;
  // The slab in which the earliest record still unfinished at the end of the walk (its LAST not
  // yet there) has its first fragment, if any: a reader that comes back to a live log for the
  // rest of that record must start there (ReaderOptions::first_slab).
  std::optional<uint32_t> unfinished_from_slab;
  // Records completed so far, and their payload bytes, whether returned (ReaderOptions::records)
  // or only checked; the catalog's entries are not counted.
  uint64_t records = 0;
  uint64_t record_bytes = 0;
  // A ring (WriterOptions::ring_slabs): slabs before and between the ones read were reused by
  // its writer for later ones. Not damage: how many such slabs, and records whose first
  // fragments went with them (dropped, as their rest cannot be returned alone).
  bool ring = false;
  uint64_t ring_slabs_gone = 0;
  uint64_t ring_partial_records = 0;
  // Slabs of a live ring that its writer reused while this reader was on its way to them or in
  // them: passed over (their bytes are a later slab's), and problems met in them not reported.
  uint64_t ring_overtaken = 0;
  // Compressed sections (slablog compress) met, the bytes they take in the files (headers and
  // padding included) and their frames' bytes once decompressed; those found damaged.
  uint64_t compressed_sections = 0;
  uint64_t compressed_stored_bytes = 0;
  uint64_t compressed_raw_bytes = 0;
  uint64_t compressed_sections_damaged = 0;
};

class Reader {
 public:
  // `path` is a base name (run.slog), any slab of the log (run_2.slog), or a single file holding
  // one slab or slabs joined with cat. `reporter` may be null and must outlive the Reader.
  static Result<std::unique_ptr<Reader>> Open(std::string_view path, const ReaderOptions& options,
                                              Reporter* reporter);
  ~Reader();

  // The files that make up the log, in slab order.
  const std::vector<std::string>& files() const;

  // The next item in log order; false at the end of the log. On a live log, a section the walk
  // read while it was open comes again as a kSection item (same stream and seq) when its stream
  // has gone on in a later one: the records the writer added to it since follow it.
  bool Next(Item* item);
  // After a kSection item: do not read that section's frames. A record begun before it is
  // abandoned without a report. Skipping a closed section keeps later record numbers
  // (RecordView::index) exact: its close block says how many records end in it. A section that
  // comes again on a live log is read all the same.
  void SkipSection();

  // The stream's catalog entry, once the walk has reached it; null when unknown.
  const CatalogEntry* stream(uint32_t id) const;
  // Every stream of the catalog read so far, in id order.
  std::vector<const CatalogEntry*> streams() const;
  const LogSummary& summary() const;

 private:
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slablog
