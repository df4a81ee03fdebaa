// Damage injected into real logs, one test per reader error branch (LevelDB log_test style): each
// asserts the records that still come back, the kind reported, and the bytes dropped.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "testutil.h"

namespace slablog::test {
namespace {

// Three streams, records small and large (the large ones fragment), over several slabs.
struct Fixture {
  TempDir dir;
  std::string base = dir.path("log.slog");
  std::vector<std::pair<std::string, std::string>> written;

  Fixture() {
    for (int i = 0; i < 60; ++i) {
      written.emplace_back("a", "a-record-" + std::to_string(i));
      written.emplace_back("b", std::string(700, static_cast<char>('0' + i % 10)));
      if (i % 20 == 5) written.emplace_back("big", std::string(20000, static_cast<char>('A' + i % 26)));
    }
    WriteLog(base, SmallOptions(), written);
  }
  std::string slab(uint32_t i) const { return SlabPath(base, i); }
  size_t Count(const std::string& stream) const {
    size_t n = 0;
    for (const auto& w : written) n += w.first == stream;
    return n;
  }
};

// Every record returned is one that was written, in order within its stream (no partial record
// ever comes back).
void CheckSubsequence(const Fixture& f, const ReadResult& r) {
  for (const std::string stream : {"a", "b", "big"}) {
    std::vector<std::string> want;
    for (const auto& w : f.written) {
      if (w.first == stream) want.push_back(w.second);
    }
    size_t j = 0;
    for (const auto& rec : r.OfStream(stream)) {
      while (j < want.size() && want[j] != rec.payload) ++j;
      CHECK_MESSAGE(j < want.size(), "record not written, or out of order, in stream " << stream);
      ++j;
    }
  }
}

}  // namespace

TEST_CASE("IntactFixtureReadsCompletely") {
  Fixture f;
  ReadResult r = ReadAll(f.base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.records.size() == f.written.size());
  CHECK(r.summary.slabs > 2);
}

TEST_CASE("ChecksumMismatch") {
  Fixture f;
  const FrameLoc b = FindFrame(f.base, "b", FragmentKind::kFull, 3);
  FlipBit(b.file, b.offset + kFrameHeaderSize + 100, 2);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kChecksum));
  CHECK(r.reporter.events.size() == 1);
  // The damaged record and the rest of its section are dropped; later sections still read.
  CHECK(r.OfStream("b").size() < f.Count("b"));
  CHECK(r.OfStream("b").size() > 3);
  CHECK(r.OfStream("a").size() == f.Count("a"));
  CHECK(r.reporter.DroppedBytes() >= kFrameHeaderSize + 700);
  CheckSubsequence(f, r);
}

TEST_CASE("BadLength") {
  Fixture f;
  const FrameLoc a = FindFrame(f.base, "a", FragmentKind::kFull, 2);
  SetByte(a.file, a.offset + 6, 0x7f);  // length now ~8 MB, far past the section
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadLength));
  CHECK(r.OfStream("a").size() < f.Count("a"));
  CheckSubsequence(f, r);
}

TEST_CASE("HugeLengthFieldDoesNotAllocate") {
  Fixture f;
  const FrameLoc a = FindFrame(f.base, "a", FragmentKind::kFull, 0);
  for (int i = 4; i < 8; ++i) SetByte(a.file, a.offset + static_cast<uint64_t>(i), 0xff);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadLength));
  CHECK(r.OfStream("b").size() == f.Count("b"));
}

TEST_CASE("BadType") {
  Fixture f;
  const FrameLoc b = FindFrame(f.base, "b", FragmentKind::kFull, 1);
  SetByte(b.file, b.offset + 16, 9);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadType));
  CheckSubsequence(f, r);
}

TEST_CASE("ZeroKindInsideClosedSection") {
  Fixture f;
  const FrameLoc b = FindFrame(f.base, "b", FragmentKind::kFull, 1);
  REQUIRE(b.section_closed);
  SetByte(b.file, b.offset + 16, 0);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadType));
  CheckSubsequence(f, r);
}

TEST_CASE("OrphanFragment") {
  Fixture f;
  // FIRST relabelled FULL (and re-CRCed): it reads as a short record, and the MIDDLE after it
  // has no FIRST.
  const FrameLoc first = FindFrame(f.base, "big", FragmentKind::kFirst, 0);
  SetByte(first.file, first.offset + 16, static_cast<uint8_t>(FragmentKind::kFull));
  FixChecksum(first.file, LogIdOf(f.slab(0)), first.section_offset, first.offset);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kOrphanFragment));
  CHECK_FALSE(r.reporter.Has(CorruptionKind::kChecksum));
  CHECK(r.OfStream("big").size() == f.Count("big"));  // the relabelled piece + the other two
}

TEST_CASE("UnfinishedFragment") {
  Fixture f;
  // LAST relabelled MIDDLE: the next record's FIRST arrives while this one is still open.
  const FrameLoc last = FindFrame(f.base, "big", FragmentKind::kLast, 0);
  SetByte(last.file, last.offset + 16, static_cast<uint8_t>(FragmentKind::kMiddle));
  FixChecksum(last.file, LogIdOf(f.slab(0)), last.section_offset, last.offset);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kUnfinishedFragment));
  CHECK(r.OfStream("big").size() == f.Count("big") - 1);
  CHECK(r.reporter.DroppedBytes() >= 20000 - 8192);
  CheckSubsequence(f, r);
}

TEST_CASE("DamagedSectionHeader") {
  Fixture f;
  const FrameLoc b = FindFrame(f.base, "b", FragmentKind::kFull, 10);
  FlipBit(b.file, b.section_offset + 20, 0);  // inside the seq field: header CRC fails
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadSection));
  CHECK(r.OfStream("b").size() < f.Count("b"));
  CHECK(r.OfStream("b").size() >= 10);
  CHECK(r.OfStream("a").size() == f.Count("a"));  // other streams' sections are untouched
  CheckSubsequence(f, r);
}

TEST_CASE("MissingSectionHeader") {
  Fixture f;
  const FrameLoc b = FindFrame(f.base, "b", FragmentKind::kFull, 10);
  std::string bytes = ReadFile(b.file);
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(b.section_offset), kSectionHeaderSize, '\0');
  WriteFile(b.file, bytes);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadSection));
  CHECK(r.OfStream("a").size() == f.Count("a"));
  CheckSubsequence(f, r);
}

TEST_CASE("TornCloseBlockReadsAsOpen") {
  Fixture f;
  const FrameLoc b = FindFrame(f.base, "b", FragmentKind::kFull, 0);
  REQUIRE(b.section_closed);
  FlipBit(b.file, b.section_offset + 44, 1);  // the close block's filled field
  ReadResult r = ReadAll(f.base);
  // The section's frames are still found one by one; nothing is lost. But the stream goes on
  // after a section left open, which only a power cut does, and frames may have been lost after
  // its last one: that is reported (man slablog.5, G3).
  CHECK(r.records.size() == f.written.size());
  REQUIRE_MESSAGE(r.reporter.events.size() == 1, r.reporter.Describe());
  CHECK(r.reporter.events[0].kind == CorruptionKind::kMissingData);
}

TEST_CASE("DamagedSlabHeader") {
  Fixture f;
  FlipBit(f.slab(1), 40, 3);  // capacity field: slab header CRC fails
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadFileHeader));
  CHECK(r.records.size() < f.written.size());
  CHECK(r.records.size() > 0);
  CheckSubsequence(f, r);
}

TEST_CASE("MissingSlab") {
  Fixture f;
  std::filesystem::remove(f.slab(1));
  ReadResult r = ReadAll(f.base);
  REQUIRE(r.opened);
  bool named = false, duplicate = false;
  for (const auto& e : r.reporter.events) {
    named |= e.detail.find("slab 1 is missing") != std::string::npos;
    duplicate |= e.detail.find("duplicate") != std::string::npos;
  }
  CHECK_MESSAGE(named, r.reporter.Describe());
  // The slabs after the gap are each read once, and nothing makes the log look as if a writer
  // were still adding slabs.
  CHECK_MESSAGE(!duplicate, r.reporter.Describe());
  CHECK_FALSE(r.summary.writer_active);
  CheckSubsequence(f, r);
}

TEST_CASE("ASlabFileThatLostItsFirstSectorIsReportedByNameWhileAnyProcessLocksTheLog") {
  // A lock on a slab file (a writer's, or `flock -x` on one) makes a log look live, and a live
  // ring's writer may take over a slab file under a reader. One that still has its name was not
  // taken over: its damage is reported with its file and offset exactly as without the lock.
  TempDir dir;
  const std::string base = dir.path("y.slog");
  WriterOptions options = SmallOptions();
  size_t damaged_slab = 2;
  SUBCASE("a ring") { options.ring_slabs = 8; }
  SUBCASE("the oldest slab of a ring") {
    options.ring_slabs = 8;
    damaged_slab = 0;
  }
  SUBCASE("not a ring") {}
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 4000; ++i) records.emplace_back("s", std::to_string(i) + std::string(static_cast<size_t>(100 + i % 50), 'x'));
  WriteLog(base, options, records);
  const auto files = ListSlabFiles(base);
  REQUIRE(files.size() >= 6);
  const std::string damaged = files[damaged_slab].second;
  ZeroBytes(damaged, 0, 512);  // one sector lost
  const ReadResult unlocked = ReadAll(base);
  // Held as a writer holds its slab files.
  const int fd = ::open(files.back().second.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(flock(fd, LOCK_EX) == 0);
  const ReadResult locked = ReadAll(base);
  ::close(fd);
  CHECK(locked.opened == unlocked.opened);
  CHECK(locked.open_error == unlocked.open_error);
  if (damaged_slab == 0) {
    // The first file is what the log is judged by: no log without its header.
    CHECK(!locked.opened);
    CHECK(locked.open_error.find(damaged) != std::string::npos);
    return;
  }
  CHECK(locked.summary.writer_active);
  bool named = false;
  for (const auto& e : locked.reporter.events) {
    named |= e.file == damaged && e.offset == 0 && e.kind == CorruptionKind::kBadFileHeader;
  }
  CHECK_MESSAGE(named, locked.reporter.Describe());
  CHECK(locked.reporter.Describe() == unlocked.reporter.Describe());
  CHECK(locked.records == unlocked.records);
  CHECK(locked.summary.ring_overtaken == 0);
}

TEST_CASE("DuplicatedSlab") {
  Fixture f;
  std::string joined = ReadFile(f.slab(0)) + ReadFile(f.slab(1)) + ReadFile(f.slab(1));
  for (uint32_t i = 2; std::filesystem::exists(f.slab(i)); ++i) joined += ReadFile(f.slab(i));
  WriteFile(f.dir.path("dup.bin"), joined);
  ReadResult r = ReadAll(f.dir.path("dup.bin"));
  bool named = false;
  for (const auto& e : r.reporter.events) named |= e.detail.find("duplicate") != std::string::npos;
  CHECK_MESSAGE(named, r.reporter.Describe());
  CHECK(r.records.size() == f.written.size());  // the copy is skipped, nothing is read twice
}

TEST_CASE("SlabOfAnotherLog") {
  Fixture f;
  Fixture other;
  std::filesystem::copy_file(other.slab(1), f.slab(1), std::filesystem::copy_options::overwrite_existing);
  ReadResult r = ReadAll(f.base);
  bool named = false;
  for (const auto& e : r.reporter.events) named |= e.detail.find("another log") != std::string::npos;
  CHECK_MESSAGE(named, r.reporter.Describe());
  CheckSubsequence(f, r);
}

TEST_CASE("DamagedEndMarker") {
  Fixture f;
  uint32_t last = 0;
  while (std::filesystem::exists(f.slab(last + 1))) ++last;
  const uint64_t size = std::filesystem::file_size(f.slab(last));
  FlipBit(f.slab(last), size - 10, 0);
  ReadResult r = ReadAll(f.base);
  CHECK(r.reporter.Has(CorruptionKind::kBadSection));
  CHECK_FALSE(r.summary.clean);
  CHECK(r.records.size() == f.written.size());
}

TEST_CASE("TornTailIsNotCorruption") {
  TempDir dir, crash;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 100; ++i) records.emplace_back("s", "rec" + std::to_string(i));
  records.emplace_back("s", std::string(30000, 'z'));  // fragments over sections
  records.emplace_back("s", "after");
  // What a kill leaves: open sections, no end marker, slab files at full size.
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), SmallOptions(), records);
  const FrameLoc last = FindFrame(snap, "s", FragmentKind::kFull, 100);
  CHECK_FALSE(last.section_closed);

  SUBCASE("a crash between frames loses nothing") {
    ReadResult r = ReadAll(snap);
    CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
    CHECK_FALSE(r.summary.clean);
    CHECK(r.records.size() == 102);
  }
  SUBCASE("a frame begun but not finished is a torn tail") {
    // Header and part of the payload written, the kind byte (stored last) not yet.
    const uint64_t at = last.offset + kFrameHeaderSize + last.length;
    SetByte(last.file, at + 4, 50);
    SetByte(last.file, at + kFrameHeaderSize, 'x');
    ReadResult r = ReadAll(snap);
    CHECK(r.reporter.Has(CorruptionKind::kTornTail));
    CHECK(r.reporter.events.size() == 1);
    CHECK(r.records.size() == 102);
  }
  SUBCASE("a last frame whose payload did not reach the disk is a torn tail") {
    SetByte(last.file, last.offset + kFrameHeaderSize + 2, 'Q');
    ReadResult r = ReadAll(snap);
    CHECK(r.reporter.Has(CorruptionKind::kTornTail));
    CHECK_FALSE(r.reporter.Has(CorruptionKind::kChecksum));
    CHECK(r.records.size() == 101);
  }
  SUBCASE("a record whose LAST never came is a torn tail") {
    const FrameLoc lastfrag = FindFrame(snap, "s", FragmentKind::kLast, 0);
    std::string bytes = ReadFile(lastfrag.file);
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(lastfrag.offset), bytes.end(), '\0');
    WriteFile(lastfrag.file, bytes);
    ReadResult r = ReadAll(snap);
    CHECK(r.reporter.Has(CorruptionKind::kTornTail));
    CHECK_FALSE(r.reporter.Has(CorruptionKind::kUnfinishedFragment));
    CHECK(r.records.size() == 100);
  }
}

TEST_CASE("GarbageIn") {
  TempDir dir;
  SUBCASE("empty file") {
    WriteFile(dir.path("empty"), "");
    ReadResult r = ReadAll(dir.path("empty"));
    CHECK_FALSE(r.opened);
    CHECK(r.open_error.find("empty") != std::string::npos);
  }
  SUBCASE("random bytes") {
    std::mt19937_64 rng(TestSeed());
    std::string junk(100000, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    WriteFile(dir.path("junk"), junk);
    ReadResult r = ReadAll(dir.path("junk"));
    CHECK_FALSE(r.opened);
    CHECK(r.open_error.find("not a slablog log") != std::string::npos);
  }
  SUBCASE("a directory") {
    ReadResult r = ReadAll(dir.dir());
    CHECK_FALSE(r.opened);
    CHECK(r.open_error.find("directory") != std::string::npos);
  }
  SUBCASE("missing") {
    ReadResult r = ReadAll(dir.path("nothing.slog"));
    CHECK_FALSE(r.opened);
    CHECK(r.open_error.find("no such log") != std::string::npos);
  }
  SUBCASE("a slab header followed by random bytes") {
    Fixture f;
    std::string bytes = ReadFile(f.slab(0));
    std::mt19937_64 rng(TestSeed());
    for (size_t i = kSlabHeaderSize; i < bytes.size(); ++i) bytes[i] = static_cast<char>(rng());
    WriteFile(dir.path("noise.bin"), bytes);
    ReadResult r = ReadAll(dir.path("noise.bin"));
    CHECK(r.opened);
    CHECK(r.records.empty());
    CHECK(r.reporter.Has(CorruptionKind::kBadSection));
  }
}

TEST_CASE("TruncatedAtEveryLength") {
  // ninja's DepsLogTest.Truncated: cut the log at every length; nothing crashes, and the records
  // read back never increase as the file gets shorter. Every length in long mode, a sample of
  // them otherwise; the cuts cover headers, frames and the end marker.
  TempDir dir;
  const std::string base = dir.path("t.slog");
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 40; ++i) records.emplace_back(i % 3 ? "x" : "y", std::string(static_cast<size_t>(i * 37 % 900), 'r'));
  WriterOptions o = SmallOptions();
  o.slab_size = 16 << 10;
  o.section_size = 4 << 10;
  WriteLog(base, o, records);
  std::string joined;
  for (uint32_t i = 0; std::filesystem::exists(SlabPath(base, i)); ++i) joined += ReadFile(SlabPath(base, i));
  size_t previous = records.size() + 1;
  const uint64_t seed = TestSeed();
  CAPTURE(seed);
  const std::vector<size_t> lengths = SweepPositions(joined.size(), 1000, seed);
  for (auto it = lengths.rbegin(); it != lengths.rend(); ++it) {
    const size_t len = *it + 1;
    CAPTURE(len);
    WriteFile(dir.path("cut.bin"), joined.substr(0, len));
    ReadResult r = ReadAll(dir.path("cut.bin"));
    CHECK(r.records.size() <= previous);
    previous = r.records.size();
    for (size_t i = 0; i < r.records.size(); ++i) {
      CHECK(r.records[i].payload.size() == records[static_cast<size_t>(r.records[i].timestamp)].second.size());
    }
  }
}

TEST_CASE("CrcHelperThreadsGiveTheSameRecordsAndReports") {
  // With helper threads checking CRCs ahead, what comes back must not change, damage or not.
  Fixture f;
  const FrameLoc b = FindFrame(f.base, "b", FragmentKind::kFull, 3);
  FlipBit(b.file, b.offset + kFrameHeaderSize + 10, 1);
  const FrameLoc last = FindFrame(f.base, "big", FragmentKind::kLast, 1);
  FlipBit(last.file, last.offset + kFrameHeaderSize + 5, 0);
  ReaderOptions one;
  one.threads = 1;
  ReaderOptions many;
  many.threads = 5;
  const ReadResult a = ReadAll(f.base, one);
  const ReadResult c = ReadAll(f.base, many);
  CHECK(a.records == c.records);
  CHECK(a.reporter.Describe() == c.reporter.Describe());
  CHECK(a.reporter.events.size() >= 2);
  CheckSubsequence(f, c);
}

}  // namespace slablog::test
