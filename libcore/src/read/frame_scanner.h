// Reads the frames of one section and classifies every byte it cannot return: a bad CRC, a
// length past the section, an invalid kind, or the torn frame a crash leaves at a section's end.
// After a damaged frame the rest of the section is dropped: its length field cannot be trusted.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <utility>

#include "coding.h"
#include "crc32c.h"
#include "fault_guard.h"
#include "slab_walker.h"
#include "slablog/reader.h"

namespace slablog {

struct FrameBatch;  // frame_scanner.cc

class FrameScanner {
 public:
  struct Options {
    bool verify_checksums = true;
    bool return_damaged = false;  // also return the frame whose CRC fails (for dump)
  };

  FrameScanner(CorruptionSink* sink, Options options) : sink_(sink), options_(options) {}

  // Starts on a section: `bytes` is the section as present in the file, `file_offset` where it
  // starts, `seed` its CRC seed.
  // `from`: where in `bytes` the first frame to read starts (after the section's header, or
  // where an earlier read of the same section stopped, after `frames_before` frames).
  void Start(const std::string& file, const SectionInfo& section, std::span<const uint8_t> bytes,
             uint32_t seed, uint64_t from = kSectionHeaderSize, uint64_t frames_before = 0);
  // For the section just started: a helper thread has checked its CRCs, so they are not checked
  // again, unless a read of the file faults (`fault_word`, MappedFile::fault_word): the file may
  // have been cut or failed since, and the bytes the helper checked read as zeros now. Then the
  // CRCs are checked again from the frame where that is seen on.
  void TrustHelperCheck(const std::atomic<uint64_t>* fault_word) {
    verify_ = false;
    fault_word_ = fault_word;
  }
  bool Next(FrameView* out) { return NextIntact(out) || NextClassified(out); }
  // Whether the section had damage anywhere (not a torn tail).
  bool damaged() const { return damaged_; }
  uint64_t frames() const { return frames_; }

  // The common case, inline: a frame whose kind, length and CRC are all right. Anything else is
  // left to NextClassified, which looks at the same frame again and says what is wrong with it.
  // With kFullOnly, only a whole record (FULL, fragment 0) is taken: nearly every frame, and
  // knowing its kind frees the reading loop of the values the other kinds need.
  template <bool kFullOnly = false>
  bool NextIntact(FrameView* out) {
    if (pos_ + kFrameHeaderSize > end_) return false;
    const uint8_t* p = bytes_.data() + pos_;
    const uint8_t kind = LoadKind(p);
    const uint32_t length = coding::Load<uint32_t>(p + 4);
    if constexpr (kFullOnly) {
      // Kind and fragment index share a word: FULL with fragment 0 is the word 1. The kind read
      // with acquire order is tested too: only once it is set are the other bytes the writer's.
      if (kind != static_cast<uint8_t>(FragmentKind::kFull) ||
          coding::Load<uint32_t>(p + 16) != static_cast<uint8_t>(FragmentKind::kFull)) {
        return false;
      }
    } else {
      if (!WellFormed(kind, FragmentIndex(p), length)) return false;
    }
    if (length > end_ - pos_ - kFrameHeaderSize) return false;
    const uint32_t stored = coding::Load<uint32_t>(p);
    if (!verify_) [[unlikely]] RecheckIfFaulted(p, kFrameHeaderSize + length);
    if (verify_ && pos_ >= checked_until_) {
      CheckAhead();
      // One pass over header bytes 4..19 and the payload, which follow each other.
      if (pos_ >= checked_until_ && crc32c::Extend(seed_, p + 4, kFrameHeaderSize - 4 + length) != stored) {
        return false;
      }
    }
    out->offset = base_ + pos_;
    out->header = FrameHeader{stored, length, coding::Load<int64_t>(p + 8), static_cast<FragmentKind>(kind),
                              kFullOnly ? 0 : FragmentIndex(p)};
    if constexpr (kFullOnly) {
      out->payload = {p + kFrameHeaderSize, length};
    } else {
      SetPayload(p, out);
    }
    out->crc_ok = true;
    pos_ += kFrameHeaderSize + length;
    ++frames_;
    return true;
  }
  static uint32_t FragmentIndex(const uint8_t* frame) { return coding::Load<uint32_t>(frame + 16) >> 8; }
  // Whether a frame's kind, fragment index and length are ones a writer lays down: FULL and FIRST
  // are fragment 0 (a FIRST holds at least its record's length), MIDDLE and LAST are not.
  static bool WellFormed(uint8_t kind, uint32_t index, uint32_t length) {
    if (kind == static_cast<uint8_t>(FragmentKind::kFull)) [[likely]] return index == 0;
    if (kind == static_cast<uint8_t>(FragmentKind::kFirst)) return index == 0 && length >= kFirstPrefixSize;
    return (kind == static_cast<uint8_t>(FragmentKind::kMiddle) || kind == static_cast<uint8_t>(FragmentKind::kLast)) &&
           index != 0;
  }
  // Damage was skipped since the frame returned before the one just returned: a record in
  // progress cannot continue across it. Reading resets it.
  bool TakeGap() { return std::exchange(gap_, false); }
  // The section's frames ended at damage (nothing intact after it), not at a torn tail or its end.
  bool damaged_at_end() const { return damaged_at_end_; }
  // Once the section's frames are read: where its last frame read ends (a file offset).
  uint64_t frames_end() const { return base_ + frames_end_; }
  // What SkipFullFrames or CheckRest went past: frames, and of them the FULL ones (whole records)
  // and their payload bytes.
  struct Tally {
    uint64_t frames = 0;
    uint64_t full_frames = 0;
    uint64_t full_payload_bytes = 0;
  };
  // For a caller that only counts records: moves past the intact FULL frames from here on (their
  // CRCs checked several at once). It stops before any other frame, which Next then returns or
  // classifies.
  Tally SkipFullFrames();
  // For a helper that only judges: checks the CRCs of all the frames left, the same way. True when
  // every one is intact and they fill the section to where its frames end; false leaves the
  // section to Next to say what is wrong.
  bool CheckRest(Tally* tally);

  // Next() in its two halves, for a caller that keeps the frame in registers: a FrameView whose
  // address went to the out-of-line half would be stored field by field and loaded back whole,
  // which stalls store forwarding on every record.
  bool NextClassified(FrameView* out);

 private:
  // The writer stores a frame's kind byte last, with release order; read with acquire order, the
  // rest of a frame whose kind is set is there too (never loads hoisted above it).
  static uint8_t LoadKind(const uint8_t* frame) {
    return std::atomic_ref<uint8_t>(const_cast<uint8_t&>(frame[16])).load(std::memory_order_acquire);
  }

  // Checks the CRCs of the small frames from pos_ on, several at once (crc32c::ExtendEach), and
  // moves checked_until_ past those found intact. It stops at anything NextIntact would not
  // accept, which NextIntact then looks at on its own.
  void CheckAhead();
  // Up to a batch of the frames from `at` on that the walk may take: any valid kind, or with
  // kFullOnly FULL frames only. A frame too large to share a batch ends it, or comes alone.
  template <bool kFullOnly>
  void FillBatch(uint64_t at, FrameBatch* batch) const;
  // SkipFullFrames, or without kFullOnly any kind of intact frame.
  template <bool kFullOnly>
  void SkipIntact(Tally* tally);
  void Report(uint64_t at, uint64_t dropped, CorruptionKind kind, std::string detail);
  // The payload of the frame at `p` (known well formed): a FIRST's starts after its length prefix.
  static void SetPayload(const uint8_t* p, FrameView* out) {
    const uint32_t length = out->header.length;
    if (out->header.kind == FragmentKind::kFirst) [[unlikely]] {
      out->payload = {p + kFrameHeaderSize + kFirstPrefixSize, length - kFirstPrefixSize};
    } else {
      out->payload = {p + kFrameHeaderSize, length};
    }
  }
  // The next intact frame that can start in the middle of a section (FULL or FIRST, its CRC
  // right) at or after `from`, or end_: where reading resumes after damage. Only such a frame
  // verifies with this section's seed, so nothing stale or foreign is ever taken. Sets
  // search_gave_up_ when it returns end_ without having looked at every offset.
  uint64_t FindIntactFrom(uint64_t from);
  // Where reading can go on after the unreadable frame at `at`: the next intact frame (or end_).
  // In an open section, not when a writer holds the log (what follows is its frame in progress)
  // or only zeros follow (nothing to find).
  uint64_t ResumeAfter(uint64_t at);
  // Damage at `at`: its bytes up to `resume` (the next intact frame, or end_) are reported as
  // dropped, and reading goes on there.
  void SkipDamage(uint64_t at, uint64_t resume, CorruptionKind kind, const std::string& what);
  // The section is open and nothing but zeros follows [at, end_): the frame at `at` is the one
  // the writer was in the middle of when it stopped.
  bool OnlyZerosAfter(uint64_t frame_end) const;
  // Checks CRCs again (from this frame on) if a read of the file has faulted. Every page of the
  // frame at `p` is read first, so that a fault under the frame itself is seen before the frame is
  // returned unchecked: one load per page, where a CRC would read every byte.
  // Out of line: NextIntact, inlined into every reading loop, stays small.
  void RecheckIfFaulted(const uint8_t* p, uint64_t size);
  void RecheckAfterFault() {
    if (fault_word_->load(std::memory_order_acquire) != fault_guard::kNoFault) [[unlikely]] {
      verify_ = options_.verify_checksums;
      checked_until_ = 0;
    }
  }
  static constexpr uint64_t kPageStride = 4096;  // the smallest page size: no page is stepped over
  // No more frames here: pos_ was just past the last frame read (or at damage dropped to the end).
  // The first stop counts: the scan's end (NextClassified) stops again.
  void Stop() {
    if (frames_end_ == kNotStopped) frames_end_ = pos_;
    pos_ = end_;
  }
  static constexpr uint64_t kNotStopped = UINT64_MAX;

  CorruptionSink* sink_;
  Options options_;
  const std::string* file_ = nullptr;
  const SectionInfo* section_ = nullptr;
  std::span<const uint8_t> bytes_;
  uint64_t base_ = 0;   // file offset of bytes_[0]
  uint64_t pos_ = 0;    // index into bytes_
  uint64_t end_ = 0;    // index into bytes_ where frames stop
  uint64_t checked_until_ = 0;  // frames that start below this index passed CheckAhead
  uint32_t seed_ = 0;
  bool open_ = false;
  bool verify_ = true;
  const std::atomic<uint64_t>* fault_word_ = nullptr;  // read when verify_ is false
  bool damaged_ = false;
  bool damaged_at_end_ = false;
  bool gap_ = false;
  bool search_gave_up_ = false;  // the last search for an intact frame stopped at its bound
  uint64_t search_budget_ = 0;   // bytes the section's searches may still run CRCs over
  uint64_t frames_end_ = kNotStopped;  // index into bytes_ where the frames read ended (Stop)
  uint64_t frames_ = 0;
};

}  // namespace slablog
