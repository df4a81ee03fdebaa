// StreamingCopy copies exactly what memcpy would, whatever the alignment of either side and
// whatever the length: the edges go through memcpy, the whole lines between through streaming
// stores.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "streaming_copy.h"

namespace slablog {

TEST_CASE("StreamingCopyCopiesExactlyWhatMemcpyWould") {
  std::mt19937_64 rng(17);
  std::vector<uint8_t> src(70000);
  for (auto& b : src) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> got(src.size() + 128), want(src.size() + 128);
  for (int trial = 0; trial < 2000; ++trial) {
    // Short copies (inside one line, across two), and long ones with a head and a tail.
    const size_t n = trial % 2 == 0 ? rng() % 200 : rng() % 66000;
    const size_t from = rng() % 64, to = rng() % 64;
    std::memset(got.data(), 0xee, got.size());
    std::memset(want.data(), 0xee, want.size());
    StreamingCopy(got.data() + to, src.data() + from, n);
    std::memcpy(want.data() + to, src.data() + from, n);
    REQUIRE_MESSAGE(got == want, "trial ", trial, ": ", n, " bytes, source +", from, ", destination +", to);
  }
}

}  // namespace slablog
