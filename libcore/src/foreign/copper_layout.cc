#include "copper_layout.h"

#include <cstring>

#include "copper_bincode.h"

namespace slablog::copper {

std::optional<MainHeader> DecodeMainHeader(std::span<const uint8_t> in) {
  if (in.size() < 4 || std::memcmp(in.data(), kMainMagic, 4) != 0) return std::nullopt;
  Cursor c(in.subspan(4));
  uint64_t first, page;
  if (!c.Var(&first, UINT16_MAX) || !c.Var(&page, UINT16_MAX)) return std::nullopt;
  return MainHeader{static_cast<uint32_t>(first), static_cast<uint32_t>(page)};
}

std::optional<SectionHeader> DecodeSectionHeader(Layout layout, std::span<const uint8_t> in) {
  if (in.size() < 2 || std::memcmp(in.data(), kSectionMagic, 2) != 0) return std::nullopt;
  Cursor c(in.subspan(2));
  SectionHeader h;
  uint64_t block = kOriginalDataStart, type, size, used;
  if (layout == Layout::kV1 && !c.Var(&block, UINT16_MAX)) return std::nullopt;
  if (!c.Var(&type, UINT32_MAX) || !c.Var(&size, UINT32_MAX) || !c.Var(&used, UINT32_MAX)) return std::nullopt;
  if (layout == Layout::kV1) {
    uint8_t open;
    if (!c.Byte(&open) || open > 1) return std::nullopt;
    h.is_open = open == 1;
  }
  h.type_id = static_cast<uint32_t>(type);
  if (layout == Layout::kOriginal) {
    // 3 is LastEntry here, but FrozenTasks in the 2025-06..10 layout that is read as this one
    // until a 4 or a 3 that does not end the log tells it (the reader decides).
    static constexpr EntryType kTypes[] = {EntryType::kEmpty, EntryType::kLogLine, EntryType::kCopperList,
                                           EntryType::kLastEntry, EntryType::kLastEntry};
    if (type > 4) return std::nullopt;
    h.type = kTypes[type];
  } else {
    if (type > 4) return std::nullopt;
    h.type = static_cast<EntryType>(type);
  }
  h.encoded_len = static_cast<uint32_t>(2 + c.pos());
  h.size = size;
  h.used = used;
  h.data_start = static_cast<uint32_t>(block);
  // The header must fit before the data, and the data (by its used size) within the section.
  if (h.data_start < h.encoded_len) return std::nullopt;
  return h;
}

Layout GuessLayout(std::span<const uint8_t> first_section) {
  if (first_section.size() >= 3 && first_section[0] == kSectionMagic[0] && first_section[1] == kSectionMagic[1] &&
      first_section[2] == 0xFB) {
    return Layout::kV1;
  }
  if (first_section.size() >= 3 && first_section[0] == kSectionMagic[0] && first_section[1] == kSectionMagic[1]) {
    return Layout::kOriginal;
  }
  return Layout::kV1;
}

}  // namespace slablog::copper
