#include "crc32c.h"

#include <isa-l/crc.h>

#include <climits>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace slablog::crc32c {
namespace {

// Both kernels work on the raw register (no inversions); Extend applies them once.
uint32_t RawIsal(uint32_t raw, const uint8_t* p, size_t n) {
  // crc32_iscsi takes an int length.
  while (n > 0) {
    const size_t chunk = n > (size_t{1} << 30) ? (size_t{1} << 30) : n;
    raw = crc32_iscsi(const_cast<uint8_t*>(p), static_cast<int>(chunk), raw);
    p += chunk;
    n -= chunk;
  }
  return raw;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t RawSse42(uint32_t raw, const uint8_t* p, size_t n) {
  uint64_t c = raw;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  auto c32 = static_cast<uint32_t>(c);
  if (n & 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    c32 = _mm_crc32_u32(c32, v);
    p += 4;
  }
  if (n & 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    c32 = _mm_crc32_u16(c32, v);
    p += 2;
  }
  if (n & 1) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

// Below this size the one-chain loop beats ISA-L's set-up cost; above it ISA-L's interleaved
// chains win (measured here: 15.6 ns against 33.8 ns at 150 bytes, 48 ns against 22 ns at 512).
constexpr size_t kSmallBuffer = 256;

}  // namespace

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t raw = ~crc;
#if defined(__x86_64__)
  if (n < kSmallBuffer && kHaveSse42) return ~RawSse42(raw, p, n);
#endif
  return ~RawIsal(raw, p, n);
}

}  // namespace slablog::crc32c
