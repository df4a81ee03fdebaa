// Integrity under damage: every single-bit flip of a small log, the log cut at every length (a
// sample of them unless SLABLOG_LONG is set).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

// Slabs of four pages (the smallest) joined into one file: three streams over four slabs with a
// record split across two of them, or (`tiny`) one stream over two slabs.
std::string SmallJoinedLog(const TempDir& dir, std::vector<std::pair<std::string, std::string>>* written,
                           bool tiny = false) {
  WriterOptions o;
  o.slab_size = 16 << 10;
  o.section_size = 4 << 10;
  o.sync = SyncPolicy::kManual;
  o.background_prefault = false;
  const std::string base = dir.path("small.slog");
  if (tiny) {
    *written = {{"a", "first"}, {"a", ""}, {"a", std::string(5000, 'G')}, {"a", "last"}};
  } else {
    *written = {{"a", "first"}, {"b", std::string(300, 'b')}, {"a", ""}, {"big", std::string(6000, 'G')},
                {"b", "{\"x\":1}"}, {"a", "last"}};
  }
  WriteLog(base, o, *written);
  std::string joined;
  for (uint32_t i = 0; std::filesystem::exists(SlabPath(base, i)); ++i) joined += ReadFile(SlabPath(base, i));
  const std::string path = dir.path("joined.slog");
  WriteFile(path, joined);
  return path;
}

ReaderOptions OneThread() {
  ReaderOptions o;
  o.threads = 1;
  return o;
}

VerifyOptions VerifyOneThread() {
  VerifyOptions o;
  o.threads = 1;
  return o;
}

}  // namespace

TEST_CASE("EveryBitFlipIsCaughtOrHarmless") {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> written;
  const std::string path = SmallJoinedLog(dir, &written);
  const std::vector<ReadRecord> want = ReadAll(path, OneThread()).records;
  REQUIRE(want.size() == written.size());
  const std::string original = ReadFile(path);
  // Every byte in long mode. Otherwise a sample, most of it from the bytes that hold something
  // (headers, frames, the end marker) and the rest from the zeros between them.
  const uint64_t seed = TestSeed();
  CAPTURE(seed);
  std::vector<size_t> busy, idle, offsets;
  for (size_t i = 0; i < original.size(); ++i) (original[i] != 0 ? busy : idle).push_back(i);
  for (size_t i : SweepPositions(busy.size(), 1200, seed)) offsets.push_back(busy[i]);
  for (size_t i : SweepPositions(idle.size(), 300, seed + 1)) offsets.push_back(idle[i]);
  // Two workers, each flipping the bits of its half of the offsets in its own copy of the file;
  // assertions are made here, from what they found.
  struct Outcome {
    uint64_t caught = 0, harmless = 0;
    std::vector<std::string> failures;
  };
  auto work = [&](size_t begin, size_t end, const std::string& copy, Outcome* out) {
    WriteFile(copy, original);
    const int fd = ::open(copy.c_str(), O_RDWR);
    if (fd < 0) {
      out->failures.push_back("cannot open " + copy);
      return;
    }
    for (size_t k = begin; k < end; ++k) {
      const size_t offset = offsets[k];
      for (int bit = 0; bit < 8; ++bit) {
        const char flipped = static_cast<char>(original[offset] ^ (1 << bit));
        if (pwrite(fd, &flipped, 1, static_cast<off_t>(offset)) != 1) out->failures.push_back("pwrite");
        auto v = Verify(copy, VerifyOneThread(), nullptr);
        const std::string where = "bit " + std::to_string(bit) + " at offset " + std::to_string(offset);
        if (!v.has_value()) {
          // Not even readable as a log (a flip in the first slab's magic): reported, exit 1.
          if (v.error().code != Errc::kCorruption) out->failures.push_back(where + ": " + Describe(v.error()));
          ++out->caught;
        } else if (v->ok()) {
          // verify accepts the log: then every record must be exactly what was written.
          ++out->harmless;
          if (ReadAll(copy, OneThread()).records != want) out->failures.push_back(where + " changed a record unnoticed");
        } else {
          ++out->caught;
        }
        if (pwrite(fd, &original[offset], 1, static_cast<off_t>(offset)) != 1) out->failures.push_back("pwrite");
      }
    }
    ::close(fd);
  };
  Outcome a, b;
  const size_t half = offsets.size() / 2;
  std::thread second(work, half, offsets.size(), dir.path("flip-b.slog"), &b);
  work(0, half, dir.path("flip-a.slog"), &a);
  second.join();
  for (const auto* o : {&a, &b}) {
    for (const auto& f : o->failures) FAIL_CHECK(f);
  }
  MESSAGE(original.size(), " bytes, ", offsets.size(),
          " of them flipped bit by bit: ", a.caught + b.caught, " reported, ",
          a.harmless + b.harmless, " in bytes no record depends on");
  CHECK(a.caught + b.caught + a.harmless + b.harmless == 8 * offsets.size());
  CHECK(a.caught + b.caught > 0);
}

TEST_CASE("CutAtEveryLength") {
  // verify, truncate, recover and the reader at every length (in long mode; a sample of lengths
  // otherwise): nothing crashes or hangs, and the records recovered never grow as the file gets
  // shorter (ninja's DepsLogTest.Truncated).
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> written;
  const std::string path = SmallJoinedLog(dir, &written, /*tiny=*/true);
  const std::string original = ReadFile(path);
  REQUIRE(ReadAll(path, OneThread()).records.size() == written.size());
  uint64_t previous = written.size();
  WriterOptions out_options = SmallOptions();
  out_options.background_prefault = false;
  const uint64_t seed = TestSeed();
  CAPTURE(seed);
  std::vector<size_t> lengths = SweepPositions(original.size(), 500, seed);  // 0 .. size - 1
  for (size_t& len : lengths) ++len;                                         // 1 .. size
  for (auto it = lengths.rbegin(); it != lengths.rend(); ++it) {
    const size_t len = *it;
    CAPTURE(len);
    TempDir work;
    const std::string cut = work.path("cut.slog");
    WriteFile(cut, original.substr(0, len));
    auto v = Verify(cut, VerifyOneThread(), nullptr);
    auto rec = Recover(cut, work.path("out.slog"), out_options, nullptr);
    uint64_t recovered = 0;
    if (v.has_value()) {
      REQUIRE(rec.has_value());
      recovered = rec->records;
      CHECK(recovered <= previous);
      previous = recovered;
      // The recovered records are a subset of the written ones, never a partial one.
      for (const auto& r : ReadAll(work.path("out.slog"), OneThread()).records) {
        bool known = false;
        for (const auto& w : written) known = known || (w.first == r.stream && w.second == r.payload);
        CHECK(known);
      }
    }
    auto t = Truncate(cut, {}, nullptr);
    if (t.has_value()) {
      auto after = Verify(cut, VerifyOneThread(), nullptr);
      REQUIRE(after.has_value());
      CHECK(after->damage == 0);
      CHECK(ReadAll(cut, OneThread()).records.size() <= recovered);
    }
  }
}

TEST_CASE("LiveWritersRecordInProgressIsNotDamage") {
  // A record whose LAST fragment the writer has not stored yet (its kind byte still zero): on the
  // log the writer holds, counted as in progress and reported to no one; on a copy with no writer,
  // the torn tail of a crash.
  TempDir dir;
  const std::string base = dir.path("live.slog");
  auto writer = Writer::Open(base, SmallOptions());
  REQUIRE(writer);
  auto stream = writer.value()->OpenStream({"s", Encoding::kBinary, 0});
  REQUIRE(stream);
  REQUIRE(writer.value()->Append(stream.value(), std::string("whole"), 1));
  REQUIRE(writer.value()->Append(stream.value(), std::string(20000, 'f'), 2));
  const FrameLoc last = FindFrame(base, "s", FragmentKind::kLast);
  SetByte(last.file, last.offset + 16, 0);

  ReadResult live = ReadAll(base);
  CHECK(live.summary.writer_active);
  CHECK_MESSAGE(live.reporter.events.empty(), live.reporter.Describe());
  CHECK(live.summary.in_progress > 0);
  CHECK(live.records.size() == 1);

  TempDir copy;
  ReadResult crashed = ReadAll(SnapshotLog(base, copy.dir()));
  CHECK_FALSE(crashed.summary.writer_active);
  CHECK(crashed.summary.in_progress == 0);
  CHECK(crashed.reporter.Has(CorruptionKind::kTornTail));
  // The same events, only classified: what was in progress is what a crash leaves torn.
  CHECK(crashed.reporter.events.size() == live.summary.in_progress);
  CHECK(crashed.records.size() == 1);
}

TEST_CASE("VerifyGivesTheSameAnswerOnOneCoreAndWithHelpers") {
  // With helper threads, whole sections are checked ahead and only their counts reach the reader;
  // on one core the reader checks and counts every frame. Counts and reports must agree, damaged
  // or not, and match what reading every record gives.
  TempDir dir;
  const std::string base = dir.path("many.slog");
  std::vector<std::pair<std::string, std::string>> written;
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 30000; ++i) {
    const char* stream = i % 3 == 0 ? "imu" : (i % 3 == 1 ? "odom" : "cam");
    written.emplace_back(stream, std::string(100 + rng() % 80, static_cast<char>('a' + i % 26)));
    // Records split over several sections, between whole ones.
    if (i % 997 == 0) written.emplace_back("big", std::string(20000, static_cast<char>('A' + i % 26)));
  }
  WriteLog(base, SmallOptions(), written);
  uint64_t written_bytes = 0;
  for (const auto& w : written) written_bytes += w.second.size();

  auto verify = [&](unsigned threads, std::string* report) {
    VerifyOptions o;
    o.threads = threads;
    CollectingReporter reporter;
    auto r = Verify(base, o, &reporter);
    REQUIRE(r.has_value());
    *report = reporter.Describe();
    return r.value();
  };
  for (int damage = 0; damage < 3; ++damage) {
    CAPTURE(damage);
    if (damage == 1) {
      const FrameLoc f = FindFrame(base, "odom", FragmentKind::kFull, 5000);
      FlipBit(f.file, f.offset + kFrameHeaderSize + 3, 2);
    } else if (damage == 2) {
      const FrameLoc f = FindFrame(base, "big", FragmentKind::kLast, 10);
      FlipBit(f.file, f.offset + kFrameHeaderSize + 7, 5);
    }
    const ReadResult all = ReadAll(base, OneThread());
    uint64_t read_bytes = 0;
    for (const auto& r : all.records) read_bytes += r.payload.size();
    std::string one_report;
    const VerifyResult one = verify(1, &one_report);
    CHECK(one.records == all.records.size());
    CHECK(one.bytes == read_bytes);
    if (damage == 0) {
      CHECK(one.ok());
      CHECK(one.records == written.size());
      CHECK(one.bytes == written_bytes);
    } else {
      CHECK(one.damage > 0);
      CHECK(one.records < written.size());
    }
    // Several runs: which sections the helpers get to first varies from run to run.
    for (unsigned threads : {2u, 2u, 3u, 3u}) {
      CAPTURE(threads);
      std::string report;
      const VerifyResult many = verify(threads, &report);
      CHECK(many.records == one.records);
      CHECK(many.bytes == one.bytes);
      CHECK(many.damage == one.damage);
      CHECK(many.torn == one.torn);
      CHECK(report == one_report);
    }
  }
}

}  // namespace slablog::test
