// The append state of one stream: its current section in the slab's memory map and the running
// totals that go into the section's close block. Owned by one appending thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "coding.h"
#include "slablog/format.h"

namespace slablog::detail {

struct StreamState {
  CatalogEntry entry;
  uint8_t* section = nullptr;  // the current section's header, or null before the first append
  uint8_t* pos = nullptr;      // where the next frame goes
  uint8_t* end = nullptr;      // the end of the current section
  uint32_t seed = 0;           // CRC seed of the current section
  uint64_t seq = 0;            // the current section's sequence number
  uint64_t next_seq = 0;       // the next section's sequence number
  size_t slab = 0;             // which of the writer's slabs holds the current section
  SectionClose totals;         // of the current section (filled is computed when it closes)

  size_t room() const { return static_cast<size_t>(end - pos); }

  // Stores one frame at `pos`. The kind byte goes last, after a release fence: a reader that sees
  // a non-zero kind also sees the rest of the frame (the zero-filled space beyond reads as "no
  // frame yet", never as a half-written one).
  void WriteFrame(FragmentKind kind, std::span<const uint8_t> payload, int64_t timestamp) {
    uint8_t header[kFrameHeaderSize] = {};
    coding::Store<uint32_t>(header + 4, static_cast<uint32_t>(payload.size()));
    coding::Store<int64_t>(header + 8, timestamp);
    header[16] = static_cast<uint8_t>(kind);
    coding::Store<uint32_t>(header, FrameCrc(seed, std::span<const uint8_t, kFrameHeaderSize>(header),
                                             payload));
    uint8_t* p = pos;
    if (!payload.empty()) std::memcpy(p + kFrameHeaderSize, payload.data(), payload.size());
    std::memcpy(p, header, 16);
    std::memcpy(p + 17, header + 17, 3);
    std::atomic_ref<uint8_t>(p[16]).store(header[16], std::memory_order_release);
    pos = p + kFrameHeaderSize + payload.size();
    if (totals.frame_count == 0) totals.first_t = timestamp;
    totals.last_t = timestamp;
    ++totals.frame_count;
    totals.payload_bytes += payload.size();
    if (kind == FragmentKind::kFull || kind == FragmentKind::kLast) ++totals.record_count;
  }
};

}  // namespace slablog::detail
