// Golden bytes pin the on-disk layout: a small log written with a fixed log id, slab time and
// timestamps must equal tests/golden/small_*.slog byte for byte, and `slablog info --json` of it
// must equal tests/golden/small.info.json. scripts/regen-golden (and nothing else) rewrites them.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "cli/process.h"
#include "testutil.h"

namespace slablog::test {
namespace {

std::string GoldenDir() { return SourceDir() + "/tests/golden"; }

// Two streams, an empty record, a record split over three sections, and four slabs.
void WriteGoldenLog(const std::string& base) {
  WriterOptions o;
  o.slab_size = 16 << 10;
  o.section_size = 4 << 10;
  o.sync = SyncPolicy::kManual;
  LogId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0xA0 + i);
  o.log_id = id;
  o.created_ns = 1764000000000000000;  // 2025-11-24T16:00:00Z
  auto w = Writer::Open(base, o);
  REQUIRE(w.has_value());
  auto text = w.value()->OpenStream({"text", Encoding::kText, 7});
  auto json = w.value()->OpenStream({"json", Encoding::kJson, 0});
  REQUIRE((text.has_value() && json.has_value()));
  int64_t t = 1764000000000000000;
  REQUIRE(w.value()->Append(text.value(), "hello", t++).ok());
  REQUIRE(w.value()->Append(json.value(), "{\"x\":1}", t++).ok());
  REQUIRE(w.value()->Append(text.value(), "", t++).ok());
  std::string big(9000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  REQUIRE(w.value()->Append(text.value(), big, t++).ok());
  for (int i = 0; i < 20; ++i) {
    REQUIRE(w.value()->Append(json.value(), "{\"i\":" + std::to_string(i) + "}", t++).ok());
  }
  REQUIRE(w.value()->Close().ok());
}

bool Regenerating() { return std::getenv("SLABLOG_REGEN_GOLDEN") != nullptr; }

}  // namespace

TEST_CASE("GoldenBytes") {
  TempDir dir;
  const std::string base = dir.path("small.slog");
  WriteGoldenLog(base);
  uint32_t slabs = 0;
  while (std::filesystem::exists(SlabPath(base, slabs))) ++slabs;
  CHECK(slabs == 4);  // a 16 KiB slab holds one 4 KiB data section
  for (uint32_t i = 0; i < slabs; ++i) {
    const std::string golden = SlabPath(GoldenDir() + "/small.slog", i);
    if (Regenerating()) WriteFile(golden, ReadFile(SlabPath(base, i)));
    CAPTURE(golden);
    const std::string want = ReadFile(golden);
    const std::string got = ReadFile(SlabPath(base, i));
    REQUIRE(got.size() == want.size());
    size_t first_diff = 0;
    while (first_diff < got.size() && got[first_diff] == want[first_diff]) ++first_diff;
    CHECK_MESSAGE(first_diff == got.size(), "first differing byte at offset " << first_diff);
  }
  CHECK_FALSE(std::filesystem::exists(SlabPath(GoldenDir() + "/small.slog", slabs)));
}

TEST_CASE("GoldenInfoJson") {
  RunResult r = RunSlablog({"info", "--json", "small.slog"}, "", GoldenDir());
  CHECK(r.exit_code == 0);
  const std::string path = GoldenDir() + "/small.info.json";
  if (Regenerating()) WriteFile(path, r.out);
  CHECK(r.out == ReadFile(path));
}

TEST_CASE("GoldenReadsBack") {
  ReadResult r = ReadAll(GoldenDir() + "/small.slog");
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  REQUIRE(r.OfStream("text").size() == 3);
  CHECK(r.OfStream("text")[2].payload.size() == 9000);
  CHECK(r.OfStream("json").size() == 21);
}

}  // namespace slablog::test
