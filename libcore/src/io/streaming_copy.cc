#include "streaming_copy.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace slablog {

#if defined(__x86_64__)

// Written by hand: glibc's memcpy streams only copies larger than a tunable share of the last-level
// cache (megabytes), which one frame never is. SSE2 is in every x86-64 CPU, and the copy is bound
// by memory, not by the width of the stores (AVX2 was no faster here).
void StreamingCopy(uint8_t* dst, const uint8_t* src, size_t n) {
  constexpr size_t kLine = 64;
  const size_t head = std::min(n, (kLine - reinterpret_cast<uintptr_t>(dst) % kLine) % kLine);
  std::memcpy(dst, src, head);
  dst += head;
  src += head;
  n -= head;
  for (; n >= kLine; n -= kLine, dst += kLine, src += kLine) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 32));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 48), d);
  }
  std::memcpy(dst, src, n);
  // Non-temporal stores are not ordered with later ones without a fence.
  _mm_sfence();
}

#else

void StreamingCopy(uint8_t* dst, const uint8_t* src, size_t n) { std::memcpy(dst, src, n); }

#endif

}  // namespace slablog
