#include "record_assembler.h"

namespace slablog {

uint64_t RecordAssembler::Abandon() {
  const uint64_t n = active_ ? buffer_.size() : 0;
  active_ = false;
  buffer_.clear();
  // A multi-GiB record's buffer should not outlive it.
  if (buffer_.capacity() > (size_t{64} << 20)) buffer_.shrink_to_fit();
  return n;
}

RecordAssembler::Outcome RecordAssembler::Add(const FrameView& frame, const SlabInfo* slab, uint64_t section_offset,
                                              RecordView* out) {
  Outcome outcome = Outcome::kNone;
  switch (frame.header.kind) {
    case FragmentKind::kFull:
    case FragmentKind::kFirst: {
      if (active_) {
        dropped_offset_ = start_offset_;
        dropped_bytes_ = Abandon();
        outcome = Outcome::kInterrupted;
      }
      quiet_orphans_ = false;
      skipped_tail_ = false;
      if (frame.header.kind == FragmentKind::kFull) {
        out->timestamp = frame.header.timestamp;
        out->offset = frame.offset;
        out->section_offset = section_offset;
        out->slab = slab;
        out->fragments = 1;
        out->payload = frame.payload;
        return Outcome::kRecord;
      }
      // The length a FIRST gives is CRC-checked, but bounds nothing: the buffer grows only by
      // fragments that verified.
      const uint64_t record_length = frame.record_length();  // read once: the map may change
      if (record_length > kMaxRecordBytes || record_length < frame.payload.size()) {
        why_ = "its FIRST gives a length of " + std::to_string(record_length) + " bytes";
        dropped_offset_ = frame.offset;
        dropped_bytes_ = frame.payload.size();
        quiet_orphans_ = true;
        return Outcome::kBrokenChain;
      }
      active_ = true;
      start_offset_ = frame.offset;
      start_section_ = section_offset;
      has_start_slab_ = slab != nullptr;
      if (slab != nullptr) start_slab_ = *slab;
      timestamp_ = frame.header.timestamp;
      record_length_ = record_length;
      fragments_ = 1;
      buffer_.assign(frame.payload.begin(), frame.payload.end());
      return outcome;
    }
    case FragmentKind::kMiddle:
    case FragmentKind::kLast: {
      if (!active_) {
        if (skipped_tail_ && frame.header.kind == FragmentKind::kLast) {
          skipped_tail_ = false;
          return Outcome::kSkippedRecord;
        }
        if (!quiet_orphans_) return Outcome::kOrphan;
        if (frame.header.kind == FragmentKind::kLast) ++quiet_orphan_records_;
        return Outcome::kNone;
      }
      const uint64_t have = buffer_.size() + frame.payload.size();
      const bool last = frame.header.kind == FragmentKind::kLast;
      if (frame.header.index != fragments_ || have > record_length_ || (last && have != record_length_)) {
        why_ = frame.header.index != fragments_
                   ? std::string(FragmentKindName(frame.header.kind)) + " fragment " +
                         std::to_string(frame.header.index) + " follows fragment " +
                         std::to_string(fragments_ - 1) + " (fragments between were lost)"
                   : "its fragments hold " + std::to_string(have) + " bytes of the " +
                         std::to_string(record_length_) + " its FIRST gives";
        dropped_offset_ = start_offset_;
        dropped_bytes_ = Abandon() + frame.payload.size();
        // A record whose LAST is here ended here, lost or not; the next FIRST or FULL starts anew.
        if (!last) quiet_orphans_ = true;
        return Outcome::kBrokenChain;
      }
      buffer_.insert(buffer_.end(), frame.payload.begin(), frame.payload.end());
      ++fragments_;
      if (!last) return Outcome::kNone;
      active_ = false;
      out->timestamp = timestamp_;
      out->offset = start_offset_;
      out->section_offset = start_section_;
      out->slab = start_slab();
      out->fragments = fragments_;
      out->payload = buffer_;
      return Outcome::kRecord;
    }
    case FragmentKind::kNone:
      break;
  }
  return Outcome::kNone;
}

}  // namespace slablog
