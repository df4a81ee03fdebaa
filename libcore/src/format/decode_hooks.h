// A seam for tests of readers that race a writer: DecodeSectionOpen calls the hook between the
// check of a section header's CRC and the loads of its fields, with the address of the header it
// decodes, so that a test can act at that very instant, as a ring's writer reusing the file under
// a reader may (the walker decodes a copy of the header: the hook must not write through the
// address, only change the file). Without a hook the cost is one relaxed atomic load per
// section header decoded (never per frame). Not for production code: tests only.
#pragma once

#include <atomic>
#include <cstdint>

namespace slablog::decode_hooks {

using Hook = void (*)(const uint8_t* section_header);

// Installs `hook` (null: none).
void SetAfterSectionCrcChecked(Hook hook);

namespace detail {
extern std::atomic<Hook> g_after_section_crc_checked;
}  // namespace detail

inline void AfterSectionCrcChecked(const uint8_t* section_header) {
  const Hook hook = detail::g_after_section_crc_checked.load(std::memory_order_relaxed);
  if (hook != nullptr) hook(section_header);
}

}  // namespace slablog::decode_hooks
