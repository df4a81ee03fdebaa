// Helper threads that check frame CRCs of sections ahead of a Reader. Each walks the log's
// section headers on its own and checks the sections given to it (ordinal modulo the number of
// helpers); the reader then skips the CRCs of sections a helper found intact. Any section a
// helper has not finished, or found damaged, the reader checks itself, so reports stay exact
// and in order.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "compressed_section.h"
#include "frame_scanner.h"
#include "mapped_file.h"

namespace slablog {

class CrcHelpers {
 public:
  // Null when no thread can be started. With `reader_shares`, the reader checks every
  // (threads + 1)th section itself: right when it only counts records, as it then skips the
  // sections helpers checked and would otherwise only wait for them (verify on two cores: 1.7
  // times one core). Without, helpers try every section: right when the reader has work of its
  // own for each record (reading every record on two cores: 44 ms against 49 to 54 sharing).
  // With `decode_compressed`, helpers also decode the compressed sections a little ahead of the
  // reader (at most kDecodeAhead of them) and check their frames; the reader takes the frames
  // (TakeDecoded) instead of decoding them itself. Without, they leave compressed sections to the
  // reader, which decodes only those it reads (not those a time window skips).
  static std::unique_ptr<CrcHelpers> Start(const std::vector<MappedFile>* files,
                                           std::optional<uint32_t> first_index, unsigned threads,
                                           bool reader_shares, bool decode_compressed = false);
  ~CrcHelpers();
  CrcHelpers(const CrcHelpers&) = delete;
  CrcHelpers& operator=(const CrcHelpers&) = delete;

  // Called by the reader as it reaches the section with this ordinal (0, 1, 2, ... in walk
  // order): true when a helper checked every frame CRC in it and found all intact. A section a
  // helper is checking is waited for; one no helper has begun is the reader's (false), and no
  // helper starts it after this. So no section is checked twice, and the reader and helpers
  // share the work however their speeds compare.
  // The reader calls it for every section, in order, also for those it does not read (pass
  // nullptr): a helper may still be decoding one into decoded_[ordinal % kDecodeAhead], which a
  // helper reuses for the section kDecodeAhead further once the reader has gone past it.
  // With true, `tally` says what the section holds. `section` is where the reader found the
  // section in the mapped files: a helper's verdict on any other counts for nothing.
  bool Verified(uint64_t ordinal, const uint8_t* section, FrameScanner::Tally* tally);
  // After Verified(ordinal, ...) returned true for a compressed section: its frames as the
  // helper decoded them (kSectionHeaderSize bytes, then the frames), swapped with `buffer`.
  void TakeDecoded(uint64_t ordinal, std::vector<uint8_t>* buffer);

 private:
  CrcHelpers(const std::vector<MappedFile>* files, std::optional<uint32_t> first_index, unsigned threads,
             bool reader_shares, bool decode_compressed);
  // Decodes the walker's compressed section into its buffer and checks its frames.
  bool DecodeAndCheck(const SlabWalker& walker, SectionCodec* codec, FrameScanner* scanner, uint64_t ordinal,
                      FrameScanner::Tally* tally);
  void Run(unsigned index);
  // A helper takes a section to check; false when the reader already has it.
  bool Claim(uint64_t ordinal);

  // How far ahead of the reader the helpers go; also the size of the verdict ring.
  static constexpr uint64_t kAhead = 4096;
  // How far ahead compressed sections are decoded: each holds its frames in memory until read.
  static constexpr uint64_t kDecodeAhead = 4;

  const std::vector<MappedFile>* files_;
  std::optional<uint32_t> first_index_;
  unsigned count_;
  bool reader_shares_;
  bool decode_compressed_;
  // Compressed section i's frames, decoded by a helper, at [i % kDecodeAhead].
  std::unique_ptr<std::vector<uint8_t>[]> decoded_;
  std::atomic<uint64_t> reader_at_{0};
  std::atomic<bool> stop_{false};
  // Who has section i, or its verdict: (i << 2) | one of these, or kNone.
  static constexpr uint64_t kReaderChecking = 0, kHelperChecking = 1, kIntact = 2, kDamaged = 3;
  static constexpr uint64_t kNone = ~uint64_t{0};
  // Section i's place, at [i % kAhead]. `tally` and `section` are written before the verdict.
  struct Slot {
    std::atomic<uint64_t> verdict{kNone};
    FrameScanner::Tally tally;        // what the section holds
    const uint8_t* section = nullptr;  // where the section judged was
  };
  std::unique_ptr<Slot[]> slots_;
  std::vector<pthread_t> threads_;
};

}  // namespace slablog
