// Copper's main header and section headers in both layouts (slablog/copper.h, man/slablog.5),
// decoded from bincode with every field range-checked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "slablog/copper.h"

namespace slablog::copper {

inline constexpr uint8_t kMainMagic[4] = {0xB4, 0xA5, 0x50, 0xFF};
inline constexpr uint8_t kSectionMagic[2] = {0xFA, 0x57};
// The original layout's data starts here, whatever its header's length: size_of SectionHeader
// (12 on 64-bit hosts) + 3, Copper's MAX_HEADER_SIZE.
inline constexpr uint32_t kOriginalDataStart = 15;

struct MainHeader {
  uint32_t first_section_offset = 0;
  uint32_t page_size = 0;
};
std::optional<MainHeader> DecodeMainHeader(std::span<const uint8_t> in);

struct SectionHeader {
  uint32_t type_id = 0;
  EntryType type = EntryType::kEmpty;
  uint64_t size = 0;        // to the next section
  uint64_t used = 0;
  uint32_t data_start = 0;  // from the section's start: block_size, or 15
  bool is_open = false;     // v1 only
  uint32_t encoded_len = 0;
};
// The header at the start of `in`, or nullopt when it is not one of `layout` (wrong magic, an
// unknown entry type, or a field out of range).
std::optional<SectionHeader> DecodeSectionHeader(Layout layout, std::span<const uint8_t> in);

// The layout of a log from its first section header (v1's block_size, at least 251, makes its
// third byte FB; the original has the entry type there).
Layout GuessLayout(std::span<const uint8_t> first_section);

}  // namespace slablog::copper
