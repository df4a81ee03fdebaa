#include "slablog/format.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include "coding.h"
#include "crc32c.h"
#include "decode_hooks.h"

namespace slablog {

namespace decode_hooks {
namespace detail {
std::atomic<Hook> g_after_section_crc_checked{nullptr};
}  // namespace detail
void SetAfterSectionCrcChecked(Hook hook) {
  detail::g_after_section_crc_checked.store(hook, std::memory_order_release);
}
}  // namespace decode_hooks

namespace {

using coding::Load;
using coding::Store;

// The two CRCs of a section header are seeded with the log id, so a section copied from another
// log (or left over from an earlier log in a reused file) never verifies.
uint32_t LogSeed(const LogId& id) { return crc32c::Value(id.data(), id.size()); }

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

const char* FragmentKindName(FragmentKind kind) {
  switch (kind) {
    case FragmentKind::kNone: return "NONE";
    case FragmentKind::kFull: return "FULL";
    case FragmentKind::kFirst: return "FIRST";
    case FragmentKind::kMiddle: return "MIDDLE";
    case FragmentKind::kLast: return "LAST";
  }
  return "INVALID";
}

const char* EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kBinary: return "binary";
    case Encoding::kText: return "text";
    case Encoding::kJson: return "json";
  }
  return "unknown";
}

std::optional<Encoding> ParseEncoding(std::string_view name) {
  if (name == "binary") return Encoding::kBinary;
  if (name == "text") return Encoding::kText;
  if (name == "json") return Encoding::kJson;
  return std::nullopt;
}

std::string LogIdHex(const LogId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (uint8_t b : id) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

void EncodeSlabHeader(const SlabHeader& h, std::span<uint8_t, kSlabHeaderSize> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, kSlabHeaderSize);
  std::memcpy(p, kSlabMagic.data(), kSlabMagic.size());
  Store<uint16_t>(p + 8, h.version);
  Store<uint16_t>(p + 10, static_cast<uint16_t>(kSlabHeaderSize));
  Store<uint32_t>(p + 12, h.page_size);
  std::memcpy(p + 16, h.log_id.data(), h.log_id.size());
  Store<uint32_t>(p + 32, h.slab_index);
  Store<uint32_t>(p + 36, h.flags);
  Store<uint64_t>(p + 40, h.capacity);
  Store<int64_t>(p + 48, h.created_ns);
  Store<uint32_t>(p + 60, crc32c::Value(p, 60));
}

bool HasSlabMagic(std::span<const uint8_t> in) {
  return in.size() >= kSlabMagic.size() &&
         std::memcmp(in.data(), kSlabMagic.data(), kSlabMagic.size()) == 0;
}

namespace {

// Magic and CRC right: the header is as its writer meant it, whatever it says.
bool SlabHeaderVerifies(std::span<const uint8_t> in) {
  return in.size() >= kSlabHeaderSize && HasSlabMagic(in) &&
         Load<uint32_t>(in.data() + 60) == crc32c::Value(in.data(), 60);
}

}  // namespace

std::optional<std::string> UnsupportedSlab(std::span<const uint8_t> in) {
  if (!SlabHeaderVerifies(in)) return std::nullopt;
  const uint16_t version = Load<uint16_t>(in.data() + 8);
  const uint32_t flags = Load<uint32_t>(in.data() + 36);
  if (version > kFormatVersion) {
    return "format version " + std::to_string(version) + " is newer than this slablog reads (" +
           std::to_string(kFormatVersion) + "); a newer slablog reads it";
  }
  if (version < kFormatVersion) {
    return "format version " + std::to_string(version) + " is older than this slablog reads (" +
           std::to_string(kFormatVersion) + ")";
  }
  if ((flags & kIncompatibleFlagsMask & ~kKnownIncompatibleFlags) != 0) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%08x", flags & kIncompatibleFlagsMask & ~kKnownIncompatibleFlags);
    return std::string("slab uses features this slablog does not know (incompatible flags ") + hex +
           "); a newer slablog reads it";
  }
  return std::nullopt;
}

std::optional<SlabHeader> DecodeSlabHeader(std::span<const uint8_t> in) {
  if (!SlabHeaderVerifies(in) || UnsupportedSlab(in)) return std::nullopt;
  const uint8_t* p = in.data();
  SlabHeader h;
  h.version = Load<uint16_t>(p + 8);
  h.page_size = Load<uint32_t>(p + 12);
  std::memcpy(h.log_id.data(), p + 16, h.log_id.size());
  h.slab_index = Load<uint32_t>(p + 32);
  h.flags = Load<uint32_t>(p + 36);
  h.capacity = Load<uint64_t>(p + 40);
  h.created_ns = Load<int64_t>(p + 48);
  // A header whose CRC verifies but whose fields are out of range was written by a broken
  // writer: its layout cannot be trusted.
  if (Load<uint16_t>(p + 10) != kSlabHeaderSize || Load<uint32_t>(p + 56) != 0) return std::nullopt;
  if (!IsPowerOfTwo(h.page_size) || h.page_size < kMinPageSize || h.page_size > kMaxPageSize) {
    return std::nullopt;
  }
  if (h.capacity < 2 * uint64_t{h.page_size} || h.capacity % h.page_size != 0) return std::nullopt;
  return h;
}

LogId SectionKey(const LogId& log_id, uint32_t slab_index, uint32_t slab_flags) {
  LogId key = log_id;
  if ((slab_flags & kSlabFlagRing) != 0) {
    for (int b = 0; b < 4; ++b) key[12 + static_cast<size_t>(b)] ^= static_cast<uint8_t>(slab_index >> (8 * b));
  }
  return key;
}

void EncodeSectionOpen(const LogId& id, const SectionOpen& s, std::span<uint8_t, 32> out) {
  uint8_t* p = out.data();
  std::memcpy(p, kSectionMagic.data(), kSectionMagic.size());
  Store<uint32_t>(p + 8, s.stream_id);
  Store<uint32_t>(p + 12, s.flags);
  Store<uint64_t>(p + 16, s.seq);
  Store<uint64_t>(p + 24, s.size);
  Store<uint32_t>(p + 4, crc32c::Extend(LogSeed(id), p + 8, 24));
}

std::optional<SectionOpen> DecodeSectionOpen(const LogId& id, std::span<const uint8_t> in) {
  if (in.size() < 32) return std::nullopt;
  const uint8_t* p = in.data();
  // Writers store the magic last with release order (headers are page-aligned, so the word is
  // too); loaded with acquire order, the header behind a magic that is set is whole.
  uint32_t magic;
  if (reinterpret_cast<uintptr_t>(p) % alignof(uint32_t) == 0) {
    magic = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(const_cast<uint8_t*>(p)))
                .load(std::memory_order_acquire);
  } else {
    std::memcpy(&magic, p, 4);
  }
  if (std::memcmp(&magic, kSectionMagic.data(), kSectionMagic.size()) != 0) return std::nullopt;
  if (Load<uint32_t>(p + 4) != crc32c::Extend(LogSeed(id), p + 8, 24)) return std::nullopt;
  decode_hooks::AfterSectionCrcChecked(p);
  const uint32_t flags = Load<uint32_t>(p + 12);
  if (flags != 0 && flags != kSectionFlagZstd) return std::nullopt;
  SectionOpen s;
  s.stream_id = Load<uint32_t>(p + 8);
  s.flags = flags;
  // The catalog and the end marker are never compressed.
  if (s.compressed() && (s.stream_id == kCatalogStream || s.stream_id == kEndStream)) return std::nullopt;
  s.seq = Load<uint64_t>(p + 16);
  s.size = Load<uint64_t>(p + 24);
  return s;
}

void EncodeSectionClose(const LogId& id, const SectionClose& c,
                        std::span<uint8_t, kSectionHeaderSize> header) {
  uint8_t* p = header.data();
  Store<uint32_t>(p + 36, 1);  // state: closed
  Store<uint64_t>(p + 40, c.filled);
  Store<uint64_t>(p + 48, c.frame_count);
  Store<uint64_t>(p + 56, c.record_count);
  Store<uint64_t>(p + 64, c.payload_bytes);
  Store<int64_t>(p + 72, c.first_t);
  Store<int64_t>(p + 80, c.last_t);
  Store<uint32_t>(p + 88, c.data_crc);
  Store<uint32_t>(p + 92, c.raw_size);
  uint32_t crc = crc32c::Extend(LogSeed(id), p, 32);
  crc = crc32c::Extend(crc, p + 36, kSectionHeaderSize - 36);
  Store<uint32_t>(p + 32, crc);
}

std::optional<SectionClose> DecodeSectionClose(const LogId& id, std::span<const uint8_t> header) {
  if (header.size() < kSectionHeaderSize) return std::nullopt;
  const uint8_t* p = header.data();
  if (Load<uint32_t>(p + 36) != 1) return std::nullopt;
  uint32_t crc = crc32c::Extend(LogSeed(id), p, 32);
  crc = crc32c::Extend(crc, p + 36, kSectionHeaderSize - 36);
  if (Load<uint32_t>(p + 32) != crc) return std::nullopt;
  // Reserved (zero) unless the header's flags say the section is compressed.
  const bool compressed = (Load<uint32_t>(p + 12) & kSectionFlagZstd) != 0;
  if (!compressed && Load<uint64_t>(p + 88) != 0) return std::nullopt;
  SectionClose c;
  if (compressed) {
    c.data_crc = Load<uint32_t>(p + 88);
    c.raw_size = Load<uint32_t>(p + 92);
  }
  c.filled = Load<uint64_t>(p + 40);
  c.frame_count = Load<uint64_t>(p + 48);
  c.record_count = Load<uint64_t>(p + 56);
  c.payload_bytes = Load<uint64_t>(p + 64);
  c.first_t = Load<int64_t>(p + 72);
  c.last_t = Load<int64_t>(p + 80);
  return c;
}

uint32_t SectionSeed(const LogId& id, uint32_t stream_id, uint64_t seq) {
  uint8_t buf[16 + 4 + 8];
  std::memcpy(buf, id.data(), 16);
  Store<uint32_t>(buf + 16, stream_id);
  Store<uint64_t>(buf + 20, seq);
  return crc32c::Value(buf, sizeof(buf));
}

FrameHeader DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize> in) {
  const uint8_t* p = in.data();
  FrameHeader h;
  h.crc = Load<uint32_t>(p);
  h.length = Load<uint32_t>(p + 4);
  h.timestamp = Load<int64_t>(p + 8);
  h.kind = static_cast<FragmentKind>(p[16]);
  h.index = Load<uint32_t>(p + 16) >> 8;
  return h;
}

uint32_t FrameCrc(uint32_t seed, std::span<const uint8_t, kFrameHeaderSize> header,
                  std::span<const uint8_t> payload) {
  uint32_t crc = crc32c::Extend(seed, header.data() + 4, kFrameHeaderSize - 4);
  return crc32c::Extend(crc, payload.data(), payload.size());
}

void EncodeCatalogEntry(const CatalogEntry& e, std::string* out) {
  uint8_t fixed[kCatalogEntryFixedSize];
  Store<uint32_t>(fixed, e.stream_id);
  fixed[4] = static_cast<uint8_t>(e.encoding);
  fixed[5] = 0;
  Store<uint16_t>(fixed + 6, static_cast<uint16_t>(e.name.size()));
  Store<uint32_t>(fixed + 8, e.type);
  out->append(reinterpret_cast<const char*>(fixed), sizeof(fixed));
  out->append(e.name);
}

std::optional<CatalogEntry> DecodeCatalogEntry(std::span<const uint8_t> in) {
  if (in.size() < kCatalogEntryFixedSize) return std::nullopt;
  const uint8_t* p = in.data();
  CatalogEntry e;
  e.stream_id = Load<uint32_t>(p);
  const uint8_t encoding = p[4];
  const uint16_t name_length = Load<uint16_t>(p + 6);
  e.type = Load<uint32_t>(p + 8);
  if (encoding > static_cast<uint8_t>(Encoding::kJson) || p[5] != 0) return std::nullopt;
  if (in.size() != kCatalogEntryFixedSize + name_length) return std::nullopt;
  if (e.stream_id == kCatalogStream || e.stream_id == kEndStream) return std::nullopt;
  e.encoding = static_cast<Encoding>(encoding);
  e.name.assign(reinterpret_cast<const char*>(p + kCatalogEntryFixedSize), name_length);
  return e;
}

void EncodeStreamPosition(const StreamPosition& p, std::string* out) {
  uint8_t b[kSlabStartPositionSize] = {};
  Store<uint32_t>(b, p.stream_id);
  b[4] = p.slab_index ? kSlabStartPositionMark : kStreamPositionMark;
  Store<uint64_t>(b + 8, p.next_seq);
  if (p.slab_index) Store<uint32_t>(b + 16, *p.slab_index);  // bytes 20..23 reserved, 0
  out->append(reinterpret_cast<const char*>(b), p.slab_index ? kSlabStartPositionSize : kStreamPositionSize);
}

std::optional<StreamPosition> DecodeStreamPosition(std::span<const uint8_t> in) {
  const bool of_slab = in.size() == kSlabStartPositionSize && in[4] == kSlabStartPositionMark;
  if (!of_slab && (in.size() != kStreamPositionSize || in[4] != kStreamPositionMark)) return std::nullopt;
  if (in[5] != 0 || in[6] != 0 || in[7] != 0) return std::nullopt;  // reserved
  if (of_slab && Load<uint32_t>(in.data() + 20) != 0) return std::nullopt;
  const uint32_t id = Load<uint32_t>(in.data());
  if (id == kCatalogStream || id == kEndStream) return std::nullopt;
  StreamPosition p{id, Load<uint64_t>(in.data() + 8), std::nullopt};
  if (of_slab) p.slab_index = Load<uint32_t>(in.data() + 16);
  return p;
}

std::string SlabPath(std::string_view base, uint32_t index) {
  const size_t slash = base.rfind('/');
  const size_t name_start = slash == std::string_view::npos ? 0 : slash + 1;
  size_t dot = base.rfind('.');
  // A dot that starts the file name (".slog") or is in a directory name is not an extension.
  if (dot == std::string_view::npos || dot <= name_start) dot = base.size();
  std::string out(base.substr(0, dot));
  out += '_';
  out += std::to_string(index);
  out += base.substr(dot);
  return out;
}

}  // namespace slablog
