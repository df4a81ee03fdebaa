// Truncate's changes reach the disk in an order that leaves a log readable at every point: stopped
// after any of its writes, the log reads as before or after the repair, or as a torn tail that a
// second run repairs, keeping the records the uninterrupted repair keeps. The log here is the hard
// case: a writer on reused slab files, killed in the middle of a record of three sections.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

// What a writer taking over a retired log's files leaves when killed just before storing the kind
// byte (its last store) of the LAST fragment of a record of three sections (the FIRST and MIDDLE in
// sections it has closed) and of a frame of another stream. Its last slab file is a reused one,
// with the retired log's bytes past its last section.
std::string CrashedRecycledLog(const TempDir& dir, const TempDir& crash) {
  const std::string old_base = dir.path("old.slog");
  WriteRetiredLog(old_base, TestSeed() + 5);
  WriterOptions o = SmallOptions();
  o.recycle = old_base;
  o.background_prefault = false;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 40; ++i) records.emplace_back("a", "a:" + std::to_string(i) + std::string(300, 'a'));
  for (int i = 0; i < 5; ++i) records.emplace_back("big", "b:" + std::to_string(i) + std::string(100, 'b'));
  records.emplace_back("big", std::string(20000, 'B'));
  records.emplace_back("a", "a:last" + std::string(300, 'z'));
  const std::string base = WriteCrashedLog(dir.path("new.slog"), crash.dir(), o, records);
  for (const std::string stream : {"a", "big"}) {
    const auto frames = Frames(base);
    const auto last = std::find_if(frames.rbegin(), frames.rend(), [&](const FrameLoc& f) { return f.stream == stream; });
    REQUIRE(last != frames.rend());
    SetByte(last->file, last->offset + 16, 0);
  }
  REQUIRE(FindFrame(base, "big", FragmentKind::kFirst).section_closed);
  REQUIRE(FindFrame(base, "big", FragmentKind::kMiddle).section_closed);
  return base;
}

std::string Message(const Result<TruncateResult>& r) { return r ? "ok" : Describe(r.error()); }

}  // namespace

TEST_CASE("TruncateOfARecycledLastSlabThatCannotBeTrimmedEndsInZeros") {
  // As at the writer's close: a reader holding the crashed log's last slab keeps truncate from
  // trimming it, and the retired log's bytes after the end marker must not stay there.
  TempDir dir, crash;
  const std::string base = CrashedRecycledLog(dir, crash);
  TruncateResult t;
  {
    auto live = Reader::Open(base, {}, nullptr);  // holds the last slab's trim lock
    REQUIRE(live);
    auto truncated = Truncate(base, {}, nullptr);
    REQUIRE_MESSAGE(truncated, Message(truncated));
    t = truncated.value();
  }
  REQUIRE(t.trim_deferred);
  REQUIRE(t.end_marker_file == ListSlabFiles(base).back().second);
  const std::string bytes = ReadFile(t.end_marker_file);
  REQUIRE(bytes.size() == SmallOptions().slab_size);  // untrimmed
  CHECK(bytes.find_first_not_of('\0', t.end_marker_offset + kSectionHeaderSize) == std::string::npos);
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v);
  CHECK_MESSAGE(v->ok(), problems.Describe());
  // The trim a later run makes.
  auto again = Truncate(base, {}, nullptr);
  REQUIRE_MESSAGE(again, Message(again));
  CHECK(std::filesystem::file_size(t.end_marker_file) == t.end_marker_offset + kSectionHeaderSize);
}

}  // namespace slablog::test
