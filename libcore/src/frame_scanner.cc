#include "frame_scanner.h"

#include <string>

#include "crc32c.h"

namespace slablog {
namespace {

std::string Hex32(uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x00000000";
  for (int i = 9; i >= 2; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

}  // namespace

void FrameScanner::Start(const std::string& file, const SectionInfo& section,
                         std::span<const uint8_t> bytes, uint32_t seed) {
  file_ = &file;
  section_ = &section;
  bytes_ = bytes;
  base_ = section.offset;
  seed_ = seed;
  open_ = !section.close.has_value();
  verify_ = options_.verify_checksums;
  damaged_ = false;
  frames_ = 0;
  pos_ = std::min<uint64_t>(kSectionHeaderSize, bytes.size());
  end_ = bytes.size();
  if (!open_) {
    const uint64_t filled_end = kSectionHeaderSize + section.close->filled;
    if (filled_end > bytes.size()) {
      Report(bytes.size(), 0, CorruptionKind::kTornTail,
             "section's close block says " + std::to_string(section.close->filled) +
                 " filled bytes but the file ends " +
                 std::to_string(filled_end - bytes.size()) + " bytes short of them");
      damaged_ = true;
    } else {
      end_ = filled_end;
    }
  }
}

void FrameScanner::Report(uint64_t at, uint64_t dropped, CorruptionKind kind, std::string detail) {
  Corruption c;
  c.file = *file_;
  c.slab = section_->slab != nullptr ? section_->slab->header.slab_index : 0;
  c.offset = base_ + at;
  c.bytes_dropped = dropped;
  c.stream = section_->open.stream_id;
  c.kind = kind;
  c.detail = std::move(detail);
  sink_->Report(c);
}

bool FrameScanner::OnlyZerosAfter(uint64_t frame_end) const {
  return open_ && (frame_end >= bytes_.size() || AllZero(bytes_.subspan(frame_end)));
}

bool FrameScanner::NextClassified(FrameView* out) {
  while (pos_ + kFrameHeaderSize <= end_) {
    const uint64_t at = pos_;
    const auto raw = std::span<const uint8_t, kFrameHeaderSize>(bytes_.data() + at,
                                                                kFrameHeaderSize);
    LoadKind(bytes_.data() + at);  // acquire: what follows the kind byte is read after it
    const FrameHeader h = DecodeFrameHeader(raw);
    const uint64_t room = end_ - at - kFrameHeaderSize;
    if (h.kind == FragmentKind::kNone) {
      if (open_) {
        // Zeros: the end of what was written. Anything else here is a frame the writer had
        // begun (its kind byte is stored last) when it stopped.
        const uint64_t claimed = h.length <= room ? kFrameHeaderSize + h.length : end_ - at;
        if (!AllZero(bytes_.subspan(at, claimed))) {
          Report(at, claimed, CorruptionKind::kTornTail,
                 "frame of " + std::to_string(h.length) +
                     " bytes was being written when the writer stopped");
        }
      } else {
        Report(at, end_ - at, CorruptionKind::kBadType,
               "frame kind 0 inside the section's " + std::to_string(end_ - kSectionHeaderSize) +
                   " filled bytes; " + std::to_string(end_ - at) + " bytes dropped");
        damaged_ = true;
      }
      Stop();
      return false;
    }
    if (static_cast<uint8_t>(h.kind) > static_cast<uint8_t>(FragmentKind::kLast)) {
      Report(at, end_ - at, CorruptionKind::kBadType,
             "frame kind " + std::to_string(static_cast<int>(h.kind)) + " is not valid; " +
                 std::to_string(end_ - at) + " bytes dropped");
      damaged_ = true;
      Stop();
      return false;
    }
    if (h.length > room) {
      const bool torn = OnlyZerosAfter(end_);
      Report(at, end_ - at, torn ? CorruptionKind::kTornTail : CorruptionKind::kBadLength,
             "frame claims " + std::to_string(h.length) + " bytes; the section has " +
                 std::to_string(room) + " left");
      damaged_ = !torn;
      Stop();
      return false;
    }
    const auto payload = bytes_.subspan(at + kFrameHeaderSize, h.length);
    const uint64_t next = at + kFrameHeaderSize + h.length;
    bool crc_ok = true;
    if (options_.verify_checksums) {
      // One pass over header bytes 4..19 and the payload, which follow each other.
      const uint32_t actual = crc32c::Extend(seed_, bytes_.data() + at + 4,
                                             kFrameHeaderSize - 4 + h.length);
      if (actual != h.crc) {
        crc_ok = false;
        const bool torn = OnlyZerosAfter(next);
        Report(at, end_ - at, torn ? CorruptionKind::kTornTail : CorruptionKind::kChecksum,
               std::string(torn ? "last frame of an open section is incomplete" : "frame crc mismatch") +
                   ": stored " + Hex32(h.crc) + ", computed " + Hex32(actual) + " over " +
                   std::to_string(h.length) + " payload bytes; " + std::to_string(end_ - at) +
                   " bytes dropped");
        damaged_ = !torn;
        Stop();
        if (!options_.return_damaged) return false;
      }
    }
    if (crc_ok) {
      pos_ = next;
      ++frames_;
    }
    out->offset = base_ + at;
    out->header = h;
    out->payload = payload;
    out->crc_ok = crc_ok;
    return true;
  }
  if (pos_ != end_ && !damaged_) {
    const uint64_t left = end_ - pos_;
    if (!open_) {
      Report(pos_, left, CorruptionKind::kBadLength,
             std::to_string(left) + " bytes at the end of the filled area are too short for a frame");
      damaged_ = true;
    } else if (!AllZero(bytes_.subspan(pos_, left))) {
      Report(pos_, left, CorruptionKind::kTornTail,
             "a frame header was being written at the very end of the section");
    }
  }
  if (!open_ && !damaged_ && frames_ != section_->close->frame_count) {
    Report(0, 0, CorruptionKind::kBadSection,
           "close block counts " + std::to_string(section_->close->frame_count) +
               " frames; the section holds " + std::to_string(frames_));
  }
  pos_ = end_;
  return false;
}

}  // namespace slablog
