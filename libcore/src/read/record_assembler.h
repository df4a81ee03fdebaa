// Joins the FIRST, MIDDLE... LAST fragments of one stream into records. A FULL frame is returned
// without a copy; a fragmented record is copied into a buffer that grows only by fragments whose
// CRC verified, so a damaged length can never make it allocate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "slablog/reader.h"

namespace slablog {

class RecordAssembler {
 public:
  enum class Outcome : uint8_t {
    kNone, kRecord, kOrphan, kInterrupted, kSkippedRecord, kBrokenChain
  };

  // Feeds a verified frame. kRecord: `out` holds a record. kOrphan: a MIDDLE or LAST with no FIRST
  // (dropped). kInterrupted: a FIRST or FULL arrived while a record was open; that record was
  // dropped (see dropped_*) and the new frame was taken.
  // kSkippedRecord: the LAST of a record begun in a section the caller skipped (see SkippedSection).
  // kBrokenChain: a MIDDLE or LAST that does not continue the record in progress (its fragment
  // number is not the next one, or the bytes exceed or fall short of the length its FIRST gave):
  // fragments between were lost. The record and the frame are dropped (see dropped_* and why()).
  Outcome Add(const FrameView& frame, const SlabInfo* slab, uint64_t section_offset, RecordView* out);

  bool active() const { return active_; }
  // Drops a record in progress (after a gap or damage); returns its buffered byte count.
  uint64_t Abandon();
  uint64_t start_offset() const { return start_offset_; }
  // The slab of the last FIRST taken (null before one): a copy, as the SlabInfo a walk points to
  // moves on to later slabs while a record spans them.
  const SlabInfo* start_slab() const { return has_start_slab_ ? &start_slab_ : nullptr; }
  uint32_t fragments() const { return fragments_; }
  uint64_t dropped_bytes() const { return dropped_bytes_; }
  uint64_t dropped_offset() const { return dropped_offset_; }
  const std::string& why() const { return why_; }
  // Orphans are expected (and not reported) when reading starts in the middle of a stream.
  void set_quiet_orphans(bool quiet) {
    quiet_orphans_ = quiet;
    if (!quiet) skipped_tail_ = false;
  }
  // The caller skipped a section without reading it: a record in progress is dropped quietly, and
  // the first LAST without its FIRST ends a record that began in the skipped section. That record
  // still counts (kSkippedRecord), so record numbers stay right after skipping.
  void SkippedSection() {
    Abandon();
    quiet_orphans_ = true;
    skipped_tail_ = true;
  }
  bool quiet_orphans() const { return quiet_orphans_; }
  // Records whose LAST was dropped quietly for want of their FIRST.
  uint64_t quiet_orphan_records() const { return quiet_orphan_records_; }

 private:
  std::vector<uint8_t> buffer_;
  bool active_ = false;
  bool quiet_orphans_ = false;
  bool skipped_tail_ = false;
  uint64_t quiet_orphan_records_ = 0;
  uint64_t start_offset_ = 0;
  uint64_t start_section_ = 0;
  SlabInfo start_slab_;
  bool has_start_slab_ = false;
  int64_t timestamp_ = 0;
  uint64_t record_length_ = 0;  // from the FIRST
  uint32_t fragments_ = 0;
  std::string why_;
  uint64_t dropped_bytes_ = 0;
  uint64_t dropped_offset_ = 0;
};

}  // namespace slablog
