// What a power cut leaves that a process death never does, made by hand in real logs: a section
// whose frames never reached the disk while later sections did, a lost stretch inside an open
// section, and the format version 2 checks (fragment index and record length, reserved fields,
// a newer format). Each asserts what the reader returns, what it reports, and that verify,
// truncate and recover agree (man slablog.5, "Crash model": G1 and G3).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>

#include "coding.h"
#include "crc32c.h"
#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

void Store32(const std::string& file, uint64_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) SetByte(file, offset + static_cast<uint64_t>(i), static_cast<uint8_t>(v >> (8 * i)));
}

// Recomputes a slab header's CRC after a field was changed.
void FixSlabHeaderCrc(const std::string& file) {
  const std::string b = ReadFile(file);
  Store32(file, 60, crc32c::Value(b.data(), 60));
}

// Recomputes a section header's open CRC after one of bytes 8..31 was changed.
void FixSectionOpenCrc(const std::string& file, const LogId& id, uint64_t section) {
  const std::string b = ReadFile(file);
  const uint32_t seed = crc32c::Value(id.data(), id.size());
  Store32(file, section + 4, crc32c::Extend(seed, b.data() + section + 8, 24));
}

// One stream "big" whose record of 10,000 bytes spans sections 1, 2 and 3 of the stream (8 KiB
// sections: FIRST, MIDDLE, LAST) after a small record in section 0, and a few records after it.
struct SplitRecordLog {
  TempDir dir;
  std::string base = dir.path("cut.slog");
  std::string big = std::string(10000, 'B');

  SplitRecordLog() {
    WriterOptions o = SmallOptions();
    o.section_size = 4 << 10;
    std::vector<std::pair<std::string, std::string>> records = {{"big", "before"}, {"big", big}};
    for (int i = 0; i < 5; ++i) records.emplace_back("big", "after-" + std::to_string(i));
    WriteLog(base, o, records);
  }
};

struct Outcomes {
  ReadResult read;
  VerifyResult verify;
  Result<TruncateResult> truncate = Error{};
  ReadResult recovered;
};

// The reader, verify, truncate --dry-run and recover on the same damaged log.
Outcomes RunAll(const std::string& base, const std::string& recover_to) {
  Outcomes o;
  o.read = ReadAll(base);
  auto v = Verify(base, {}, nullptr);
  REQUIRE(v.has_value());
  o.verify = v.value();
  TruncateOptions dry;
  dry.dry_run = true;
  o.truncate = Truncate(base, dry, nullptr);
  auto rec = Recover(base, recover_to, SmallOptions(), nullptr);
  REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : Describe(rec.error())));
  CHECK(rec.value().problems > 0);
  o.recovered = ReadAll(recover_to);
  return o;
}

// What nothing lost leaves, a torn tail at most: verify finds no damage and truncate repairs it.
void CheckNoDamageAndTruncates(const std::string& base) {
  auto v = Verify(base, {}, nullptr);
  REQUIRE(v.has_value());
  CHECK(v.value().damage == 0);
  auto t = Truncate(base, {}, nullptr);
  CHECK_MESSAGE(t.has_value(), (t.has_value() ? std::string() : Describe(t.error())));
}

}  // namespace

TEST_CASE("PowerCutThatKeptTheFirstAndLastFragmentsNeverYieldsASplicedRecord") {
  // The example: the MIDDLE's section is on disk as it was when it was opened (its
  // 32-byte open header, nothing else), the FIRST's and LAST's sections are whole.
  SplitRecordLog log;
  const FrameLoc middle = FindFrame(log.base, "big", FragmentKind::kMiddle, 0);
  const FrameLoc first = FindFrame(log.base, "big", FragmentKind::kFirst, 0);
  REQUIRE(middle.section_seq == first.section_seq + 1);
  ZeroBytes(middle.file, middle.section_offset + 32, middle.section_offset + (4 << 10));
  Outcomes o = RunAll(log.base, log.dir.path("salvaged.slog"));

  for (const auto& r : o.read.OfStream("big")) CHECK(r.payload.size() != 6020);
  CHECK(o.read.OfStream("big").size() == 6);  // all but the big one
  CHECK_MESSAGE(o.read.reporter.Has(CorruptionKind::kMissingData), o.read.reporter.Describe());
  CHECK(o.verify.damage > 0);
  REQUIRE_FALSE(o.truncate.has_value());
  CHECK(o.truncate.error().code == Errc::kCorruption);
  CHECK(o.truncate.error().message.find("recover") != std::string::npos);
  CHECK(o.recovered.OfStream("big").size() == 6);
  for (const auto& r : o.recovered.records) CHECK(r.payload.size() < 100);  // no piece of the big one
}

TEST_CASE("FragmentsMustComeInOrderAndAddUpToTheLengthTheFirstGives") {
  SplitRecordLog log;
  const LogId id = LogIdOf(SlabPath(log.base, 0));
  const FrameLoc last = FindFrame(log.base, "big", FragmentKind::kLast, 0);
  SUBCASE("a LAST numbered as if a fragment were missing") {
    SetByte(last.file, last.offset + 17, 7);
  }
  SUBCASE("a FIRST that claims one byte more than its fragments hold") {
    const FrameLoc first = FindFrame(log.base, "big", FragmentKind::kFirst, 0);
    SetByte(first.file, first.offset + kFrameHeaderSize, static_cast<uint8_t>((10000 + 1) & 0xFF));
    FixChecksum(first.file, id, first.section_offset, first.offset);
  }
  FixChecksum(last.file, id, last.section_offset, last.offset);
  ReadResult r = ReadAll(log.base);
  CHECK(r.OfStream("big").size() == 6);
  CHECK_MESSAGE(r.reporter.Has(CorruptionKind::kMissingData), r.reporter.Describe());
  TruncateOptions dry;
  dry.dry_run = true;
  CHECK_FALSE(Truncate(log.base, dry, nullptr).has_value());
}

TEST_CASE("LostFramesInsideAnOpenSectionAreAHoleNotATornTail") {
  TempDir dir, crash;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 40; ++i) records.emplace_back("s", "record-" + std::to_string(i));
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), SmallOptions(), records);
  const FrameLoc f10 = FindFrame(snap, "s", FragmentKind::kFull, 10);
  const FrameLoc f12 = FindFrame(snap, "s", FragmentKind::kFull, 12);
  REQUIRE_FALSE(f10.section_closed);
  // Records 10 and 11 never reached the disk; 12 to 39 did.
  ZeroBytes(f10.file, f10.offset, f12.offset);
  Outcomes o = RunAll(snap, dir.path("salvaged.slog"));

  CHECK(o.read.OfStream("s").size() == 38);
  CHECK_MESSAGE(o.read.reporter.Has(CorruptionKind::kMissingData), o.read.reporter.Describe());
  CHECK_FALSE(o.read.reporter.Has(CorruptionKind::kTornTail));
  CHECK(o.verify.damage > 0);
  REQUIRE_FALSE(o.truncate.has_value());
  CHECK(o.truncate.error().code == Errc::kCorruption);
  CHECK(o.recovered.OfStream("s").size() == 38);
  CHECK(o.recovered.OfStream("s").back().payload == "record-39");
}

TEST_CASE("AfterAHoleReadingResumesAtAnIntactFrameWhateverBytesFollowIt") {
  // After a power cut on a reused slab, the frame header after an intact frame may hold the
  // retired log's bytes again: the frame must still be found and read.
  TempDir dir, crash;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 40; ++i) records.emplace_back("s", "record-" + std::to_string(i));
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), SmallOptions(), records);
  const FrameLoc f10 = FindFrame(snap, "s", FragmentKind::kFull, 10);
  const FrameLoc f11 = FindFrame(snap, "s", FragmentKind::kFull, 11);
  const FrameLoc f12 = FindFrame(snap, "s", FragmentKind::kFull, 12);
  ZeroBytes(f10.file, f10.offset, f11.offset);  // record 10 lost
  SetByte(f12.file, f12.offset + 16, 0xA7);      // record 12's header: stale bytes
  ReadResult r = ReadAll(snap);
  const auto s = r.OfStream("s");
  REQUIRE(s.size() == 38);
  CHECK(s[10].payload == "record-11");
  CHECK(s[11].payload == "record-13");
  CHECK(r.reporter.Has(CorruptionKind::kMissingData));
}

TEST_CASE("AnOpenSectionTooCostlyToSearchIsDamageNotATornTail") {
  // A record's payload built to look like frame headers every 8 bytes, each claiming most of the
  // section, exhausts the search for the next intact frame after its own header was lost. Not
  // having found one is no proof that none follows: the records after it were written, so this
  // must be reported, never cut quietly as a torn tail.
  TempDir dir, crash;
  std::string crafted(3000, '\0');
  for (size_t i = 0; i + 8 <= crafted.size(); i += 8) {
    crafted[i] = 1;  // reads as kind FULL, index 0
    coding::Store<uint32_t>(reinterpret_cast<uint8_t*>(crafted.data() + i + 4), 4800);
  }
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 5; ++i) records.emplace_back("s", "before-" + std::to_string(i));
  records.emplace_back("s", crafted);
  for (int i = 0; i < 20; ++i) records.emplace_back("s", "after-" + std::to_string(i));
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), SmallOptions(), records);
  const FrameLoc f = FindFrame(snap, "s", FragmentKind::kFull, 5);
  REQUIRE(f.length == crafted.size());
  REQUIRE_FALSE(f.section_closed);
  ZeroBytes(f.file, f.offset, f.offset + kFrameHeaderSize);
  Outcomes o = RunAll(snap, dir.path("salvaged.slog"));

  CHECK(o.read.OfStream("s").size() == 5);
  CHECK_MESSAGE(o.read.reporter.Has(CorruptionKind::kMissingData), o.read.reporter.Describe());
  CHECK_FALSE(o.read.reporter.Has(CorruptionKind::kTornTail));
  CHECK(o.verify.damage > 0);
  REQUIRE_FALSE(o.truncate.has_value());
  CHECK(o.truncate.error().code == Errc::kCorruption);
}

TEST_CASE("AnOpenSectionTheStreamGoesOnFromIsAHole") {
  TempDir dir;
  const std::string base = dir.path("log.slog");
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 60; ++i) records.emplace_back("b", std::string(700, static_cast<char>('0' + i % 10)));
  WriteLog(base, SmallOptions(), records);
  const FrameLoc b3 = FindFrame(base, "b", FragmentKind::kFull, 3);
  REQUIRE(b3.section_closed);
  // The close block and the frames after record 3 of the section did not reach the disk; the
  // stream's later sections did.
  const uint64_t after_b3 = b3.offset + kFrameHeaderSize + b3.length;
  ZeroBytes(b3.file, b3.section_offset + 32, b3.section_offset + kSectionHeaderSize);
  ZeroBytes(b3.file, after_b3, b3.section_offset + (8 << 10));
  Outcomes o = RunAll(base, dir.path("salvaged.slog"));

  CHECK(o.read.reporter.events.size() == 1);
  CHECK_MESSAGE(o.read.reporter.Has(CorruptionKind::kMissingData), o.read.reporter.Describe());
  CHECK(o.read.reporter.events.front().offset == after_b3);
  CHECK(o.verify.damage >= 1);  // and the end marker vouches for a section left open
  REQUIRE_FALSE(o.truncate.has_value());
  CHECK(o.truncate.error().offset == after_b3);
  const size_t lost = 60 - o.read.OfStream("b").size();
  CHECK(lost > 0);
  CHECK(o.recovered.OfStream("b").size() == 60 - lost);
}

TEST_CASE("AnOpenSectionItsFramesFillIsNoHole") {
  // Records 0..19 fill their 4 KiB section exactly; the close block of that section, written when
  // record 20 started the next one, did not reach the disk before the power went. Nothing was lost.
  TempDir dir, crash;
  WriterOptions o = SmallOptions();
  o.section_size = 4 << 10;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 25; ++i) records.emplace_back("s", std::string(180, static_cast<char>('a' + i % 26)));
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), o, records);
  const FrameLoc f0 = FindFrame(snap, "s", FragmentKind::kFull, 0);
  const FrameLoc f20 = FindFrame(snap, "s", FragmentKind::kFull, 20);
  REQUIRE(f20.section_seq == f0.section_seq + 1);
  REQUIRE(f0.section_closed);
  ZeroBytes(f0.file, f0.section_offset + 32, f0.section_offset + kSectionHeaderSize);
  ReadResult r = ReadAll(snap);
  CHECK(r.OfStream("s").size() == 25);
  CHECK_MESSAGE(!r.reporter.Has(CorruptionKind::kMissingData), r.reporter.Describe());
  CheckNoDamageAndTruncates(snap);
}

TEST_CASE("AnOpenSectionAFirstFillsIsNoHole") {
  // The same for the section of a FIRST fragment (FIRST and MIDDLE fragments fill their section).
  TempDir dir, crash;
  WriterOptions o = SmallOptions();
  o.section_size = 4 << 10;
  const std::string big(10000, 'B');
  std::vector<std::pair<std::string, std::string>> records = {{"big", "before"}, {"big", big}};
  for (int i = 0; i < 5; ++i) records.emplace_back("big", "after-" + std::to_string(i));
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), o, records);
  const FrameLoc first = FindFrame(snap, "big", FragmentKind::kFirst, 0);
  REQUIRE(first.section_closed);
  ZeroBytes(first.file, first.section_offset + 32, first.section_offset + kSectionHeaderSize);
  ReadResult r = ReadAll(snap);
  const auto got = r.OfStream("big");
  REQUIRE(got.size() == 7);
  CHECK(got[1].payload == big);
  CHECK_MESSAGE(!r.reporter.Has(CorruptionKind::kMissingData), r.reporter.Describe());
  CheckNoDamageAndTruncates(snap);
}

TEST_CASE("AWriterKilledInAFrameWhosePayloadLooksLikeFramesLeavesATornTail") {
  // The payload holds frame headers (a stream archiving another log's frames, say): searching it
  // for an intact frame runs out of budget, yet only zeros follow the frame the writer was
  // writing, which is what a kill before its kind byte was stored leaves.
  TempDir dir, crash;
  WriterOptions o = SmallOptions();
  o.slab_size = 256 << 10;
  o.section_size = 64 << 10;
  std::string payload(60000, '\0');
  for (size_t q = 0; q + kFrameHeaderSize <= payload.size(); q += kFrameHeaderSize) {
    coding::Store<uint32_t>(reinterpret_cast<uint8_t*>(payload.data() + q + 4), 30000);
    payload[q + 16] = 1;  // FULL, fragment 0
  }
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), o, {{"s", "a"}, {"s", payload}});
  const FrameLoc big = FindFrame(snap, "s", FragmentKind::kFull, 1);
  REQUIRE(big.length == payload.size());
  REQUIRE_FALSE(big.section_closed);
  SetByte(big.file, big.offset + 16, 0);  // killed before the kind byte, stored last
  ReadResult r = ReadAll(snap);
  CHECK(r.OfStream("s").size() == 1);
  CHECK_MESSAGE(!r.reporter.Has(CorruptionKind::kMissingData), r.reporter.Describe());
  CheckNoDamageAndTruncates(snap);
}

TEST_CASE("DamageInTheMiddleOfASectionLosesOnlyTheDamagedFrame") {
  TempDir dir;
  const std::string base = dir.path("log.slog");
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 30; ++i) records.emplace_back("a", "a-record-" + std::to_string(i));
  WriteLog(base, SmallOptions(), records);
  const FrameLoc a5 = FindFrame(base, "a", FragmentKind::kFull, 5);
  FlipBit(a5.file, a5.offset + kFrameHeaderSize + 1, 3);
  ReadResult r = ReadAll(base);
  CHECK(r.reporter.Has(CorruptionKind::kChecksum));
  REQUIRE(r.OfStream("a").size() == 29);
  CHECK(r.OfStream("a")[5].payload == "a-record-6");
}

TEST_CASE("ReservedFieldsMustBeZero") {
  TempDir dir;
  const std::string base = dir.path("log.slog");
  WriteLog(base, SmallOptions(), {{"a", "one"}, {"a", "two"}});
  const std::string slab0 = SlabPath(base, 0);
  const LogId id = LogIdOf(slab0);
  const FrameLoc one = FindFrame(base, "a", FragmentKind::kFull, 0);
  SUBCASE("the slab header's reserved field") {
    SetByte(slab0, 57, 1);
    FixSlabHeaderCrc(slab0);
    ReadResult r = ReadAll(base);
    CHECK(r.records.empty());
    CHECK(r.reporter.Has(CorruptionKind::kBadFileHeader));
  }
  SUBCASE("a section header's reserved field") {
    SetByte(one.file, one.section_offset + 13, 1);
    FixSectionOpenCrc(one.file, id, one.section_offset);
    ReadResult r = ReadAll(base);
    CHECK(r.OfStream("a").empty());
    CHECK(r.reporter.Has(CorruptionKind::kBadSection));
  }
  SUBCASE("a FULL frame's fragment index") {
    SetByte(one.file, one.offset + 18, 1);
    FixChecksum(one.file, id, one.section_offset, one.offset);
    ReadResult r = ReadAll(base);
    REQUIRE(r.OfStream("a").size() == 1);
    CHECK(r.OfStream("a")[0].payload == "two");
    CHECK(r.reporter.Has(CorruptionKind::kBadType));
  }
}

TEST_CASE("ASlabOfANewerFormatIsUnsupportedNotDamaged") {
  TempDir dir;
  const std::string base = dir.path("log.slog");
  WriteLog(base, SmallOptions(), {{"a", "one"}});
  const std::string slab0 = SlabPath(base, 0);
  SUBCASE("a newer version") {
    SetByte(slab0, 8, 3);
    FixSlabHeaderCrc(slab0);
    auto r = Reader::Open(base, {}, nullptr);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Errc::kUnsupported);
    CHECK(r.error().message.find("format version 3 is newer than this slablog reads") != std::string::npos);
    CHECK_FALSE(Verify(base, {}, nullptr).has_value());
    CHECK(Truncate(base, {}, nullptr).error().code == Errc::kUnsupported);
  }
  SUBCASE("an incompatible feature flag") {
    SetByte(slab0, 39, 0x80);
    FixSlabHeaderCrc(slab0);
    auto r = Reader::Open(base, {}, nullptr);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Errc::kUnsupported);
    CHECK(r.error().message.find("incompatible flags 0x80000000") != std::string::npos);
  }
  SUBCASE("a compatible feature flag is ignored") {
    SetByte(slab0, 36, 0x01);
    FixSlabHeaderCrc(slab0);
    ReadResult r = ReadAll(base);
    CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
    CHECK(r.records.size() == 1);
  }
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("ARecordInProgressNeverContinuesPastAnOpenSectionThatLostFrames") {
  // Two records of three fragments each, A in sections 0..2 and B in 2..4 of the stream. Sections
  // 1 and 2 reached the disk as they were opened (headers only): A's FIRST and B's MIDDLE and
  // LAST survive, and their fragment numbers (0, then 1, 2) would line up.
  TempDir dir;
  const std::string base = dir.path("log.slog");
  WriterOptions o = SmallOptions();
  o.section_size = 4 << 10;
  const std::string a(8952, 'A'), b(7932, 'B');
  WriteLog(base, o, {{"s", a}, {"s", b}});
  const FrameLoc a_middle = FindFrame(base, "s", FragmentKind::kMiddle, 0);
  const FrameLoc b_first = FindFrame(base, "s", FragmentKind::kFirst, 1);
  REQUIRE(b_first.section_seq == a_middle.section_seq + 1);
  ZeroBytes(a_middle.file, a_middle.section_offset + 32, a_middle.section_offset + (4 << 10));
  ZeroBytes(b_first.file, b_first.section_offset + 32, b_first.section_offset + (4 << 10));
  Outcomes out = RunAll(base, dir.path("salvaged.slog"));
  for (const auto& r : out.read.records) CHECK((r.payload == a || r.payload == b));
  for (const auto& r : out.recovered.records) CHECK((r.payload == a || r.payload == b));
  CHECK(out.read.records.empty());
  CHECK(out.read.reporter.Has(CorruptionKind::kMissingData));
}

TEST_CASE("TruncateRefusesAHoleInAClosedSectionBeforeTheStreamsLastOnes") {
  TempDir dir, crash;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 200; ++i) records.emplace_back("s", std::string(300, static_cast<char>('a' + i % 26)));
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), SmallOptions(), records);
  const FrameLoc early = FindFrame(snap, "s", FragmentKind::kFull, 30);
  REQUIRE(early.section_closed);
  FlipBit(early.file, early.offset + kFrameHeaderSize + 7, 2);  // one sector of it lost or rotten
  auto t = Truncate(snap, {}, nullptr);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().code == Errc::kCorruption);
  CHECK(t.error().offset == early.offset);
  CHECK(t.error().message.find("recover") != std::string::npos);
}

TEST_CASE("AWriterStoppedInsideCloseLeavesALogTruncateRepairs") {
  // Every section closed, the end marker not yet written (Close() syncs in between).
  TempDir dir;
  const std::string base = dir.path("log.slog");
  WriteLog(base, SmallOptions(), {{"s", "one"}, {"s", "two"}, {"t", "three"}});
  const std::string last = SlabPath(base, 0);
  REQUIRE_FALSE(std::filesystem::exists(SlabPath(base, 1)));
  auto v = Verify(base, {}, nullptr);
  REQUIRE(v.has_value());
  const std::string bytes = ReadFile(last);
  std::string unmarked = bytes.substr(0, bytes.size() - kSectionHeaderSize);
  unmarked.resize(static_cast<size_t>(SmallOptions().slab_size), '\0');  // a crash leaves full-size slabs
  WriteFile(last, unmarked);
  CollectingReporter before;
  auto crashed = Verify(base, {}, &before);
  REQUIRE(crashed.has_value());
  CHECK(crashed.value().damage == 0);
  CHECK_FALSE(crashed.value().clean);
  auto t = Truncate(base, {}, nullptr);
  REQUIRE_MESSAGE(t.has_value(), (t ? std::string() : Describe(t.error())));
  auto after = Verify(base, {}, nullptr);
  REQUIRE(after.has_value());
  CHECK(after.value().ok());
  CHECK(ReadAll(base).records.size() == 3);
}

TEST_CASE("TruncateRefusesAStreamWhoseCatalogEntryWasLost") {
  TempDir dir, crash;
  const std::string snap = WriteCrashedLog(dir.path("live.slog"), crash.dir(), SmallOptions(), {{"a", "x"}, {"b", "y"}});
  // The catalog's second entry (stream b) did not reach the disk; b's section did.
  std::vector<FrameLoc> catalog;
  for (const FrameLoc& f : Frames(snap)) {
    if (f.stream_id == kCatalogStream) catalog.push_back(f);
  }
  REQUIRE(catalog.size() == 2);
  ZeroBytes(catalog[1].file, catalog[1].offset, catalog[1].offset + kFrameHeaderSize + catalog[1].length);
  auto t = Truncate(snap, {}, nullptr);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().message.find("which the catalog does not define") != std::string::npos);
}

TEST_CASE("ManyDamagedFramesWhosePayloadsLookLikeFramesTakeTimeLinearInTheSection") {
  // Every other frame of a 16 MiB section is damaged, and each one's payload holds 8 frame headers
  // claiming nearly the rest of the section: a budget per search would make that hours of CRCs
  // (4x the time for each doubling of the section); one budget per section keeps it linear.
  TempDir dir;
  const std::string base = dir.path("q.slog");
  WriterOptions o = SmallOptions();
  const uint64_t section = 16 << 20;
  o.section_size = section;
  o.slab_size = section * 2 + (64 << 10);
  constexpr uint64_t kPayload = 200, kFrame = kFrameHeaderSize + kPayload;
  const uint64_t n = (section - kSectionHeaderSize - 4096) / kFrame;
  std::vector<std::pair<std::string, std::string>> records;
  for (uint64_t i = 0; i < n; ++i) {
    std::string p(kPayload, 'x');
    const uint64_t frame = kSectionHeaderSize + i * kFrame;  // within the section
    for (uint64_t j = 0; j < 8; ++j) {
      const uint64_t q = frame + kFrameHeaderSize * (j + 1);
      const auto claim = static_cast<uint32_t>(kSectionHeaderSize + n * kFrame - q - kFrameHeaderSize - 8);
      coding::Store<uint32_t>(reinterpret_cast<uint8_t*>(p.data() + kFrameHeaderSize * j + 4), claim);
      p[kFrameHeaderSize * j + 16] = 1;
      p[kFrameHeaderSize * j + 17] = p[kFrameHeaderSize * j + 18] = p[kFrameHeaderSize * j + 19] = 0;
    }
    records.emplace_back("s", p);
  }
  WriteLog(base, o, records);
  const FrameLoc f0 = FindFrame(base, "s", FragmentKind::kFull, 0);
  std::string bytes = ReadFile(f0.file);  // one read and one write, not one of each per flip
  for (uint64_t i = 0; i < n; i += 2) bytes[f0.offset + i * kFrame + kFrame - 1] ^= 1;
  WriteFile(f0.file, bytes);
  const auto start = std::chrono::steady_clock::now();
  ReadResult r = ReadAll(base);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.reporter.Has(CorruptionKind::kChecksum));
  CHECK(r.OfStream("s").size() < n / 2 + 1);
  // Linear: well under a second here (sanitizers included); quadratic: many minutes.
  CHECK_MESSAGE(seconds < 60, "reading took " << seconds << " s");
}

TEST_CASE("LookingForTheNextIntactFrameTakesTimeLinearInTheSection") {
  // A section of payload built to look like frame headers that each claim half the section: a
  // search that ran every CRC would take hours on a large section.
  TempDir dir;
  const std::string base = dir.path("log.slog");
  WriterOptions o = SmallOptions();
  o.slab_size = 8 << 20;
  o.section_size = 4 << 20;
  std::string payload((4 << 20) - 4096, '\0');
  for (size_t i = 0; i + 8 <= payload.size(); i += 8) {
    payload[i] = 1;  // reads as kind FULL, index 0 at every other word
    coding::Store<uint32_t>(reinterpret_cast<uint8_t*>(payload.data() + i + 4), 1u << 21);
  }
  WriteLog(base, o, {{"s", payload}, {"t", "after"}});
  const FrameLoc f = FindFrame(base, "s", FragmentKind::kFull, 0);
  FlipBit(f.file, f.offset + 5, 0);  // its length: the search starts right after the header
  auto v = Verify(base, {}, nullptr);
  REQUIRE(v.has_value());
  CHECK(v.value().damage > 0);
  // The search gives up past its budget (the section is reported as dropped); the rest of the
  // log is read as usual.
  CHECK(ReadAll(base).OfStream("t").size() == 1);
}

}  // namespace slablog::test
