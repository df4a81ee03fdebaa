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

}  // namespace slablog::crc32c
