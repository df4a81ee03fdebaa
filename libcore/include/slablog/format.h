// On-disk format, version 2. The normative specification is man/slablog.5; this header gives the
// constants and the decoded form of each header, and the encoders/decoders used by both sides.
//
//  slab file:  +-------------+----------------+----------------+-----+------------+
//              | slab header | section        | section        | ... | end marker |  (end marker:
//              | 64 B, page 0| page-aligned   | page-aligned   |     | 96 B       |   clean close)
//              +-------------+----------------+----------------+-----+------------+
//  section:    | section header 96 B | frame | frame | ... | zeros to the section's size |
//  frame:      | crc u32 | length u32 | timestamp i64 | kind u8 | index u24 | payload (length B) |
//              (a FIRST frame's payload starts with the record's total length, u64)
//
// All integers are little-endian. A frame's CRC32C is seeded with the log id, stream id and
// section sequence number, so bytes from another log or an earlier use of the space never verify.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slablog/status.h"

namespace slablog {

using LogId = std::array<uint8_t, 16>;

inline constexpr uint16_t kFormatVersion = 2;
// Slab header flags: the low 16 bits name features a reader may ignore (compatible), the high 16
// bits features it must understand to read the slab (incompatible). A slab with an incompatible
// bit this version does not define is refused as written by a newer slablog.
inline constexpr uint32_t kIncompatibleFlagsMask = 0xFFFF0000;
// The slab belongs to a ring (WriterOptions::ring_slabs): slabs missing before it were recycled
// by the log's own writer, and its streams may start anywhere. Incompatible: a reader that does
// not know it would report the recycled slabs as lost.
inline constexpr uint32_t kSlabFlagRing = 0x00010000;
// The slab holds compressed sections (kSectionFlagZstd). Incompatible: a reader that does not know
// them would take their bytes for frames.
inline constexpr uint32_t kSlabFlagCompressed = 0x00020000;
inline constexpr uint32_t kKnownIncompatibleFlags = kSlabFlagRing | kSlabFlagCompressed;
// Section header flags (bytes 12..15). A compressed section stores its frames as one zstd frame
// (man slablog.5, Compressed sections); only slabs with kSlabFlagCompressed hold such sections.
inline constexpr uint32_t kSectionFlagZstd = 1;
// The most frame bytes a compressed section holds once decompressed: bounds what a reader
// allocates for one, whatever a damaged or hostile header claims.
inline constexpr uint64_t kMaxCompressedSectionRaw = uint64_t{64} << 20;
inline constexpr std::array<uint8_t, 8> kSlabMagic = {0x89, 'S', 'L', 'O', 'G', '\r', '\n', 0x1A};
inline constexpr std::array<uint8_t, 4> kSectionMagic = {'S', 'L', 'S', 'C'};

inline constexpr size_t kSlabHeaderSize = 64;
inline constexpr size_t kSectionHeaderSize = 96;
inline constexpr size_t kFrameHeaderSize = 20;
inline constexpr size_t kCatalogEntryFixedSize = 12;
// A FIRST frame's payload begins with the total length of its record (u64), so that a reader can
// prove the record whole when its LAST arrives.
inline constexpr size_t kFirstPrefixSize = 8;
// The fragment index (bytes 17..19 of a frame header) counts a record's fragments from 0.
inline constexpr uint32_t kMaxFragmentIndex = 0xFFFFFF;
inline constexpr uint32_t kMinPageSize = 4096;
inline constexpr uint32_t kMaxPageSize = 65536;
static_assert(kSlabHeaderSize == 8 + 2 + 2 + 4 + 16 + 4 + 4 + 8 + 8 + 4 + 4);
static_assert(kSectionHeaderSize == 32 + 64);
static_assert(kFrameHeaderSize == 4 + 4 + 8 + 1 + 3);
static_assert(kCatalogEntryFixedSize == 4 + 1 + 1 + 2 + 4);

// Reserved stream ids: 0 holds the catalog, the largest id marks a clean end of the log.
inline constexpr uint32_t kCatalogStream = 0;
inline constexpr uint32_t kEndStream = 0xFFFFFFFF;
// The largest record: the largest payload a frame's u32 length can state. The writer refuses
// larger ones; the reader reassembles no longer chain (which bounds the memory a damaged log can
// make it use).
inline constexpr uint64_t kMaxRecordBytes = 0xFFFFFFFF;
// The largest section a writer makes, so that any frame that fits in one section has a payload
// of at most kMaxRecordBytes.
inline constexpr uint64_t kMaxSectionBytes = uint64_t{1} << 32;
static_assert(kMaxSectionBytes - kSectionHeaderSize - kFrameHeaderSize <= kMaxRecordBytes);

enum class FragmentKind : uint8_t { kNone = 0, kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };
enum class Encoding : uint8_t { kBinary = 0, kText = 1, kJson = 2 };

const char* FragmentKindName(FragmentKind kind);
const char* EncodingName(Encoding encoding);
std::optional<Encoding> ParseEncoding(std::string_view name);
std::string LogIdHex(const LogId& id);

struct SlabHeader {
  uint16_t version = kFormatVersion;
  uint32_t flags = 0;       // see kIncompatibleFlagsMask
  uint32_t page_size = kMinPageSize;
  LogId log_id{};
  uint32_t slab_index = 0;
  uint64_t capacity = 0;    // bytes preallocated for the slab, a multiple of page_size
  int64_t created_ns = 0;   // wall-clock time the slab was created
};

// The part of a section header written once, when the section is allocated.
struct SectionOpen {
  uint32_t stream_id = 0;
  uint64_t seq = 0;         // the section's position in its stream: 0, 1, 2, ...
  uint64_t size = 0;        // bytes from the header's first byte to the next section
  uint32_t flags = 0;       // 0, or kSectionFlagZstd
  bool compressed() const { return (flags & kSectionFlagZstd) != 0; }
};

// The part written when the section is closed. Absent (all zero) while the section is open.
struct SectionClose {
  uint64_t filled = 0;          // bytes of frames after the header
  uint64_t frame_count = 0;
  uint64_t record_count = 0;    // records whose last fragment is in this section
  uint64_t payload_bytes = 0;   // sum of the frames' payload lengths
  int64_t first_t = 0;          // timestamp of the first frame
  int64_t last_t = 0;           // timestamp of the last frame
  // Compressed sections only (0 otherwise): `filled` is then the stored bytes after the header,
  // `data_crc` their CRC32C seeded with the section's frame seed, and `raw_size` the bytes of
  // the zstd frame's content.
  uint32_t data_crc = 0;
  uint32_t raw_size = 0;
};

struct FrameHeader {
  uint32_t crc = 0;
  uint32_t length = 0;      // payload bytes stored, a FIRST frame's length prefix included
  int64_t timestamp = 0;
  FragmentKind kind = FragmentKind::kNone;
  uint32_t index = 0;       // the fragment's number in its record: 0 for FULL and FIRST
};

struct CatalogEntry {
  uint32_t stream_id = 0;
  Encoding encoding = Encoding::kBinary;
  uint32_t type = 0;        // an application-defined number
  std::string name;
};

// Encoders write exactly the header's size into `out`. Decoders return nullopt when the magic,
// CRC or a field's range is wrong, or a reserved field is not zero; they never read past the span
// they are given.
void EncodeSlabHeader(const SlabHeader& h, std::span<uint8_t, kSlabHeaderSize> out);
// A slab header whose magic and CRC are right but that this version cannot read: written by a
// newer (or an older) slablog, or using an incompatible feature. Its message says which.
std::optional<std::string> UnsupportedSlab(std::span<const uint8_t> in);
std::optional<SlabHeader> DecodeSlabHeader(std::span<const uint8_t> in);
bool HasSlabMagic(std::span<const uint8_t> in);

// The id that section headers of a slab are encoded and checked with (the `id` below): the log
// id, except in a ring slab, where the slab index is xor-ed into its last four bytes. A ring reuses
// its own files, whose older sections are of the same log: bound to their slab, they never
// verify in the slab that reused the file.
LogId SectionKey(const LogId& log_id, uint32_t slab_index, uint32_t slab_flags);
inline LogId SectionKey(const LogId& log_id, const SlabHeader& slab) {
  return SectionKey(log_id, slab.slab_index, slab.flags);
}

void EncodeSectionOpen(const LogId& id, const SectionOpen& s, std::span<uint8_t, 32> out);
std::optional<SectionOpen> DecodeSectionOpen(const LogId& id, std::span<const uint8_t> in);
// `header` is the whole 96-byte header whose first 32 bytes are already encoded.
void EncodeSectionClose(const LogId& id, const SectionClose& c,
                        std::span<uint8_t, kSectionHeaderSize> header);
std::optional<SectionClose> DecodeSectionClose(const LogId& id, std::span<const uint8_t> header);

// The CRC32C seed of every frame in one section.
uint32_t SectionSeed(const LogId& id, uint32_t stream_id, uint64_t seq);
FrameHeader DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize> in);
uint32_t FrameCrc(uint32_t seed, std::span<const uint8_t, kFrameHeaderSize> header,
                  std::span<const uint8_t> payload);

void EncodeCatalogEntry(const CatalogEntry& e, std::string* out);
std::optional<CatalogEntry> DecodeCatalogEntry(std::span<const uint8_t> in);

// A ring slab's catalog snapshot also says where each stream stood when the slab began: every
// section of the stream numbered next_seq or higher is in this slab or a later one (slablog.5,
// Rings). A reader that finds the stream starting later than that knows sections were lost.
// With slab_index, where the stream stood when that earlier slab began: a ring slab repeats it
// for a slab after one the ring may keep while it reuses that slab (one an idle stream's open
// section holds), so that a reader can tell sections lost from the end of the kept slab.
struct StreamPosition {
  uint32_t stream_id = 0;
  uint64_t next_seq = 0;
  std::optional<uint32_t> slab_index;  // none: the slab whose catalog holds the record
};
inline constexpr size_t kStreamPositionSize = 16;
inline constexpr size_t kSlabStartPositionSize = 24;
inline constexpr uint8_t kStreamPositionMark = 0xFF;  // in the place of a catalog entry's encoding
inline constexpr uint8_t kSlabStartPositionMark = 0xFE;
void EncodeStreamPosition(const StreamPosition& p, std::string* out);
std::optional<StreamPosition> DecodeStreamPosition(std::span<const uint8_t> in);

// Slab file naming: base "dir/run.slog" gives "dir/run_0.slog", "dir/run_1.slog", ... (split at
// the last dot of the file name, as Copper does; no dot appends "_N").
std::string SlabPath(std::string_view base, uint32_t index);
// The reverse: if `path` is named like a slab ("dir/run_3.slog"), its base name ("dir/run.slog").
std::optional<std::string> BaseOfSlabPath(std::string_view path);
// The slab index a slab file's name gives (run_3.slog: 3), or nullopt.
std::optional<uint32_t> SlabIndexOfPath(std::string_view path);
// The slab files of base name `base` on disk, as (index, path) in index order; gaps stay gaps.
// A directory that cannot be read through gives what was listed by then, or none.
std::vector<std::pair<uint32_t, std::string>> ListSlabFiles(std::string_view base);
// ListSlabFiles for whoever acts on a slab not being listed (checks a new log's name, removes a
// log's slabs, reads a log): fails (kIo, naming the directory) when the directory could not be
// read through: one this user may write but not read (-wx) too. A directory that is not there,
// or is a file, holds no slab.
Result<std::vector<std::pair<uint32_t, std::string>>> ListSlabFilesOrFail(std::string_view base);

}  // namespace slablog
