#include "compressed_section.h"

#include <zstd.h>

#include <cstring>

#include "coding.h"
#include "crc32c.h"

namespace slablog {
namespace {

using coding::Load;
using coding::Store;

constexpr size_t kCrcBytes = 4;
constexpr size_t kLengthBytes = 4;
constexpr size_t kTimeBytes = 8;
constexpr size_t kKindBytes = 4;
constexpr size_t kColumnBytesPerFrame = kLengthBytes + kTimeBytes + kKindBytes;  // 16
static_assert(kCrcBytes + kColumnBytesPerFrame == kFrameHeaderSize);

}  // namespace

struct SectionCodec::Contexts {
  ZSTD_CCtx* cctx = nullptr;
  ZSTD_DCtx* dctx = nullptr;
  ~Contexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

SectionCodec::SectionCodec() : contexts_(std::make_unique<Contexts>()) {}
SectionCodec::~SectionCodec() = default;

uint32_t StoredDataCrc(uint32_t seed, std::span<const uint8_t> stored) {
  return crc32c::Extend(seed, stored.data(), stored.size());
}

bool SectionCodec::Encode(std::span<const uint8_t> frames, uint64_t frame_count, int level,
                          std::vector<uint8_t>* stored, uint32_t* raw_size) {
  const uint64_t payload = frames.size() - frame_count * kFrameHeaderSize;
  const uint64_t raw = frame_count * kColumnBytesPerFrame + payload;
  columns_.resize(raw);
  const size_t crc_bytes = frame_count * kCrcBytes;
  stored->resize(crc_bytes + ZSTD_compressBound(raw));
  uint8_t* crcs = stored->data();
  uint8_t* lengths = columns_.data();
  uint8_t* times = lengths + frame_count * kLengthBytes;
  uint8_t* kinds = times + frame_count * kTimeBytes;
  uint8_t* payloads = kinds + frame_count * kKindBytes;
  int64_t previous = 0;
  const uint8_t* p = frames.data();
  for (uint64_t i = 0; i < frame_count; ++i) {
    const uint32_t length = Load<uint32_t>(p + 4);
    const int64_t t = Load<int64_t>(p + 8);
    std::memcpy(crcs + i * kCrcBytes, p, kCrcBytes);
    Store<uint32_t>(lengths + i * kLengthBytes, length);
    // Differences wrap as unsigned numbers, so any two timestamps have one.
    Store<uint64_t>(times + i * kTimeBytes, static_cast<uint64_t>(t) - static_cast<uint64_t>(previous));
    std::memcpy(kinds + i * kKindBytes, p + 16, kKindBytes);
    std::memcpy(payloads, p + kFrameHeaderSize, length);
    payloads += length;
    previous = t;
    p += kFrameHeaderSize + length;
  }
  if (contexts_->cctx == nullptr) contexts_->cctx = ZSTD_createCCtx();
  if (contexts_->cctx == nullptr) return false;
  const size_t n = ZSTD_compressCCtx(contexts_->cctx, stored->data() + crc_bytes, stored->size() - crc_bytes,
                                     columns_.data(), raw, level);
  if (ZSTD_isError(n)) return false;
  stored->resize(crc_bytes + n);
  *raw_size = static_cast<uint32_t>(raw);
  return true;
}

std::optional<std::string> SectionCodec::Decode(std::span<const uint8_t> stored, const SectionClose& close,
                                                uint32_t seed, std::vector<uint8_t>* out) {
  if (stored.size() != close.filled) {
    return "compressed section holds " + std::to_string(stored.size()) + " of its " +
           std::to_string(close.filled) + " stored bytes (the file is cut short)";
  }
  if (StoredDataCrc(seed, stored) != close.data_crc) {
    return "compressed section's data fails its CRC (" + std::to_string(stored.size()) + " stored bytes)";
  }
  // From here on the bytes are the ones written: anything inconsistent is a writer's fault, or a
  // header crafted to be; either way it is refused before anything is allocated by its numbers.
  const uint64_t n = close.frame_count;
  const uint64_t raw = close.raw_size;
  if (n == 0 || raw > kMaxCompressedSectionRaw || n > raw / kColumnBytesPerFrame || n * kCrcBytes > stored.size() ||
      raw - n * kColumnBytesPerFrame != close.payload_bytes) {
    return "compressed section's counts disagree (" + std::to_string(n) + " frames, " + std::to_string(raw) +
           " raw bytes, " + std::to_string(close.payload_bytes) + " payload bytes)";
  }
  const std::span<const uint8_t> crcs = stored.first(n * kCrcBytes);
  const std::span<const uint8_t> zframe = stored.subspan(n * kCrcBytes);
  const unsigned long long content = ZSTD_getFrameContentSize(zframe.data(), zframe.size());
  if (content != raw || ZSTD_findFrameCompressedSize(zframe.data(), zframe.size()) != zframe.size()) {
    return "compressed section's zstd frame is not the one its header describes";
  }
  if (contexts_->dctx == nullptr) contexts_->dctx = ZSTD_createDCtx();
  if (contexts_->dctx == nullptr) return "out of memory for a zstd context";
  columns_.resize(raw);
  const size_t got = ZSTD_decompressDCtx(contexts_->dctx, columns_.data(), raw, zframe.data(), zframe.size());
  if (ZSTD_isError(got) || got != raw) {
    return std::string("compressed section does not decompress: ") +
           (ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short content");
  }
  const uint8_t* lengths = columns_.data();
  const uint8_t* times = lengths + n * kLengthBytes;
  const uint8_t* kinds = times + n * kTimeBytes;
  const uint8_t* payloads = kinds + n * kKindBytes;
  uint64_t payload_left = close.payload_bytes;
  out->resize(kSectionHeaderSize + n * kFrameHeaderSize + close.payload_bytes);
  uint8_t* o = out->data() + kSectionHeaderSize;
  uint64_t t = 0;
  uint64_t records = 0;  // FULL and LAST frames, which end a record
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t length = Load<uint32_t>(lengths + i * kLengthBytes);
    if (length > payload_left) return "compressed section's frame lengths exceed its payload bytes";
    payload_left -= length;
    t += Load<uint64_t>(times + i * kTimeBytes);
    const uint8_t kind = kinds[i * kKindBytes];
    records += (kind == static_cast<uint8_t>(FragmentKind::kFull) || kind == static_cast<uint8_t>(FragmentKind::kLast)) ? 1 : 0;
    // The header's time range and counts are what export --since and info trust without
    // decoding: they must be the frames'.
    if (i == 0 && static_cast<int64_t>(t) != close.first_t) return "compressed section's first_t is not its first frame's";
    std::memcpy(o, crcs.data() + i * kCrcBytes, kCrcBytes);
    Store<uint32_t>(o + 4, length);
    Store<uint64_t>(o + 8, t);
    std::memcpy(o + 16, kinds + i * kKindBytes, kKindBytes);
    std::memcpy(o + kFrameHeaderSize, payloads, length);
    payloads += length;
    o += kFrameHeaderSize + length;
  }
  if (payload_left != 0) return "compressed section's frame lengths fall short of its payload bytes";
  if (static_cast<int64_t>(t) != close.last_t) return "compressed section's last_t is not its last frame's";
  if (records != close.record_count) {
    return "compressed section's header counts " + std::to_string(close.record_count) + " records, its frames end " +
           std::to_string(records);
  }
  return std::nullopt;
}

}  // namespace slablog
