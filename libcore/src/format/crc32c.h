// CRC32C (Castagnoli), the standard form (initial value and final xor 0xFFFFFFFF), so that
// Value("123456789") == 0xE3069283. Large buffers go to ISA-L; below 512 bytes (most records) three
// interleaved chains of the SSE4.2 crc32 instruction, chosen at run time, are faster.
#pragma once

#include <cstddef>
#include <cstdint>

namespace slablog::crc32c {

// CRC of data appended to bytes whose CRC was `crc` (Extend(Value(a), b) == Value(a + b)).
uint32_t Extend(uint32_t crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// How many buffers ExtendEach takes at once.
inline constexpr size_t kEachMax = 4;

// out[i] = Extend(crc, data[i], sizes[i]) for each i < count (count <= kEachMax). The buffers'
// chains of crc32 instructions run side by side, which on small buffers (records of a few hundred
// bytes) is several times faster than one call each: a chain waits 3 cycles per instruction,
// while the unit takes new ones every cycle.
void ExtendEach(uint32_t crc, const uint8_t* const data[], const size_t sizes[], size_t count,
                uint32_t out[]);

}  // namespace slablog::crc32c
