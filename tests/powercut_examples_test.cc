// The two power-cut states of the issue, built by hand, as their own deterministic tests. Both fail
// on format version 1 (a spliced record, a silent hole); the format and reader fix makes them pass.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

constexpr uint64_t kSection = 4096;

WriterOptions ExampleOptions() {
  WriterOptions o;
  o.slab_size = 64 << 10;
  o.section_size = kSection;
  o.sync = SyncPolicy::kManual;
  o.background_prefault = false;
  return o;
}

std::string Numbered(const std::string& stream, int i, size_t size) {
  std::string p = stream + ":" + std::to_string(i) + ":";
  for (size_t k = p.size(); k < size; ++k) p += static_cast<char>('a' + (k * 7 + static_cast<size_t>(i)) % 26);
  p.resize(size);
  return p;
}

std::string CopyLog(const std::string& base, const TempDir& dir, const std::string& sub) {
  const std::string d = dir.path(sub);
  std::filesystem::create_directories(d);
  return SnapshotLog(base, d);
}

// Every record read from `path` is one of `written` (nothing spliced or cut), and `must` are all there.
void CheckRecords(const std::string& path, const std::string& stream, const std::vector<std::string>& written,
                  const std::vector<int>& must, const std::string& what) {
  const ReadResult r = ReadAll(path);
  REQUIRE_MESSAGE(r.opened, what, ": ", r.open_error);
  const std::set<std::string> known(written.begin(), written.end());
  std::set<std::string> got;
  for (const ReadRecord& rec : r.OfStream(stream)) {
    CHECK_MESSAGE(known.count(rec.payload) == 1, what, ": returned a record of ", rec.payload.size(),
                  " bytes that was never appended (", rec.payload.substr(0, 12), "...): spliced or cut");
    got.insert(rec.payload);
  }
  std::string lost;
  for (int i : must) {
    if (got.count(written[static_cast<size_t>(i)]) == 0) lost += " " + std::to_string(i);
  }
  CHECK_MESSAGE(lost.empty(), what, ": lost records", lost);
}

// Verify reports damage, truncate refuses with Errc::kCorruption, recover reports problems and
// copies `must` and nothing made up.
void CheckHoleReported(const std::string& base, const TempDir& dir, const std::string& stream,
                       const std::vector<std::string>& written, const std::vector<int>& must) {
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v.has_value());
  CHECK_MESSAGE(v->damage > 0, "verify must report the hole as damage; it reports torn ", v->torn, ":\n",
                problems.Describe());
  const std::string copy = CopyLog(base, dir, "truncate-copy");
  auto t = Truncate(copy, {}, nullptr);
  CHECK_MESSAGE(!t.has_value(), "truncate must refuse a log with a hole");
  if (!t) CHECK(t.error().code == Errc::kCorruption);
  WriterOptions o = ExampleOptions();
  o.slab_size = 1 << 20;
  std::filesystem::create_directories(dir.path("recovered"));
  auto rec = Recover(base, dir.path("recovered/r.slog"), o, nullptr);
  REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : Describe(rec.error())));
  CHECK_MESSAGE(rec->problems > 0, "recover must report the loss");
  CheckRecords(dir.path("recovered/r.slog"), stream, written, must, "recover");
}

}  // namespace

TEST_CASE("PowerCutSplicedRecord") {
  // A record written as FIRST, MIDDLE and LAST in the stream's sections 0, 1 and 2; the power goes
  // before section 1's pages reach the disk beyond its 32-byte open header. Format version 1 reads
  // FIRST+LAST as one record of 6,020 bytes and reports nothing.
  TempDir dir;
  const std::string base = dir.path("splice.slog");
  const uint64_t room = kSection - kSectionHeaderSize - kFrameHeaderSize;
  std::vector<std::string> written = {Numbered("a", 0, 2 * room + 2040)};
  for (int i = 1; i <= 5; ++i) written.push_back(Numbered("a", i, 100));
  {
    auto w = Writer::Open(base, ExampleOptions());
    REQUIRE(w.has_value());
    auto a = w.value()->OpenStream({"a", Encoding::kBinary, 0});
    REQUIRE(a.has_value());
    for (size_t i = 0; i < written.size(); ++i) {
      REQUIRE(w.value()->Append(a.value(), written[i], static_cast<int64_t>(i)).ok());
    }
    REQUIRE(w.value()->Close().ok());
  }
  const FrameLoc first = FindFrame(base, "a", FragmentKind::kFirst);
  const FrameLoc middle = FindFrame(base, "a", FragmentKind::kMiddle);
  const FrameLoc last = FindFrame(base, "a", FragmentKind::kLast);
  REQUIRE(first.section_offset != middle.section_offset);
  REQUIRE(middle.section_offset != last.section_offset);
  ZeroBytes(middle.file, middle.section_offset + 32, middle.section_offset + kSection);
  CheckRecords(base, "a", written, {}, "reader");
  CheckHoleReported(base, dir, "a", written, {1, 2, 3, 4, 5});
}

TEST_CASE("PowerCutZeroedStretchInOpenSection") {
  // Frames 10 to 14 of an open section never reached the disk; frames 15 to 39 after them did.
  TempDir dir;
  const std::string base = dir.path("zeros.slog");
  std::vector<std::string> written;
  for (int i = 0; i < 40; ++i) written.push_back(Numbered("b", i, 50));
  std::string snap;
  {
    auto w = Writer::Open(base, ExampleOptions());
    REQUIRE(w.has_value());
    auto b = w.value()->OpenStream({"b", Encoding::kBinary, 0});
    REQUIRE(b.has_value());
    for (size_t i = 0; i < written.size(); ++i) {
      REQUIRE(w.value()->Append(b.value(), written[i], static_cast<int64_t>(i)).ok());
    }
    REQUIRE(w.value()->Sync().ok());
    snap = CopyLog(base, dir, "power-cut");  // the writer still has it open
  }
  const FrameLoc f10 = FindFrame(snap, "b", FragmentKind::kFull, 10);
  const FrameLoc f15 = FindFrame(snap, "b", FragmentKind::kFull, 15);
  REQUIRE_FALSE(f10.section_closed);
  REQUIRE(f10.section_offset == f15.section_offset);
  ZeroBytes(f10.file, f10.offset, f15.offset);
  std::vector<int> must;
  for (int i = 0; i < 40; ++i) {
    if (i < 10 || i >= 15) must.push_back(i);
  }
  CheckRecords(snap, "b", written, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "reader");
  CheckHoleReported(snap, dir, "b", written, must);
}

TEST_CASE("PowerCutLostCloseBlockBeforeLaterSection") {
  // The stream's first section lost its last frames and its close block; its next section, opened
  // after it, reached the disk. Its records are after a hole, not a torn tail.
  TempDir dir;
  const std::string base = dir.path("later.slog");
  std::vector<std::string> written;
  for (int i = 0; i < 60; ++i) written.push_back(Numbered("c", i, 200));
  std::string snap;
  {
    auto w = Writer::Open(base, ExampleOptions());
    REQUIRE(w.has_value());
    auto c = w.value()->OpenStream({"c", Encoding::kBinary, 0});
    REQUIRE(c.has_value());
    for (size_t i = 0; i < written.size(); ++i) {
      REQUIRE(w.value()->Append(c.value(), written[i], static_cast<int64_t>(i)).ok());
    }
    REQUIRE(w.value()->Sync().ok());
    snap = CopyLog(base, dir, "power-cut");
  }
  const std::vector<FrameLoc> frames = Frames(snap);
  std::vector<FrameLoc> first_section;
  for (const FrameLoc& f : frames) {
    if (f.stream == "c" && f.section_closed && (first_section.empty() || f.section_offset == first_section[0].section_offset)) {
      first_section.push_back(f);
    }
  }
  REQUIRE(first_section.size() > 5);
  const int n = static_cast<int>(first_section.size());
  const FrameLoc& lost = first_section[first_section.size() - 3];
  ZeroBytes(lost.file, lost.offset, lost.section_offset + kSection);             // the last three frames
  ZeroBytes(lost.file, lost.section_offset + 32, lost.section_offset + kSectionHeaderSize);  // the close block
  std::vector<int> must, before;
  for (int i = 0; i < 60; ++i) {
    if (i < n - 3 || i >= n) must.push_back(i);
    if (i < n - 3) before.push_back(i);
  }
  CheckRecords(snap, "c", written, before, "reader");
  CheckHoleReported(snap, dir, "c", written, must);
}

}  // namespace slablog::test
