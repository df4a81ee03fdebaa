// CRC32C known answers from RFC 3720 B.4 (as LevelDB's crc32c_test), and agreement of the small-
// buffer and ISA-L paths.
#include "crc32c.h"

#include <doctest/doctest.h>
#include <isa-l/crc.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace slablog::crc32c {

TEST_CASE("Crc32cStandardResults") {
  uint8_t buf[32];
  std::memset(buf, 0, sizeof(buf));
  CHECK(Value(buf, sizeof(buf)) == 0x8a9136aaU);
  std::memset(buf, 0xff, sizeof(buf));
  CHECK(Value(buf, sizeof(buf)) == 0x62a8ab43U);
  for (int i = 0; i < 32; i++) buf[i] = static_cast<uint8_t>(i);
  CHECK(Value(buf, sizeof(buf)) == 0x46dd794eU);
  for (int i = 0; i < 32; i++) buf[i] = static_cast<uint8_t>(31 - i);
  CHECK(Value(buf, sizeof(buf)) == 0x113fdb5cU);
  const char* check = "123456789";
  CHECK(Value(check, 9) == 0xe3069283U);
  CHECK(Value("", 0) == 0U);
}

TEST_CASE("Crc32cValuesDiffer") { CHECK(Value("a", 1) != Value("foo", 3)); }

TEST_CASE("Crc32cExtendEqualsWhole") {
  std::mt19937_64 rng(7);
  // Sizes on both sides of the small-buffer threshold, so both kernels are compared.
  for (size_t n : {0UL, 1UL, 7UL, 8UL, 63UL, 64UL, 1023UL, 1024UL, 1025UL, 4096UL, 70000UL}) {
    std::vector<uint8_t> data(n);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const uint32_t whole = Value(data.data(), n);
    for (size_t cut : {size_t{0}, n / 3, n / 2, n}) {
      CHECK(Extend(Value(data.data(), cut), data.data() + cut, n - cut) == whole);
    }
    // Byte by byte uses only the small kernel: it must agree with the whole-buffer result.
    uint32_t c = 0;
    for (size_t i = 0; i < n; ++i) c = Extend(c, &data[i], 1);
    CHECK(c == whole);
  }
}

TEST_CASE("Crc32cEveryLengthAgreesWithIsal") {
  // Every length through the three-chain kernel's range (and past it), at every alignment, and
  // extended from a non-trivial CRC, against ISA-L's crc32_iscsi on the same bytes.
  std::mt19937_64 rng(11);
  std::vector<uint8_t> data(1200 + 8);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t n = 0; n <= 1100; ++n) {
    for (size_t align = 0; align < 8; align += (n < 200 ? 1 : 3)) {
      uint8_t* p = data.data() + align;
      const uint32_t want = ~crc32_iscsi(p, static_cast<int>(n), 0xFFFFFFFFU);
      REQUIRE_MESSAGE(Value(p, n) == want, "length ", n, " alignment ", align);
      const uint32_t seed = static_cast<uint32_t>(rng());
      REQUIRE(Extend(seed, p, n) == ~crc32_iscsi(p, static_cast<int>(n), ~seed));
    }
  }
}

TEST_CASE("Crc32cExtendEachAgreesWithExtend") {
  // Every count of buffers, lengths from empty to past the batched sizes (equal, nearly equal and
  // far apart, so the shared stretch and each buffer's own tail both vary), odd alignments.
  std::mt19937_64 rng(13);
  std::vector<uint8_t> data(8192);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (int trial = 0; trial < 3000; ++trial) {
    const size_t count = static_cast<size_t>(trial) % (kEachMax + 1);
    const uint8_t* buffers[kEachMax];
    size_t sizes[kEachMax];
    const size_t common = rng() % 200;
    for (size_t k = 0; k < count; ++k) {
      switch (rng() % 3) {
        case 0: sizes[k] = common; break;
        case 1: sizes[k] = common + rng() % 9; break;
        default: sizes[k] = rng() % 600; break;
      }
      buffers[k] = data.data() + rng() % (data.size() - 600);
    }
    const uint32_t seed = static_cast<uint32_t>(rng());
    uint32_t got[kEachMax] = {};
    ExtendEach(seed, buffers, sizes, count, got);
    for (size_t k = 0; k < count; ++k) {
      REQUIRE_MESSAGE(got[k] == Extend(seed, buffers[k], sizes[k]), "trial ", trial, " buffer ", k,
                      " of ", count, ", ", sizes[k], " bytes");
    }
  }
}

}  // namespace slablog::crc32c
