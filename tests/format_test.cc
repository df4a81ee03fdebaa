// Header encoders and decoders, and slab file naming.
#include "slablog/format.h"

#include <doctest/doctest.h>

#include <cstring>
#include <fstream>

#include "log_files.h"
#include "testutil.h"

namespace slablog {
namespace {

LogId TestId() {
  LogId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i * 17 + 3);
  return id;
}

}  // namespace

TEST_CASE("SlabHeaderRoundTrip") {
  SlabHeader h;
  h.page_size = 4096;
  h.log_id = TestId();
  h.slab_index = 7;
  h.capacity = 1 << 20;
  h.created_ns = 123456789;
  uint8_t buf[kSlabHeaderSize];
  EncodeSlabHeader(h, std::span<uint8_t, kSlabHeaderSize>(buf));
  auto d = DecodeSlabHeader(buf);
  REQUIRE(d.has_value());
  CHECK(d->slab_index == 7);
  CHECK(d->capacity == (1 << 20));
  CHECK(d->log_id == h.log_id);
  CHECK(d->created_ns == 123456789);
  SUBCASE("a flipped bit fails the crc") {
    buf[33] ^= 1;
    CHECK_FALSE(DecodeSlabHeader(buf).has_value());
  }
  SUBCASE("a short buffer is refused") {
    CHECK_FALSE(DecodeSlabHeader(std::span<const uint8_t>(buf, 63)).has_value());
  }
}

TEST_CASE("SectionHeaderOpenThenClosed") {
  uint8_t buf[kSectionHeaderSize] = {};
  const LogId id = TestId();
  EncodeSectionOpen(id, {3, 9, 8192}, std::span<uint8_t, 32>(buf, 32));
  auto open = DecodeSectionOpen(id, buf);
  REQUIRE(open.has_value());
  CHECK(open->stream_id == 3);
  CHECK(open->seq == 9);
  CHECK(open->size == 8192);
  CHECK_FALSE(DecodeSectionClose(id, buf).has_value());  // open: no close block yet
  EncodeSectionClose(id, {100, 2, 1, 60, -5, 7}, std::span<uint8_t, kSectionHeaderSize>(buf));
  auto close = DecodeSectionClose(id, buf);
  REQUIRE(close.has_value());
  CHECK(close->filled == 100);
  CHECK(close->record_count == 1);
  CHECK(close->first_t == -5);
  SUBCASE("another log's id fails both crcs") {
    LogId other = id;
    other[0] ^= 1;
    CHECK_FALSE(DecodeSectionOpen(other, buf).has_value());
    CHECK_FALSE(DecodeSectionClose(other, buf).has_value());
  }
  SUBCASE("a torn close block leaves the section open but readable") {
    buf[40] ^= 0x10;
    CHECK_FALSE(DecodeSectionClose(id, buf).has_value());
    CHECK(DecodeSectionOpen(id, buf).has_value());
  }
}

TEST_CASE("CatalogEntryRoundTrip") {
  std::string bytes;
  EncodeCatalogEntry({5, Encoding::kJson, 42, "imu/accel"}, &bytes);
  auto e = DecodeCatalogEntry({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  REQUIRE(e.has_value());
  CHECK(e->name == "imu/accel");
  CHECK(e->encoding == Encoding::kJson);
  CHECK(e->type == 42);
  bytes.pop_back();
  CHECK_FALSE(DecodeCatalogEntry({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
}

TEST_CASE("StreamPositionsRoundTripWithAndWithoutASlabIndex") {
  auto decode = [](const std::string& b) {
    return DecodeStreamPosition({reinterpret_cast<const uint8_t*>(b.data()), b.size()});
  };
  std::string own, kept;
  EncodeStreamPosition({7, 1234567890123, std::nullopt}, &own);
  EncodeStreamPosition({7, 99, 4000000000u}, &kept);
  CHECK(own.size() == kStreamPositionSize);
  CHECK(kept.size() == kSlabStartPositionSize);
  auto a = decode(own);
  auto b = decode(kept);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->stream_id == 7);
  CHECK(a->next_seq == 1234567890123);
  CHECK_FALSE(a->slab_index);
  CHECK(b->next_seq == 99);
  REQUIRE(b->slab_index);
  CHECK(*b->slab_index == 4000000000u);
  // Reserved bytes, the other size for a mark, and the catalog's and end marker's ids: no position.
  std::string bad = kept;
  bad[21] = 1;
  CHECK_FALSE(decode(bad));
  bad = kept;
  bad[5] = 1;
  CHECK_FALSE(decode(bad));
  CHECK_FALSE(decode(kept.substr(0, kStreamPositionSize)));
  bad = own + std::string(8, '\0');
  CHECK_FALSE(decode(bad));
  std::string catalog;
  EncodeStreamPosition({kCatalogStream, 1, 3u}, &catalog);
  CHECK_FALSE(decode(catalog));
  // A catalog entry never reads as one.
  std::string entry;
  EncodeCatalogEntry({5, Encoding::kJson, 42, "imu/accel"}, &entry);
  CHECK_FALSE(decode(entry));
}

TEST_CASE("SlabPathSplitsAtLastDot") {
  CHECK(SlabPath("run.slog", 0) == "run_0.slog");
  CHECK(SlabPath("dir/run.v2.slog", 12) == "dir/run.v2_12.slog");
  CHECK(SlabPath("dir.d/run", 1) == "dir.d/run_1");
  CHECK(SlabPath(".hidden", 2) == ".hidden_2");
}

TEST_CASE("AListingThatMissedSlabsMadeDuringItIsCompletedWhateverTheGap") {
  // ext4 lists a directory in hash order: a writer adding slabs during the listing can have its
  // newest slab listed and a hundred before it not. Slabs 0..299 exist except 200..279 (deleted:
  // a real gap, 80 long); the listing saw only 0, 150 and 290.
  test::TempDir dir;
  const std::string base = dir.path("run.slog");
  for (uint32_t i = 0; i < 300; ++i) {
    if (i < 200 || i >= 280) std::ofstream(SlabPath(base, i)) << "x";
  }
  std::vector<std::pair<uint32_t, std::string>> listed;
  for (uint32_t i : {0u, 150u, 290u}) listed.emplace_back(i, SlabPath(base, i));
  const auto filled = FillListingGaps(base, listed);
  std::vector<uint32_t> indexes;
  for (const auto& [index, path] : filled) {
    CHECK(path == SlabPath(base, index));
    indexes.push_back(index);
  }
  std::vector<uint32_t> expected;
  for (uint32_t i = 0; i < 300; ++i) {
    if (i < 200 || i >= 280) expected.push_back(i);
  }
  CHECK(indexes == expected);
}

TEST_CASE("AListingGapOfAbsentSlabsIsLookedAtOnlyUpToItsBound") {
  // Slabs 0 and 900,000,000: the gap is not probed slab by slab to its end (that would take
  // hours), and the far slab is still listed.
  test::TempDir dir;
  const std::string base = dir.path("run.slog");
  std::ofstream(SlabPath(base, 0)) << "x";
  std::ofstream(SlabPath(base, 900000000u)) << "x";
  const auto filled = FillListingGaps(base, {{0u, SlabPath(base, 0)}, {900000000u, SlabPath(base, 900000000u)}});
  REQUIRE(filled.size() == 2);
  CHECK(filled[1].first == 900000000u);
}

}  // namespace slablog
