// The append state of one stream: its current section in the slab's memory map and the running
// totals that go into the section's close block. Owned by one appending thread at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "coding.h"
#include "crc32c.h"
#include "slablog/format.h"
#include "streaming_copy.h"

namespace slablog::detail {

// How far past the next frame header a reused section is zeroed at a time, when the frames are
// small: one call per many frames, whose stores then find the lines in the cache.
inline constexpr size_t kZeroAhead = size_t{4} << 10;

struct StreamState {
  CatalogEntry entry;
  uint8_t* section = nullptr;  // the current section's header, or null before the first append
  uint8_t* pos = nullptr;      // where the next frame goes
  uint8_t* end = nullptr;      // the end of the current section
  // In a slab file taken from a retired log, the bytes of the current section from here on may
  // still be that log's; elsewhere it is `end`, the kernel having zeroed the pages.
  uint8_t* zeroed = nullptr;
  uint32_t seed = 0;           // CRC seed of the current section
  uint64_t seq = 0;            // the current section's sequence number
  uint64_t next_seq = 0;       // the next section's sequence number
  uint64_t next_seq_at_slab = 0;  // next_seq when the writer's newest slab began (rings)
  size_t slab = 0;             // which of the writer's slabs holds the current section
  SectionClose totals;         // of the current section (filled is computed when it closes)
  // Set by a ring that needs the slab holding this stream's section (WriterOptions::ring_slabs):
  // the next append starts a new section. Only the appending thread may close its section.
  std::atomic<bool> roll_requested{false};

  size_t room() const { return static_cast<size_t>(end - pos); }

  // Makes the frame header at `at` read as zeros, "no frame yet", which is where readers stop (or
  // the section's last bytes, if fewer). Frames overwrite the rest, so a reused section is zeroed
  // only there, not all of it: that took more of an appending thread's time than the copies.
  // Past small frames it zeroes `ahead` more, for the frames that follow.
  void ZeroFrameHeaderAt(uint8_t* at, size_t ahead) {
    uint8_t* to = at + std::min(static_cast<size_t>(end - at), kFrameHeaderSize + ahead);
    uint8_t* from = std::max(zeroed, at);
    if (to > from) std::memset(from, 0, static_cast<size_t>(to - from));
    zeroed = std::max(zeroed, to);
  }

  // Stores one frame at `pos`. The kind byte goes last, after a release fence: a reader that sees
  // a non-zero kind also sees the rest of the frame, and zeros after it (no frame yet), never the
  // next frame half-written. `index` is the fragment's number in its record (0 for FULL and
  // FIRST); a FIRST frame's payload is preceded by its record's total length.
  void WriteFrame(FragmentKind kind, std::span<const uint8_t> payload, int64_t timestamp,
                  uint32_t index = 0, uint64_t record_length = 0) {
    uint8_t prefix[kFirstPrefixSize];
    const size_t prefix_size = kind == FragmentKind::kFirst ? kFirstPrefixSize : 0;
    if (prefix_size != 0) coding::Store<uint64_t>(prefix, record_length);
    uint8_t header[kFrameHeaderSize] = {};
    coding::Store<uint32_t>(header + 4, static_cast<uint32_t>(prefix_size + payload.size()));
    coding::Store<int64_t>(header + 8, timestamp);
    coding::Store<uint32_t>(header + 16, index << 8 | static_cast<uint8_t>(kind));
    uint32_t crc = crc32c::Extend(seed, header + 4, kFrameHeaderSize - 4);
    if (prefix_size != 0) crc = crc32c::Extend(crc, prefix, prefix_size);
    coding::Store<uint32_t>(header, crc32c::Extend(crc, payload.data(), payload.size()));
    uint8_t* p = pos;
    uint8_t* data = p + kFrameHeaderSize + prefix_size;
    uint8_t* frame_end = data + payload.size();
    const bool streaming = payload.size() >= kStreamingCopyMin;
    if (zeroed < end && zeroed - frame_end < static_cast<ptrdiff_t>(kFrameHeaderSize)) {
      ZeroFrameHeaderAt(frame_end, streaming ? 0 : kZeroAhead);
    }
    if (prefix_size != 0) std::memcpy(p + kFrameHeaderSize, prefix, prefix_size);
    if (streaming) {
      StreamingCopy(data, payload.data(), payload.size());
    } else if (!payload.empty()) {
      std::memcpy(data, payload.data(), payload.size());
    }
    std::memcpy(p, header, 16);
    std::memcpy(p + 17, header + 17, 3);
    std::atomic_ref<uint8_t>(p[16]).store(header[16], std::memory_order_release);
    pos = frame_end;
    if (totals.frame_count == 0) totals.first_t = timestamp;
    totals.last_t = timestamp;
    ++totals.frame_count;
    totals.payload_bytes += prefix_size + payload.size();
    if (kind == FragmentKind::kFull || kind == FragmentKind::kLast) ++totals.record_count;
  }
};

}  // namespace slablog::detail
