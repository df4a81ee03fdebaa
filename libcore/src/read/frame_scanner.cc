#include "frame_scanner.h"

#include <algorithm>
#include <string>

#include "crc32c.h"

namespace slablog {

uint64_t FrameView::record_length() const {
  if (header.kind != FragmentKind::kFirst || payload.data() == nullptr) return 0;
  return coding::Load<uint64_t>(payload.data() - kFirstPrefixSize);
}
namespace {

std::string Hex32(uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x00000000";
  for (int i = 9; i >= 2; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

}  // namespace

void FrameScanner::Start(const std::string& file, const SectionInfo& section,
                         std::span<const uint8_t> bytes, uint32_t seed, uint64_t from,
                         uint64_t frames_before) {
  file_ = &file;
  section_ = &section;
  bytes_ = bytes;
  base_ = section.offset;
  seed_ = seed;
  open_ = !section.close.has_value();
  verify_ = options_.verify_checksums;
  // Never read unless a helper's check is trusted (TrustHelperCheck), or CRCs are not checked at
  // all: then nothing is checked again after a fault, and the fault guard reports it.
  static const std::atomic<uint64_t> kNeverFaulted{fault_guard::kNoFault};
  fault_word_ = &kNeverFaulted;
  damaged_ = false;
  damaged_at_end_ = false;
  gap_ = false;
  frames_ = frames_before;
  pos_ = std::min<uint64_t>(std::max<uint64_t>(from, kSectionHeaderSize), bytes.size());
  frames_end_ = kNotStopped;
  search_budget_ = 8 * bytes.size() + (uint64_t{1} << 20);
  end_ = bytes.size();
  checked_until_ = 0;
  if (!open_) {
    const uint64_t filled_end = kSectionHeaderSize + section.close->filled;
    if (filled_end > bytes.size()) {
      Report(bytes.size(), 0, CorruptionKind::kTornTail,
             "section's close block says " + std::to_string(section.close->filled) +
                 " filled bytes but the file ends " +
                 std::to_string(filled_end - bytes.size()) + " bytes short of them");
      damaged_ = damaged_at_end_ = true;
    } else {
      end_ = filled_end;
    }
  }
  pos_ = std::min(pos_, end_);  // a section read again from where it stopped may claim less now
}

namespace {

// Larger frames would leave the other lanes of crc32c::ExtendEach idle; ISA-L takes them one at a
// time.
constexpr uint32_t kLargestBatched = 480;
// Frames looked at per batch: two groups of crc32c::kEachMax, to spread the cost of a batch.
constexpr size_t kBatch = 2 * crc32c::kEachMax;

}  // namespace

// Frames whose CRCs are checked together: where their checked bytes are, what they claim, where
// they end, and which are FULL.
struct FrameBatch {
  const uint8_t* data[kBatch];
  size_t sizes[kBatch];
  uint32_t stored[kBatch];
  uint64_t ends[kBatch];
  uint32_t actual[kBatch];
  uint32_t full_mask = 0;
  size_t n = 0;

  void Add(const uint8_t* frame, uint32_t length, uint64_t end, bool full) {
    data[n] = frame + 4;  // header bytes 4..19 and the payload, which follow each other
    sizes[n] = kFrameHeaderSize - 4 + length;
    stored[n] = coding::Load<uint32_t>(frame);
    ends[n] = end;
    full_mask |= uint32_t{full} << n;
    ++n;
  }
  uint64_t payload(size_t i) const { return sizes[i] - (kFrameHeaderSize - 4); }
  bool full(size_t i) const { return (full_mask >> i & 1) != 0; }
  // How many frames from the first have the CRC they claim.
  size_t Check(uint32_t seed) {
    if (n == 1) {
      actual[0] = crc32c::Extend(seed, data[0], sizes[0]);
    } else {
      for (size_t i = 0; i < n; i += crc32c::kEachMax) {
        crc32c::ExtendEach(seed, data + i, sizes + i, std::min(n - i, crc32c::kEachMax), actual + i);
      }
    }
    size_t good = 0;
    while (good < n && actual[good] == stored[good]) ++good;
    return good;
  }
};

template <bool kFullOnly>
void FrameScanner::FillBatch(uint64_t at, FrameBatch* batch) const {
  constexpr auto kFull = static_cast<uint8_t>(FragmentKind::kFull);
  while (batch->n < kBatch && at + kFrameHeaderSize <= end_) {
    const uint8_t* p = bytes_.data() + at;
    const uint8_t kind = LoadKind(p);  // first: what a writer stored before it is then there
    const uint32_t length = coding::Load<uint32_t>(p + 4);
    // Kind and fragment index share a word: FULL with fragment 0, nearly every frame, is the word
    // 1 (after the kind read with acquire order: only once it is set are the other bytes there).
    const bool whole = kind == kFull && coding::Load<uint32_t>(p + 16) == kFull;
    if ((kFullOnly ? !whole : !whole && !WellFormed(kind, FragmentIndex(p), length)) ||
        length > end_ - at - kFrameHeaderSize || (length > kLargestBatched && batch->n > 0)) {
      return;
    }
    at += kFrameHeaderSize + length;
    batch->Add(p, length, at, kind == kFull);
    if (length > kLargestBatched) return;  // alone in its batch
  }
}

void FrameScanner::CheckAhead() {
  FrameBatch batch;
  FillBatch<false>(pos_, &batch);
  if (batch.n < 2) return;  // one frame alone is checked as fast where it is read
  const size_t good = batch.Check(seed_);
  if (good > 0) checked_until_ = batch.ends[good - 1];
}

FrameScanner::Tally FrameScanner::SkipFullFrames() {
  Tally tally;
  SkipIntact<true>(&tally);
  return tally;
}

bool FrameScanner::CheckRest(Tally* tally) {
  SkipIntact<false>(tally);
  return pos_ == end_;
}

template <bool kFullOnly>
void FrameScanner::SkipIntact(Tally* tally) {
  uint64_t frames = 0, full_frames = 0, full_bytes = 0;
  for (;;) {
    FrameBatch batch;
    FillBatch<kFullOnly>(pos_, &batch);
    if (!verify_) RecheckAfterFault();
    const size_t good = batch.n == 0 ? 0 : verify_ ? batch.Check(seed_) : batch.n;
    for (size_t i = 0; i < good; ++i) {
      if (!kFullOnly && !batch.full(i)) continue;
      ++full_frames;
      full_bytes += batch.payload(i);
    }
    if (good > 0) pos_ = batch.ends[good - 1];
    frames += good;
    // Stopped short: the frame at pos_ is not an intact one of the kind wanted, for Next to read.
    if (good == 0 || good < batch.n) break;
  }
  frames_ += frames;
  tally->frames += frames;
  tally->full_frames += full_frames;
  tally->full_payload_bytes += full_bytes;
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

void FrameScanner::RecheckIfFaulted(const uint8_t* p, uint64_t size) {
  const volatile uint8_t* v = p;
  for (uint64_t i = 0; i < size; i += kPageStride) (void)v[i];
  (void)v[size - 1];
  RecheckAfterFault();
}

uint64_t FrameScanner::FindIntactFrom(uint64_t from) {
  constexpr auto kFull = static_cast<uint8_t>(FragmentKind::kFull);
  constexpr auto kFirst = static_cast<uint8_t>(FragmentKind::kFirst);
  // Every offset could claim the rest of the section, which would make searching quadratic in
  // the section's size: the bytes all searches in a section may run CRCs over are bounded by a
  // multiple of its size (search_budget_). Past that (only payloads built to look like frame
  // headers get there) the search gives up, and the rest of the section counts as damage: not
  // finding a frame is not proof that none follows, so it must never pass for a torn tail.
  search_gave_up_ = false;
  for (uint64_t q = from; q + kFrameHeaderSize <= end_; ++q) {
    const uint8_t* p = bytes_.data() + q;
    // Cheap tests first: a kind of 1 or 2 and a zero fragment index (three zero bytes) rule out
    // nearly every offset of zeros or of other bytes before any CRC is computed. Nothing is
    // assumed about the bytes after the frame: after a power cut they may be anything.
    if ((p[16] != kFull && p[16] != kFirst) || p[17] != 0 || p[18] != 0 || p[19] != 0) continue;
    const uint32_t length = coding::Load<uint32_t>(p + 4);
    if (length > end_ - q - kFrameHeaderSize || (p[16] == kFirst && length < kFirstPrefixSize)) continue;
    const uint64_t cost = kFrameHeaderSize + length;
    if (cost > search_budget_) {
      search_gave_up_ = true;
      return end_;
    }
    search_budget_ -= cost;
    if (crc32c::Extend(seed_, p + 4, kFrameHeaderSize - 4 + length) == coding::Load<uint32_t>(p)) return q;
  }
  return end_;
}

uint64_t FrameScanner::ResumeAfter(uint64_t at) {
  if (open_ && (sink_->live() || OnlyZerosAfter(at + 1))) {
    search_gave_up_ = false;
    return end_;
  }
  return FindIntactFrom(at + 1);
}

void FrameScanner::SkipDamage(uint64_t at, uint64_t resume, CorruptionKind kind, const std::string& what) {
  damaged_ = true;
  if (resume == end_) {
    Report(at, end_ - at, kind,
           what + "; " + std::to_string(end_ - at) + " bytes dropped" +
               (search_gave_up_ ? " (the search for an intact frame after it reached its bound: "
                                  "too many bytes there look like frame headers)"
                                : ""));
    damaged_at_end_ = true;
    Stop();
    return;
  }
  Report(at, resume - at, kind,
         what + "; " + std::to_string(resume - at) + " bytes dropped up to the intact frame at offset " +
             std::to_string(base_ + resume));
  pos_ = resume;
  gap_ = true;
}

bool FrameScanner::NextClassified(FrameView* out) {
  while (pos_ + kFrameHeaderSize <= end_) {
    const uint64_t at = pos_;
    const auto raw = std::span<const uint8_t, kFrameHeaderSize>(bytes_.data() + at,
                                                                kFrameHeaderSize);
    // The kind as read with acquire order, not as decoded after it: a writer may store it between
    // the two reads, and the other fields, read after a kind of 0, may not be its yet (read as a
    // frame of 0 bytes with a CRC of 0, a live log's frame in progress was reported damaged).
    const uint8_t kind = LoadKind(bytes_.data() + at);
    FrameHeader h = DecodeFrameHeader(raw);
    h.kind = static_cast<FragmentKind>(kind);
    const uint64_t room = end_ - at - kFrameHeaderSize;
    // Each case below is either the end of an open section's frames (a torn tail: the writer
    // stopped there, or nothing after it survived) or damage, after which reading resumes at the
    // next intact frame. In an open section, intact frames after an unreadable one mean the frames
    // between were lost while later ones survived (a power cut): a hole, never a torn tail.
    if (h.kind == FragmentKind::kNone) {
      if (!open_) {
        SkipDamage(at, FindIntactFrom(at + 1), CorruptionKind::kBadType,
                   "frame kind 0 inside the section's " + std::to_string(end_ - kSectionHeaderSize) +
                       " filled bytes");
        if (pos_ != end_) continue;
        return false;
      }
      const uint64_t resume = ResumeAfter(at);
      // A search that gave up inside the frame's own bytes, with only zeros after them, still
      // leaves the frame the writer was writing (a payload may hold what looks like frames).
      const bool in_progress = h.length <= room && OnlyZerosAfter(at + kFrameHeaderSize + h.length);
      if (resume != end_ || (search_gave_up_ && !in_progress)) {
        SkipDamage(at, resume, CorruptionKind::kMissingData,
                   search_gave_up_ ? "bytes of an open section hold no frame, and what follows "
                                     "them is not zeros: records written here may have been lost"
                                   : "bytes of an open section hold no frame, yet intact frames of "
                                     "the stream follow: the records written here were lost");
        continue;
      }
      // Zeros: the end of what was written. Anything else here is a frame the writer had begun
      // (its kind byte is stored last) when it stopped.
      const uint64_t claimed = h.length <= room ? kFrameHeaderSize + h.length : end_ - at;
      if (!AllZero(bytes_.subspan(at, claimed))) {
        Report(at, claimed, CorruptionKind::kTornTail,
               "frame of " + std::to_string(h.length) + " bytes was being written when the writer stopped");
      }
      Stop();
      return false;
    }
    if (!WellFormed(static_cast<uint8_t>(h.kind), h.index, h.length)) {
      const auto kind_number = static_cast<int>(h.kind);
      SkipDamage(at, FindIntactFrom(at + 1), CorruptionKind::kBadType,
                 kind_number > static_cast<int>(FragmentKind::kLast)
                     ? "frame kind " + std::to_string(kind_number) + " is not valid"
                     : std::string(FragmentKindName(h.kind)) + " frame with fragment index " +
                           std::to_string(h.index) + " and length " + std::to_string(h.length) +
                           " is not one a writer lays down");
      if (pos_ != end_) continue;
      return false;
    }
    if (h.length > room) {
      const std::string what = "frame claims " + std::to_string(h.length) + " bytes; the section has " +
                               std::to_string(room) + " left";
      const uint64_t resume = open_ ? ResumeAfter(at) : FindIntactFrom(at + 1);
      if (open_ && resume == end_ && !search_gave_up_) {
        Report(at, end_ - at, CorruptionKind::kTornTail, what);
        Stop();
        return false;
      }
      SkipDamage(at, resume, CorruptionKind::kBadLength, what);
      if (pos_ != end_) continue;
      return false;
    }
    const uint64_t next = at + kFrameHeaderSize + h.length;
    bool crc_ok = true;
    if (options_.verify_checksums) {
      // One pass over header bytes 4..19 and the payload, which follow each other.
      const uint32_t actual = crc32c::Extend(seed_, bytes_.data() + at + 4,
                                             kFrameHeaderSize - 4 + h.length);
      if (actual != h.crc) {
        crc_ok = false;
        const std::string what = ": stored " + Hex32(h.crc) + ", computed " + Hex32(actual) +
                                 " over " + std::to_string(h.length) + " payload bytes";
        // Only zeros after it in an open section: the last frame, whose bytes did not all land.
        const bool last = OnlyZerosAfter(next);
        const uint64_t resume = last ? ResumeAfter(at) : FindIntactFrom(at + 1);
        // (A search that gave up did so inside this frame's bytes: only zeros follow them.)
        if (last && resume == end_) {
          Report(at, end_ - at, CorruptionKind::kTornTail,
                 "last frame of an open section is incomplete" + what + "; " +
                     std::to_string(end_ - at) + " bytes dropped");
          Stop();
        } else {
          SkipDamage(at, resume, CorruptionKind::kChecksum, "frame crc mismatch" + what);
        }
        // dump is shown the damaged frame too; reading then goes on from where it resumed.
        if (!options_.return_damaged) {
          if (pos_ != end_) continue;
          return false;
        }
      }
    }
    if (crc_ok) {
      pos_ = next;
      ++frames_;
    }
    out->offset = base_ + at;
    out->header = h;
    SetPayload(bytes_.data() + at, out);
    out->crc_ok = crc_ok;
    return true;
  }
  if (pos_ != end_ && !damaged_at_end_) {
    const uint64_t left = end_ - pos_;
    if (!open_) {
      Report(pos_, left, CorruptionKind::kBadLength,
             std::to_string(left) + " bytes at the end of the filled area are too short for a frame");
      damaged_ = damaged_at_end_ = true;
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
  Stop();
  return false;
}

}  // namespace slablog
