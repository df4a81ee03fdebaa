// The body of a compressed section (man slablog.5, Compressed sections): a section's frames
// stored as columns, the CRCs as they are and the rest in one zstd frame. Columns compress far
// better than frames back to back: the CRCs, four random bytes per frame, no longer break up the
// matches between payloads, and timestamps stored as differences are mostly zeros.
//
//   stored:  | CRC of every frame (4 B each) | zstd frame |
//   zstd frame content (raw_size bytes):
//            | lengths (4 B each) | timestamp differences (8 B each) | kind+index words (4 B each) |
//            | payloads, back to back |
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "slablog/format.h"

namespace slablog {

class SectionCodec {
 public:
  SectionCodec();
  ~SectionCodec();
  SectionCodec(const SectionCodec&) = delete;
  SectionCodec& operator=(const SectionCodec&) = delete;

  // Encodes `frames` (whole frames back to back, as in a section; `frame_count` of them) at zstd
  // `level` into `stored`; sets `raw_size`. False only if zstd fails (out of memory).
  bool Encode(std::span<const uint8_t> frames, uint64_t frame_count, int level,
              std::vector<uint8_t>* stored, uint32_t* raw_size);

  // Decodes the stored bytes of a closed compressed section whose close block is `close` and
  // frame seed `seed` into `out`: kSectionHeaderSize bytes left for the caller, then the frames
  // back to back exactly as they were encoded (their own CRCs unchecked here). Returns why the
  // section cannot be decoded, or nullopt. Never allocates more than kMaxCompressedSectionRaw
  // plus the frames' headers, whatever the header claims.
  std::optional<std::string> Decode(std::span<const uint8_t> stored, const SectionClose& close,
                                    uint32_t seed, std::vector<uint8_t>* out);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
  std::vector<uint8_t> columns_;  // raw columns, before compression or after decompression
};

// The CRC32C of a compressed section's stored bytes (SectionClose::data_crc).
uint32_t StoredDataCrc(uint32_t seed, std::span<const uint8_t> stored);

}  // namespace slablog
