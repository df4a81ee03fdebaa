// Writers that take over the slab files of a retired log (WriterOptions::recycle): the new log
// reads as if its files were new, and files that are not the retired log's free slabs are left
// alone.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "io_faults.h"
#include "slablog/recovery.h"
#include "streaming_copy.h"
#include "testutil.h"

namespace slablog::test {
namespace {

std::vector<std::string> WriteRecords(Writer& w, const std::string& stream, int n, uint64_t seed) {
  auto h = w.OpenStream({stream, Encoding::kBinary, 0});
  REQUIRE(h);
  std::mt19937_64 rng(seed);
  std::vector<std::string> written;
  for (int i = 0; i < n; ++i) {
    written.push_back("new:" + std::to_string(i) + ":" + RandomSkewedString(rng, 12));
    REQUIRE(w.Append(h.value(), written.back(), i).ok());
  }
  return written;
}

void CheckReadsExactly(const std::string& base, const std::string& stream,
                       const std::vector<std::string>& written) {
  ReadResult r = ReadAll(base);
  REQUIRE(r.opened);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  const auto recs = r.OfStream(stream);
  REQUIRE(recs.size() == written.size());
  for (size_t i = 0; i < recs.size(); ++i) REQUIRE(recs[i].payload == written[i]);
  CHECK(r.records.size() == written.size());  // nothing of the retired log's stream
}

// A writer of `base` that takes its slab files from a retired log written next to it.
std::unique_ptr<Writer> OpenOnRetiredLog(const TempDir& dir, const std::string& base) {
  const std::string old_base = dir.path("old.slog");
  WriteRetiredLog(old_base, TestSeed());
  WriterOptions o = SmallOptions();
  o.recycle = old_base;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  return std::move(w.value());
}

// The same, with a retired log whose records hold slab headers, of its own log and of others,
// at every alignment.
std::unique_ptr<Writer> OpenOnRetiredLogOfSlabImages(const TempDir& dir, const std::string& base) {
  const std::string old_base = dir.path("old.slog");
  {
    auto old = Writer::Open(old_base, SmallOptions());
    REQUIRE(old);
    auto h = old.value()->OpenStream({"old", Encoding::kBinary, 0});
    REQUIRE(h);
    const std::string own_slab = ReadFile(SlabPath(old_base, 0)).substr(0, kSlabHeaderSize);
    std::string payload;
    for (size_t i = 0; i < 8; ++i) payload += own_slab + std::string(1 + i, 'q');
    for (int i = 0; i < 2000; ++i) REQUIRE(old.value()->Append(h.value(), payload, i).ok());
    REQUIRE(old.value()->Close().ok());
  }
  REQUIRE(ListSlabFiles(old_base).size() > 10);
  WriterOptions o = SmallOptions();
  o.recycle = old_base;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  return std::move(w.value());
}

}  // namespace

TEST_CASE("RecycledSlabsHoldOnlyTheNewLog") {
  TempDir dir;
  const std::string old_base = dir.path("old.slog"), base = dir.path("new.slog");
  const size_t old_slabs = WriteRetiredLog(old_base, TestSeed());
  REQUIRE(old_slabs > 20);
  WriterOptions o = SmallOptions();
  o.recycle = old_base;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  const auto written = WriteRecords(*w.value(), "fresh", 1200, TestSeed() + 1);
  const uint32_t slabs = w.value()->slab_count();
  REQUIRE(w.value()->Close().ok());
  REQUIRE(slabs > 5);
  REQUIRE(slabs < old_slabs);
  // Each slab of the new log is a file the retired log gave up, taken in slab order.
  CHECK(ListSlabFiles(old_base).size() == old_slabs - slabs);
  CHECK(ListSlabFiles(old_base).front().first == slabs);
  CheckReadsExactly(base, "fresh", written);
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v);
  CHECK_MESSAGE(v->ok(), problems.Describe());
}

TEST_CASE("RecycledLastSlabThatCannotBeTrimmedEndsInZeros") {
  // A reader holding the log's last slab keeps the closing writer from trimming it; the retired
  // log's bytes after the end marker must then not be left to read as a slab that is not there.
  TempDir dir;
  const std::string base = dir.path("new.slog");
  auto w = OpenOnRetiredLog(dir, base);
  const auto written = WriteRecords(*w, "fresh", 100, TestSeed() + 2);
  {
    auto live = Reader::Open(base, {}, nullptr);  // holds the last slab's trim lock
    REQUIRE(live);
    REQUIRE(w->Close().ok());
  }
  const auto files = ListSlabFiles(base);
  CHECK(std::filesystem::file_size(files.back().second) == SmallOptions().slab_size);  // untrimmed
  CheckReadsExactly(base, "fresh", written);
}

TEST_CASE("ARecycledLogWhoseCloseStoppedBeforeTheTrimReadsAsClosingNotAsDamage") {
  // Close() trims the last slab to end with the end marker. Stopped at that step (here the trim
  // fails; a kill or a power cut stops it the same way), no end marker may stand before the
  // retired log's bytes: the log reads as one whose writer was closing, which truncate repairs.
  TempDir dir;
  const std::string base = dir.path("new.slog");
  auto w = OpenOnRetiredLog(dir, base);
  const auto written = WriteRecords(*w, "fresh", 100, TestSeed() + 4);
  io_faults::SetHook([](io_faults::Op op, const char*) { return op == io_faults::Op::kFtruncate ? EIO : 0; });
  const Status closed = w->Close();
  io_faults::SetHook(nullptr);
  REQUIRE_FALSE(closed.ok());

  ReadResult r = ReadAll(base);
  REQUIRE(r.opened);
  CHECK_FALSE(r.summary.clean);
  for (const Corruption& c : r.reporter.events) CHECK_MESSAGE(c.kind == CorruptionKind::kTornTail, r.reporter.Describe());
  const auto recs = r.OfStream("fresh");
  REQUIRE(recs.size() == written.size());
  for (size_t i = 0; i < recs.size(); ++i) REQUIRE(recs[i].payload == written[i]);
  auto t = Truncate(base, {}, nullptr);
  REQUIRE_MESSAGE(t.has_value(), (t ? std::string() : Describe(t.error())));
  CheckReadsExactly(base, "fresh", written);
}

TEST_CASE("AManualCloseOfARecycledLastSlabWhoseTrimAPowerCutLostLeavesATailNotDamage") {
  // Under SyncPolicy::kManual, Close does not sync between trimming (or, with a reader holding
  // the slab, zeroing) a reused last slab and writing its end marker. A power cut can then keep
  // the marker and lose the trim: the retired log's bytes follow the marker. Nothing of the log is
  // lost; they read as a tail that truncate trims, never as damage that makes it refuse.
  // The retired log's records may hold anything, slab headers too (a log that stores files).
  for (const bool retired_records_hold_slab_headers : {false, true}) {
  for (const bool reader_holds_last : {false, true}) {
    CAPTURE(retired_records_hold_slab_headers);
    CAPTURE(reader_holds_last);
    TempDir dir;
    const std::string base = dir.path("new.slog");
    auto w = retired_records_hold_slab_headers ? OpenOnRetiredLogOfSlabImages(dir, base) : OpenOnRetiredLog(dir, base);
    const auto written = WriteRecords(*w, "fresh", 310, TestSeed() + 5);
    const std::string last = ListSlabFiles(base).back().second;
    const std::string before_close = ReadFile(last);
    {
      std::unique_ptr<Reader> live;
      if (reader_holds_last) live = std::move(Reader::Open(base, {}, nullptr).value());
      REQUIRE(w->Close().ok());
    }
    const std::string at_close = ReadFile(last);
    const ReadResult closed = ReadAll(base);
    REQUIRE(closed.summary.clean);
    const uint64_t marker_end = closed.summary.end_marker_offset + kSectionHeaderSize;
    // Every sector after the end marker's holds what it held before Close.
    const size_t kept = (marker_end + 511) / 512 * 512;
    REQUIRE(kept < before_close.size());
    WriteFile(last, at_close.substr(0, kept) + before_close.substr(kept));
    REQUIRE(ReadFile(last).substr(kept) != std::string(before_close.size() - kept, '\0'));

    ReadResult r = ReadAll(base);
    REQUIRE(r.opened);
    CHECK(r.summary.clean);
    REQUIRE_FALSE(r.reporter.events.empty());
    for (const Corruption& c : r.reporter.events) CHECK_MESSAGE(c.kind == CorruptionKind::kTornTail, r.reporter.Describe());
    const auto recs = r.OfStream("fresh");
    REQUIRE(recs.size() == written.size());
    for (size_t i = 0; i < recs.size(); ++i) REQUIRE(recs[i].payload == written[i]);
    auto v = Verify(base, {}, nullptr);
    REQUIRE(v.has_value());
    CHECK(v->damage == 0);
    CHECK(v->torn > 0);
    auto t = Truncate(base, {}, nullptr);
    REQUIRE_MESSAGE(t.has_value(), (t ? std::string() : Describe(t.error())));
    CHECK(std::filesystem::file_size(last) == marker_end);
    CheckReadsExactly(base, "fresh", written);
  }
  }
}

TEST_CASE("ReadersOfALogWrittenIntoRecycledSlabsNeverMeetTheRetiredLog") {
  // Only the frame header after each frame is zeroed before the frame is there; the frame itself
  // overwrites the retired log's bytes. Readers that run while the writer appends (small frames,
  // frames copied past the cache, fragments) must never see those bytes: no report at all, and
  // every record read is the one written.
  TempDir dir;
  const std::string old_base = dir.path("old.slog"), base = dir.path("new.slog");
  WriteRetiredLog(old_base, TestSeed() + 3);
  std::mt19937_64 rng(TestSeed() + 4);
  std::vector<std::string> written;
  size_t streamed = 0;
  for (int i = 0; i < 1500; ++i) {
    written.push_back("new:" + std::to_string(i) + ":" + RandomSkewedString(rng, 15));
    streamed += written.back().size() >= kStreamingCopyMin;
  }
  REQUIRE(streamed > 10);
  WriterOptions o = SmallOptions();
  o.section_size = 32 << 10;  // room for frames that StreamingCopy writes
  o.recycle = old_base;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  auto h = w.value()->OpenStream({"fresh", Encoding::kBinary, 0});
  REQUIRE(h);
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::thread writer([&] {
    for (size_t i = 0; i < written.size(); ++i) {
      // A few records per read: readers see the log at many lengths, some while a frame is stored.
      if (i % 20 == 0) {
        const int seen = reads.load();
        WaitUntil([&] { return reads.load() != seen; });
      }
      if (!w.value()->Append(h.value(), written[i], static_cast<int64_t>(i)).ok()) break;
    }
    done = true;
  });
  size_t most = 0;
  while (!done) {
    ReadResult r = ReadAll(base);
    ++reads;
    if (!r.opened) continue;  // the first slab not there yet
    CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
    const auto recs = r.OfStream("fresh");
    REQUIRE(recs.size() <= written.size());
    for (size_t i = 0; i < recs.size(); ++i) REQUIRE(recs[i].payload == written[i]);
    most = std::max(most, recs.size());
  }
  writer.join();
  REQUIRE(w.value()->Close().ok());
  MESSAGE("reads while writing: ", reads.load(), ", most records seen: ", most);
  CHECK(reads >= 75);                          // one at least every 20 records
  CHECK(ListSlabFiles(old_base).size() < 10);  // most of the new log is in reused files
  CheckReadsExactly(base, "fresh", written);
}

TEST_CASE("RecyclingLeavesAloneWhatIsNotARetiredSlab") {
  TempDir dir;
  const std::string base = dir.path("new.slog");

  SUBCASE("its own log") {
    WriterOptions o = SmallOptions();
    o.recycle = base;
    auto w = Writer::Open(base, o);
    REQUIRE_FALSE(w);
    CHECK(w.error().code == Errc::kInvalidArgument);
  }
  SUBCASE("no retired log: new files") {
    WriterOptions o = SmallOptions();
    o.recycle = dir.path("absent.slog");
    auto w = Writer::Open(base, o);
    REQUIRE(w);
    const auto written = WriteRecords(*w.value(), "s", 300, 5);
    REQUIRE(w.value()->Close().ok());
    CheckReadsExactly(base, "s", written);
  }
  SUBCASE("files that are not slabs, and a log a writer still holds") {
    const std::string junk = dir.path("junk.slog");
    WriteFile(SlabPath(junk, 0), "not a slab at all");
    const std::string busy = dir.path("busy.slog");
    auto holder = Writer::Open(busy, SmallOptions());
    REQUIRE(holder);
    const auto busy_written = WriteRecords(*holder.value(), "b", 400, 6);
    const size_t busy_slabs = ListSlabFiles(busy).size();
    REQUIRE(busy_slabs > 2);
    {
      // Not slabs: left alone, and the new log gets new files.
      WriterOptions o = SmallOptions();
      o.recycle = junk;
      const std::string mine = dir.path("junk.mine.slog");
      auto w = Writer::Open(mine, o);
      REQUIRE_MESSAGE(w, (w ? "" : Describe(w.error())));
      const auto written = WriteRecords(*w.value(), "s", 300, 7);
      REQUIRE(w.value()->Close().ok());
      CheckReadsExactly(mine, "s", written);
    }
    {
      // A log a writer still holds: refused, saying so, and nothing made.
      WriterOptions o = SmallOptions();
      o.recycle = busy;
      const std::string mine = dir.path("busy.mine.slog");
      auto w = Writer::Open(mine, o);
      REQUIRE_FALSE(w);
      CHECK(w.error().code == Errc::kInvalidArgument);
      CHECK(Describe(w.error()).find("has this log open") != std::string::npos);
      CHECK(ListSlabFiles(mine).empty());
    }
    CHECK(ReadFile(SlabPath(junk, 0)) == "not a slab at all");
    CHECK(ListSlabFiles(busy).size() == busy_slabs);
    REQUIRE(holder.value()->Close().ok());
    CheckReadsExactly(busy, "b", busy_written);
  }
  SUBCASE("a log with the writer's own log id") {
    // Its stale sections would decode as the new log's: such a file is never taken.
    const std::string twin = dir.path("twin.slog");
    WriterOptions o = SmallOptions();
    o.log_id = LogId{1, 2, 3};
    {
      auto w = Writer::Open(twin, o);
      REQUIRE(w);
      WriteRecords(*w.value(), "t", 400, 8);
      REQUIRE(w.value()->Close().ok());
    }
    const size_t twin_slabs = ListSlabFiles(twin).size();
    o.recycle = twin;
    auto w = Writer::Open(base, o);
    REQUIRE(w);
    const auto written = WriteRecords(*w.value(), "s", 300, 9);
    REQUIRE(w.value()->Close().ok());
    CHECK(ListSlabFiles(twin).size() == twin_slabs);
    CheckReadsExactly(base, "s", written);
  }
}

}  // namespace slablog::test
