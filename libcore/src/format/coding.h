// Little-endian loads and stores on unaligned byte pointers. memcpy compiles to one move on x86
// and keeps the code free of alignment and aliasing assumptions.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace slablog::coding {

static_assert(std::endian::native == std::endian::little,
              "slablog stores little-endian integers with plain loads; add byte swaps to port it");

template <typename T>
inline T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
inline void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

}  // namespace slablog::coding
