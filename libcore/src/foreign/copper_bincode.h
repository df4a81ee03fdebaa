// Reading bincode 2 ("standard" configuration: little endian, varint integers), the encoding of
// every Copper header and entry. Every read is bounds-checked and says whether it succeeded;
// nothing is allocated.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace slablog::copper {

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> in) : in_(in) {}

  size_t pos() const { return pos_; }
  size_t left() const { return in_.size() - pos_; }
  const uint8_t* here() const { return in_.data() + pos_; }

  bool Byte(uint8_t* v) {
    if (pos_ >= in_.size()) return false;
    *v = in_[pos_++];
    return true;
  }
  bool Skip(size_t n) {
    if (n > left()) return false;
    pos_ += n;
    return true;
  }
  // An unsigned varint no larger than `max`: < 251 is the byte itself; 251, 252 and 253 are
  // followed by a u16, u32 or u64. (254, a u128, is larger than any field read here.) As bincode
  // does, a tag wider than the field (252 for a u16, 253 for a u16 or u32) is refused even when
  // the value would fit.
  bool Var(uint64_t* v, uint64_t max = UINT64_MAX) {
    if (pos_ >= in_.size()) return false;
    const uint8_t tag = in_[pos_++];
    if (tag < 251) [[likely]] {
      *v = tag;
      return tag <= max;
    }
    uint64_t value;
    if (tag == 251) {
      uint16_t x;
      if (!Fixed(&x)) return false;
      value = x;
    } else if (tag == 252) {
      if (max <= UINT16_MAX) return false;
      uint32_t x;
      if (!Fixed(&x)) return false;
      value = x;
    } else if (tag == 253) {
      if (max <= UINT32_MAX || !Fixed(&value)) return false;
    } else {
      return false;
    }
    if (value > max) return false;
    *v = value;
    return true;
  }
  // A little-endian integer of T's size (fixed-size loads: one move each).
  template <typename T>
  bool Fixed(T* v) {
    if (left() < sizeof(T)) return false;
    std::memcpy(v, here(), sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  // A signed varint: zigzag over the unsigned one.
  bool SignedVar(int64_t* v, int64_t min = INT64_MIN, int64_t max = INT64_MAX) {
    uint64_t u;
    // The zigzag form of an i16 is a u16, of an i32 a u32: its tag is bounded the same way.
    const uint64_t width = max <= INT16_MAX ? UINT16_MAX : max <= INT32_MAX ? UINT32_MAX : UINT64_MAX;
    if (!Var(&u, width)) return false;
    const int64_t s = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    if (s < min || s > max) return false;
    *v = s;
    return true;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace slablog::copper
