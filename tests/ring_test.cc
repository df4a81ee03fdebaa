// Rings (WriterOptions::ring_slabs): a log that reuses its oldest slab's file for each new slab
// keeps exactly its newest records in a bounded number of files, reads as a log whose streams
// start at their oldest section left, and survives a writer killed in the middle of a wrap.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <chrono>
#include <thread>

#include "decode_hooks.h"
#include "mapped_file.h"
#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

// Record `i` of a stream: its number first, then bytes that tell records apart, of sizes skewed
// from a few bytes to `max_log2` bits (past the 8 KiB sections: records in fragments).
std::string RingPayload(uint64_t seed, uint64_t i, int max_log2) {
  std::mt19937_64 rng(seed * 1000003 + i);
  std::string p = std::to_string(i) + ":" + RandomSkewedString(rng, max_log2);
  return p;
}

uint64_t NumberOf(const std::string& payload) { return std::stoull(payload.substr(0, payload.find(':'))); }

// What a reader gave from where it was to its end: its records, and whether they came in
// order of their numbers, each the payload RingPayload wrote for its number. on_item(item) sees
// every item first.
struct RingRecordsRead {
  uint64_t records = 0;
  bool in_order = true;
  bool intact = true;
};
template <typename OnItem>
RingRecordsRead ReadRingRecords(Reader& reader, uint64_t seed, OnItem&& on_item) {
  RingRecordsRead read;
  Item item;
  uint64_t prev = 0;
  while (reader.Next(&item)) {
    on_item(item);
    if (item.kind != ItemKind::kRecord) continue;
    const std::string payload(reinterpret_cast<const char*>(item.record.payload.data()), item.record.payload.size());
    const uint64_t k = NumberOf(payload);
    read.in_order &= read.records++ == 0 || k > prev;
    read.intact &= payload == RingPayload(seed, k, 9);
    prev = k;
  }
  return read;
}
RingRecordsRead ReadRingRecords(Reader& reader, uint64_t seed) {
  return ReadRingRecords(reader, seed, [](const Item&) {});
}

// Slab files of the log on disk, and whether a temporary (.new) one is left.
size_t SlabFilesOnDisk(const std::string& base) { return ListSlabFiles(base).size(); }

WriterOptions RingOptions(uint32_t slabs) {
  WriterOptions o = SmallOptions();  // 64 KiB slabs of 8 KiB sections
  o.ring_slabs = slabs;
  return o;
}

}  // namespace

TEST_CASE("ARingOfThreeSmallSlabsWrappedAThousandTimesKeepsExactlyItsNewestRecords") {
  TempDir dir;
  const std::string base = dir.path("ring.slog");
  const uint64_t seed = TestSeed();
  auto w = Writer::Open(base, RingOptions(3));
  REQUIRE(w);
  auto h = w.value()->OpenStream({"a", Encoding::kBinary, 0});
  REQUIRE(h);
  uint64_t n = 0;
  size_t most_files = 0;
  while (w.value()->slab_count() < 3 + 1000) {
    REQUIRE(w.value()->Append(h.value(), RingPayload(seed, n, 14), static_cast<int64_t>(n)).ok());
    ++n;
    if (n % 512 == 0) most_files = std::max(most_files, SlabFilesOnDisk(base));
  }
  REQUIRE(w.value()->Close().ok());
  CHECK(most_files <= 3);
  CHECK(SlabFilesOnDisk(base) == 3);
  const ReadResult r = ReadAll(base);
  REQUIRE(r.opened);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  CHECK(r.summary.ring);
  CHECK(r.summary.ring_slabs_gone == 1000);
  CHECK(r.summary.ring_partial_records <= 1);  // the oldest record left may have lost its start
  REQUIRE(!r.records.empty());
  // Exactly the newest records: consecutive, the last one written last, each byte for byte.
  const uint64_t first = NumberOf(r.records.front().payload);
  CHECK(first + r.records.size() == n);
  for (size_t i = 0; i < r.records.size(); ++i) {
    if (r.records[i].payload != RingPayload(seed, first + i, 14)) FAIL("record ", first + i, " differs");
  }
  // Two whole slabs of records at least (the third was begun last), less their headers, catalog
  // sections and the space fragments leave.
  uint64_t bytes = 0;
  for (const auto& rec : r.records) bytes += rec.payload.size();
  CHECK(bytes > (64u << 10));
}

TEST_CASE("ARingWithAStreamThatRarelyAppendsKeepsEveryStreamsNewestRecordsInOrder") {
  // A slow stream's section holds an old slab past a whole wrap: the ring takes the next oldest
  // and asks the stream to move on, which it does at its next append.
  TempDir dir;
  const std::string base = dir.path("ring.slog");
  const uint64_t seed = TestSeed();
  auto w = Writer::Open(base, RingOptions(3));
  REQUIRE(w);
  auto fast = w.value()->OpenStream({"fast", Encoding::kBinary, 0});
  auto slow = w.value()->OpenStream({"slow", Encoding::kBinary, 0});
  REQUIRE(fast);
  REQUIRE(slow);
  uint64_t n = 0, slow_n = 0;
  while (w.value()->slab_count() < 3 + 300) {
    REQUIRE(w.value()->Append(fast.value(), RingPayload(seed, n, 10), static_cast<int64_t>(n)).ok());
    if (n % 1500 == 0) {
      REQUIRE(w.value()->Append(slow.value(), RingPayload(seed + 1, slow_n, 6), static_cast<int64_t>(n)).ok());
      ++slow_n;
    }
    ++n;
  }
  REQUIRE(w.value()->Close().ok());
  CHECK(SlabFilesOnDisk(base) <= 3);
  const ReadResult r = ReadAll(base);
  REQUIRE(r.opened);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.ring);
  for (const char* name : {"fast", "slow"}) {
    CAPTURE(name);
    const auto recs = r.OfStream(name);
    REQUIRE(!recs.empty());
    const uint64_t s = std::string(name) == "fast" ? seed : seed + 1;
    const int max_log2 = std::string(name) == "fast" ? 10 : 6;
    uint64_t prev = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
      const uint64_t k = NumberOf(recs[i].payload);
      if (i > 0 && k <= prev) FAIL("record ", k, " after ", prev);
      if (recs[i].payload != RingPayload(s, k, max_log2)) FAIL("record ", k, " differs");
      prev = k;
    }
    CHECK(prev + 1 == (std::string(name) == "fast" ? n : slow_n));  // the newest one is there
  }
}

TEST_CASE("ARingTakesNoRecordItsSlabsCouldNotHoldWhole") {
  TempDir dir;
  auto w = Writer::Open(dir.path("ring.slog"), RingOptions(2));
  REQUIRE(w);
  auto h = w.value()->OpenStream({"a", Encoding::kBinary, 0});
  REQUIRE(h);
  const std::string big(64 << 10, 'x');
  const Status s = w.value()->Append(h.value(), big, 0);
  REQUIRE(!s.ok());
  CHECK(s.error().message.find("too large for a ring") != std::string::npos);
  CHECK(w.value()->Append(h.value(), std::string(20 << 10, 'y'), 1).ok());
  REQUIRE(w.value()->Close().ok());
  const ReadResult r = ReadAll(dir.path("ring.slog"));
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0].payload.size() == 20u << 10);
  CHECK(!Writer::Open(dir.path("one.slog"), RingOptions(1)));
}

TEST_CASE("ARingReopenedForAppendingGoesOnReusingItsOldestSlabs") {
  TempDir dir;
  const std::string base = dir.path("ring.slog");
  const uint64_t seed = TestSeed();
  uint64_t n = 0;
  for (int session = 0; session < 3; ++session) {
    WriterOptions o = RingOptions(4);
    o.append = session > 0;
    auto w = Writer::Open(base, o);
    REQUIRE_MESSAGE(w, (w ? "" : w.error().message));
    auto h = w.value()->OpenStream({"a", Encoding::kBinary, 0});
    REQUIRE(h);
    for (int i = 0; i < 3000; ++i, ++n) {
      REQUIRE(w.value()->Append(h.value(), RingPayload(seed, n, 9), static_cast<int64_t>(n)).ok());
    }
    REQUIRE(w.value()->Close().ok());
    CHECK(SlabFilesOnDisk(base) <= 4);
  }
  const ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  REQUIRE(!r.records.empty());
  const uint64_t first = NumberOf(r.records.front().payload);
  CHECK(first > 0);
  CHECK(first + r.records.size() == n);
}

}  // namespace slablog::test

namespace slablog::test {

namespace {

ReadResult ReadSlowly(const std::string& base, const ReaderOptions& options) {
  ReadResult r;
  auto reader = Reader::Open(base, options, &r.reporter);
  if (!reader) {
    r.open_error = reader.error().message;
    return r;
  }
  r.opened = true;
  Item item;
  uint64_t n = 0;
  while (reader.value()->Next(&item)) {
    if (item.kind != ItemKind::kRecord) continue;
    r.records.push_back({std::string(item.record.stream_name), item.record.timestamp,
                         std::string(reinterpret_cast<const char*>(item.record.payload.data()), item.record.payload.size())});
    if (++n % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  r.summary = reader.value()->summary();
  return r;
}

}  // namespace

TEST_CASE("ReadersOfARingBeingWrittenSeeEachStreamInOrderAndNeverAProblem") {
  // The writer reuses slab files under the readers: one a reader has mapped, or is reading, or
  // listed and not yet opened. Readers must pass over what was reused, never report its new
  // bytes as damage, and return each stream's records in order, every one intact.
  TempDir dir;
  const std::string base = dir.path("live.slog");
  const uint64_t seed = TestSeed();
  auto opened = Writer::Open(base, RingOptions(3));
  REQUIRE(opened);
  Writer& w = *opened.value();
  StreamHandle handles[2] = {w.OpenStream({"a", Encoding::kBinary, 0}).value(),
                             w.OpenStream({"b", Encoding::kBinary, 0}).value()};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{0};
  std::thread writer([&] {
    for (uint64_t n = 0; !stop.load(); ++n) {
      const int s = static_cast<int>(n % 2);
      if (!w.Append(handles[s], RingPayload(seed + static_cast<uint64_t>(s), n / 2, 11), static_cast<int64_t>(n)).ok()) break;
      written.store(n + 1);
    }
  });
  uint64_t passes = 0, records = 0, overtaken = 0;
  // Passes go on for 3 s or 200 of them, and past that, up to 60 s, until the writer has gone
  // round the ring 20 times: on a busy machine it can get so little time that the readers finish
  // before it reused anything under them.
  const auto start = std::chrono::steady_clock::now();
  const auto enough_passes = [&] {
    return std::chrono::steady_clock::now() >= start + std::chrono::seconds(3) || passes >= 200 * TestScale();
  };
  const auto enough_laps = [&] {
    return w.slab_count() > 3 * 20 || std::chrono::steady_clock::now() >= start + std::chrono::seconds(60);
  };
  while (!(enough_passes() && enough_laps())) {
    ReaderOptions ro;
    ro.threads = 1 + passes % 2;
    // Every other pass dawdles (a pause every 64 records), so that the writer reuses slabs the
    // reader has mapped, or is in.
    const ReadResult r = passes % 2 == 0 ? ReadAll(base, ro) : ReadSlowly(base, ro);
    // (No REQUIRE while the writer runs: its thread must be joined.)
    if (!r.opened || !r.reporter.events.empty()) {
      FAIL_CHECK("pass ", passes, ": ", r.open_error, r.reporter.Describe());
      break;
    }
    overtaken += r.summary.ring_overtaken;
    for (int s = 0; s < 2; ++s) {
      uint64_t prev = 0;
      const auto recs = r.OfStream(s == 0 ? "a" : "b");
      for (size_t i = 0; i < recs.size(); ++i) {
        const uint64_t k = NumberOf(recs[i].payload);
        if (i > 0 && k <= prev) FAIL("stream ", s, ": record ", k, " after ", prev);
        if (recs[i].payload != RingPayload(seed + static_cast<uint64_t>(s), k, 11)) FAIL("stream ", s, " record ", k, " differs");
        prev = k;
      }
      records += recs.size();
    }
    ++passes;
  }
  stop.store(true);
  writer.join();
  REQUIRE(w.Close().ok());
  MESSAGE(passes, " passes over the live ring read ", records, " records; ", overtaken,
          " slabs reused under a reader; the writer made ", w.slab_count(), " slabs");
  CHECK(passes >= 20);
  CHECK(w.slab_count() > 3 * 20);
  const ReadResult last = ReadAll(base);
  CHECK_MESSAGE(last.reporter.events.empty(), last.reporter.Describe());
}

}  // namespace slablog::test

namespace slablog::test {

// The sections a power cut takes from the end of a ring's oldest slab look like the end of that
// slab, and the stream goes on in the next one as if the ring had reused them. The slab's catalog
// says where each stream stood when it began (stream positions): from there on, sections missing
// were lost, and verify says so.
namespace {

// The ring's writer, reached from the middle of a reader's look at a section header (between the
// check of its CRC and the loads of its fields, decode_hooks.h): reuses the file for slabs until
// it has written a later slab's section header over the one being looked at.
struct WrapUnderALook {
  Writer* writer = nullptr;
  StreamHandle stream{};
  uint64_t seed = 0;
  uint64_t next = 0;                  // the next record to append
  uint32_t until_slabs = 0;           // appends until the writer has made this many slabs
  std::atomic<bool> armed{false};     // the next look (of any thread) is the one
  bool done = false;
  bool AppendNext() {
    const uint64_t n = next++;
    return writer->Append(stream, RingPayload(seed, n, 9), static_cast<int64_t>(n)).ok();
  }
};
WrapUnderALook g_wrap;

void WrapTheRingNow(const uint8_t*) {
  if (!g_wrap.armed.exchange(false)) return;
  while (g_wrap.writer->slab_count() < g_wrap.until_slabs) {
    if (!g_wrap.AppendNext()) return;
  }
  g_wrap.done = true;
}

}  // namespace

TEST_CASE("AReaderOfALiveRingTakesASectionHeaderAsItWasWhenItsCrcWasChecked") {
  // A ring's writer may take a slab file over at any instant of a reader's look at one of its
  // section headers, also between the check of the header's CRC and the loads of its fields. What
  // the reader takes is the header it checked: the later slab's header written over it since
  // gives a section number past those of the slabs that follow (read next, they would be sections
  // appearing again, a false alarm), and its stream may not even be the one checked.
  TempDir dir;
  const std::string base = dir.path("live.slog");
  g_wrap.seed = TestSeed();
  g_wrap.next = 0;
  g_wrap.done = false;
  auto opened = Writer::Open(base, RingOptions(3));
  REQUIRE(opened);
  Writer& w = *opened.value();
  g_wrap.writer = &w;
  g_wrap.stream = w.OpenStream({"a", Encoding::kBinary, 0}).value();
  while (w.slab_count() < 6) REQUIRE(g_wrap.AppendNext());
  // Slabs 3 to 5 on disk. Reused for slab 6, slab 3's file gets, where its first section of "a"
  // was, slab 6's first one.
  g_wrap.until_slabs = 7;
  ReaderOptions one_thread;
  one_thread.threads = 1;  // no helper thread looks at the headers
  CollectingReporter reporter;
  auto reader = Reader::Open(base, one_thread, &reporter);
  REQUIRE(reader);
  REQUIRE(reader.value()->summary().writer_active);
  decode_hooks::SetAfterSectionCrcChecked(&WrapTheRingNow);
  const RingRecordsRead read = ReadRingRecords(*reader.value(), g_wrap.seed, [](const Item& item) {
    // Slab 3's catalog section is met: the next look is at its first section of "a".
    if (item.kind == ItemKind::kSection && item.slab->header.slab_index == 3 &&
        item.section->open.stream_id == kCatalogStream) {
      g_wrap.armed = true;
    }
  });
  decode_hooks::SetAfterSectionCrcChecked(nullptr);
  REQUIRE(g_wrap.done);  // the writer did reuse slab 3's file under the look
  CHECK_FALSE(std::filesystem::exists(SlabPath(base, 3)));
  CHECK_MESSAGE(reporter.events.empty(), reporter.Describe());
  CHECK(read.in_order);
  CHECK(read.intact);
  CHECK(read.records > 0);
  REQUIRE(w.Close().ok());
}

namespace {

// Whether a process waits for a lock on the file `path` (a "->" line of /proc/locks for its inode).
bool SomeoneWaitsToLock(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  const std::string inode = ":" + std::to_string(st.st_ino) + " ";
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    if (line.find("->") != std::string::npos && line.find(inode) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("ARingIsReadAsLiveWhenAFileItListedIsTakenOverWhileItIsOpened") {
  // A ring's writer can go past every slab a reader listed while the reader opens the log (the
  // reader descheduled for a moment): by the time their locks are looked at, none of their names
  // leads to a file, and the slabs after them can be reused too, so no slab is found past the
  // listing. The files it took over since the reader mapped them say that a writer was at work:
  // the log is read as live, and those files are passed over, never read as damage.
  const uint64_t seed = TestSeed();
  std::vector<std::pair<std::string, std::string>> records;
  for (uint64_t i = 0; i < 3000; ++i) records.emplace_back("a", RingPayload(seed, i, 9));
  // A log's own names may end in the suffix of the writer's temporary names (cap_4.new.new).
  std::string name = "r.slog";
  SUBCASE("r.slog") {}
  SUBCASE("cap.new") { name = "cap.new"; }
  TempDir dir;
  const std::string base = dir.path(name);
  WriteLog(base, RingOptions(3), records);
  const auto files = ListSlabFiles(base);
  REQUIRE(files.size() == 3);
  const uint32_t later = files.back().first + 1;
  // Reader::Open is held as it maps the last slab listed (MappedFile::Open waits for its trim
  // lock).
  const int hold = ::open(files.back().second.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(hold >= 0);
  REQUIRE(LockForTrim(hold, /*exclusive=*/true, /*wait=*/false));
  ReaderOptions one_thread;
  one_thread.threads = 1;
  CollectingReporter reporter;
  Result<std::unique_ptr<Reader>> reader = Error{Errc::kNotFound, "", 0, ""};
  std::thread opener([&] { reader = Reader::Open(base, one_thread, &reporter); });
  bool held = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!(held = SomeoneWaitsToLock(files.back().second)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Meanwhile the writer takes the oldest slab's file over (mapped by then) for its next slab, as
  // RecycleOwnSlabLocked does: renamed to the new slab's temporary name, then its new header.
  // (Not named yet: no slab past the listing is there to be found.)
  const std::string taken = SlabPath(base, later) + ".new";
  bool took_over = false;
  if (held && ::rename(files.front().second.c_str(), taken.c_str()) == 0) {
    std::string head = ReadFile(files.back().second).substr(0, kSlabHeaderSize);
    auto header = DecodeSlabHeader({reinterpret_cast<const uint8_t*>(head.data()), head.size()});
    const int fd = ::open(taken.c_str(), O_WRONLY | O_CLOEXEC);
    if (header && fd >= 0) {
      header->slab_index = later;
      auto* bytes = reinterpret_cast<uint8_t*>(head.data());
      EncodeSlabHeader(*header, std::span<uint8_t, kSlabHeaderSize>(bytes, kSlabHeaderSize));
      took_over = ::pwrite(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size());
    }
    if (fd >= 0) ::close(fd);
  }
  UnlockForTrim(hold);
  ::close(hold);
  opener.join();  // (no REQUIRE before: the thread must be joined)
  REQUIRE(held);
  REQUIRE(took_over);
  REQUIRE(reader);
  CHECK(reader.value()->summary().writer_active);
  const RingRecordsRead read = ReadRingRecords(*reader.value(), seed);
  CHECK_MESSAGE(reporter.events.empty(), reporter.Describe());
  CHECK(reader.value()->summary().ring_overtaken == 1);
  CHECK(read.in_order);
  CHECK(read.intact);
  CHECK(read.records > 0);
}

TEST_CASE("ARingSlabFileTakenOverUnderAReaderIsPassedOverOnlyOnceItsNameNoLongerLeadsToIt") {
  // What a ring's writer does to a slab file it reuses while a reader has it mapped, in order:
  // renames it (to the later slab's temporary name), then zeroes its header and writes the new
  // one. A reader that reaches the file at any step after the rename passes it over, and reports
  // nothing; the same bytes under the file's own name are damage, reported.
  const uint64_t seed = TestSeed();
  std::vector<std::pair<std::string, std::string>> records;
  for (uint64_t i = 0; i < 12000; ++i) records.emplace_back("a", RingPayload(seed, i, 9));
  std::string state;
  SUBCASE("its header zeroed") { state = "zeroed"; }
  SUBCASE("only the new header's magic there") { state = "magic"; }
  SUBCASE("the new header there but its magic") { state = "all but magic"; }
  SUBCASE("the new header there") { state = "new"; }
  for (const bool renamed : {true, false}) {
    CAPTURE(renamed);
    TempDir dir;
    const std::string base = dir.path("r.slog");
    WriteLog(base, RingOptions(8), records);
    const auto files = ListSlabFiles(base);
    REQUIRE(files.size() == 8);
    const std::string later = ReadFile(files.back().second).substr(0, kSlabHeaderSize);
    std::string head(kSlabHeaderSize, '\0');
    if (state == "magic") head.replace(0, kSlabMagic.size(), later, 0, kSlabMagic.size());
    if (state == "all but magic") head.replace(kSlabMagic.size(), std::string::npos, later, kSlabMagic.size());
    if (state == "new") head = later;
    // A writer holds the log (its newest slab's file).
    const int lock = ::open(files.back().second.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(lock >= 0);
    REQUIRE(flock(lock, LOCK_EX) == 0);
    CollectingReporter reporter;
    auto reader = Reader::Open(base, ReaderOptions{}, &reporter);
    REQUIRE(reader);
    std::string taken = files[3].second;
    if (renamed) {
      const std::string temp = SlabPath(base, 40) + ".new";
      REQUIRE(::rename(taken.c_str(), temp.c_str()) == 0);
      taken = temp;
    }
    const int fd = ::open(taken.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()));
    ::close(fd);
    const RingRecordsRead read = ReadRingRecords(*reader.value(), seed);
    CHECK(read.in_order);
    CHECK(read.intact);
    ::close(lock);
    const LogSummary& summary = reader.value()->summary();
    if (renamed) {
      CHECK_MESSAGE(reporter.events.empty(), reporter.Describe());
      CHECK(summary.ring_overtaken == 1);
    } else {
      bool named = false;
      for (const auto& e : reporter.events) named |= e.file == files[3].second;
      CHECK_MESSAGE(named, reporter.Describe());
      CHECK(summary.ring_overtaken == 0);
    }
  }
}

TEST_CASE("SectionsLostAtTheEndOfARingsOldestSlabAreAHoleNotTheRingsReuse") {
  TempDir dir;
  const std::string base = dir.path("ring.slog");
  {
    auto w = Writer::Open(base, RingOptions(3));
    REQUIRE(w);
    auto a = w.value()->OpenStream({"a", Encoding::kBinary, 0});
    auto b = w.value()->OpenStream({"b", Encoding::kBinary, 0});
    REQUIRE(a);
    REQUIRE(b);
    const std::string payload(700, 'p');
    for (int i = 0; w.value()->slab_count() < 9; ++i) {
      REQUIRE(w.value()->Append(i % 3 == 0 ? b.value() : a.value(), payload, i).ok());
    }
    REQUIRE(w.value()->Close().ok());
  }
  const auto slabs = ListSlabFiles(base);
  REQUIRE(slabs.size() == 3);
  const std::string oldest = slabs.front().second;
  // Every data section of the oldest slab (its catalog section stays): the streams' first
  // sections in the walk are then ones numbered past where they stood when the slab began. Were
  // an earlier section of a stream left there, the jump in its numbers would tell already.
  uint64_t cut_from = 0;
  uint64_t sections_after = 0;
  for (const FrameLoc& f : Frames(base)) {
    if (f.stream_id == kCatalogStream) continue;
    if (f.file == oldest && cut_from == 0) cut_from = f.section_offset;
    if (f.file != oldest) ++sections_after;
  }
  REQUIRE(cut_from > 0);
  REQUIRE(sections_after > 0);
  CHECK(Verify(base, {}, nullptr)->ok());
  // What a power cut leaves when none of those sectors reached the disk: zeros from there on.
  const uint64_t size = std::filesystem::file_size(oldest);
  ZeroBytes(oldest, cut_from, size - 4096);
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v);
  CHECK_MESSAGE(v->damage >= 1, problems.Describe());
  CHECK(problems.Has(CorruptionKind::kMissingData));
  CHECK(problems.Describe().find("lost to a power cut") != std::string::npos);
  auto t = Truncate(base, {}, nullptr);
  CHECK_FALSE(t);  // a hole: truncate points to recover
}

// Only a file renamed to another slab name of its log says a ring's writer took it over while
// the log was opened. A dead log (here: crashed, with a page lost in its last open section) one of
// whose files another process removes or moves elsewhere at that moment (a retention job dropping
// the oldest slab, an archiver) is still read as dead: taken for one a writer holds, the walk's
// leniency for a live log (no search past a hole of an open section, torn tails counted as in
// progress, ...) would hide its damage and lose the intact records after the hole.
TEST_CASE("ADeadLogWhoseOldestSlabFileIsRemovedOrMovedWhileItIsOpenedStillHasItsDamageReported") {
  const uint64_t seed = TestSeed();
  std::vector<std::pair<std::string, std::string>> records;
  for (uint64_t i = 0; i < 1500; ++i) records.emplace_back("a", RingPayload(seed, i, 9));
  TempDir dir;
  std::filesystem::create_directories(dir.path("crash"));
  const std::string base = WriteCrashedLog(dir.path("w.slog"), dir.path("crash"), SmallOptions(), records);
  const auto files = ListSlabFiles(base);
  REQUIRE(files.size() >= 3);
  // A power cut lost one frame's bytes in the middle of the last slab's open section; intact
  // frames follow it.
  std::vector<FrameLoc> open_frames;
  for (const FrameLoc& f : Frames(base)) {
    if (f.file == files.back().second && !f.section_closed && f.stream == "a") open_frames.push_back(f);
  }
  REQUIRE(open_frames.size() >= 3);
  const FrameLoc lost = open_frames[open_frames.size() / 2];
  ZeroBytes(lost.file, lost.offset, lost.offset + kFrameHeaderSize + lost.length);
  ReaderOptions one_thread;
  one_thread.threads = 1;
  const ReadResult alone = ReadAll(base, one_thread);
  REQUIRE_FALSE(alone.summary.writer_active);
  REQUIRE(alone.reporter.Has(CorruptionKind::kMissingData));

  // The same reading, while another process removes the oldest slab file, or moves it to another
  // directory, as the reader opens the log (held at the last slab's trim lock, as in
  // ARingIsReadAsLiveWhenAFileItListedIsTakenOverWhileItIsOpened).
  bool move = false;
  SUBCASE("removed") {}
  SUBCASE("moved elsewhere") { move = true; }
  std::filesystem::create_directories(dir.path("archive"));
  const int hold = ::open(files.back().second.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(hold >= 0);
  REQUIRE(LockForTrim(hold, /*exclusive=*/true, /*wait=*/false));
  CollectingReporter reporter;
  Result<std::unique_ptr<Reader>> reader = Error{Errc::kNotFound, "", 0, ""};
  std::thread opener([&] { reader = Reader::Open(base, one_thread, &reporter); });
  bool held = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!(held = SomeoneWaitsToLock(files.back().second)) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::string& oldest = files.front().second;
  const bool removed =
      held && (move ? ::rename(oldest.c_str(), dir.path("archive/w_0.slog").c_str()) : ::unlink(oldest.c_str())) == 0;
  UnlockForTrim(hold);
  ::close(hold);
  opener.join();
  REQUIRE(held);
  REQUIRE(removed);
  REQUIRE(reader);
  uint64_t read = 0;
  Item item;
  while (reader.value()->Next(&item)) read += item.kind == ItemKind::kRecord ? 1 : 0;
  MESSAGE("alone: ", alone.records.size(), " records, events:\n", alone.reporter.Describe(),
          "with the oldest file ", move ? "moved" : "removed", " meanwhile: ", read, " records, writer_active ",
          reader.value()->summary().writer_active, ", in_progress ", reader.value()->summary().in_progress,
          ", events:\n", reporter.Describe());
  CHECK_FALSE(reader.value()->summary().writer_active);
  CHECK(reporter.Has(CorruptionKind::kMissingData));
  CHECK(read == alone.records.size());
}

}  // namespace slablog::test
