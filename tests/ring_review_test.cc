// Rings, from an adversarial review: stale frames after a resumed ring is killed, a record the
// ring cannot take whole, slabs held by idle streams while a large record is written.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

std::string Pay(char stream, int session, uint64_t i, size_t size) {
  std::string p = std::string(1, stream) + std::to_string(session) + "-" + std::to_string(i) + ":";
  p.resize(size, static_cast<char>('a' + i % 26));
  return p;
}

WriterOptions Ring3() {
  WriterOptions o = SmallOptions();
  o.ring_slabs = 3;
  o.one_appender = true;
  o.background_prefault = false;
  o.sync = SyncPolicy::kOnClose;
  return o;
}

}  // namespace

TEST_CASE("ARingResumedAfterItsStreamsSectionsWereReusedNeverReturnsTheirStaleFramesAfterAKill") {
  TempDir dir;
  const std::string base = dir.path("ring.slog");
  {
    auto w = Writer::Open(base, Ring3());
    REQUIRE(w);
    Writer& wr = *w.value();
    auto a = wr.OpenStream({"A", Encoding::kBinary, 0}).value();
    auto b = wr.OpenStream({"B", Encoding::kBinary, 0}).value();
    for (uint64_t i = 0; i < 65; ++i) REQUIRE(wr.Append(a, Pay('A', 1, i, 100), static_cast<int64_t>(i)).ok());
    uint64_t n = 0;
    while (wr.slab_count() < 4) REQUIRE(wr.Append(b, Pay('B', 1, n++, 100), 1000).ok());
    // B's section at 8K of slab 3 (slab 0's file) keeps one frame: the next record starts a section.
    REQUIRE(wr.Append(b, Pay('B', 1, n++, 8000), 1000).ok());
    while (wr.slab_count() < 6) REQUIRE(wr.Append(b, Pay('B', 1, n++, 100), 1000).ok());
    for (int k = 0; k < 434; ++k) REQUIRE(wr.Append(b, Pay('B', 1, n++, 100), 1000).ok());
    REQUIRE(wr.slab_count() == 6);
    REQUIRE(wr.Close().ok());
  }
  {
    const ReadResult r = ReadAll(base);
    CHECK(r.reporter.events.empty());
    CHECK(r.OfStream("A").empty());  // every section of A was reused
  }
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    WriterOptions o = Ring3();
    o.append = true;
    auto w = Writer::Open(base, o);
    if (!w) _exit(3);
    auto a = w.value()->OpenStream({"A", Encoding::kBinary, 0});
    if (!a) _exit(4);
    for (uint64_t i = 0; i < 3; ++i) {
      if (!w.value()->Append(a.value(), Pay('A', 2, i, 100), static_cast<int64_t>(100 + i)).ok()) _exit(5);
    }
    if (w.value()->slab_count() != 7) _exit(6);
    raise(SIGKILL);  // process death: the page cache keeps what was stored
    _exit(7);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  const ReadResult r = ReadAll(base);
  const auto recs = r.OfStream("A");
  MESSAGE("reader: ", recs.size(), " records of A; problems: ", r.reporter.Describe());
  CHECK(recs.size() == 3);  // the three of the second session, nothing older
  for (const auto& rec : recs) {
    CHECK_MESSAGE(rec.payload.rfind("A2-", 0) == 0, "stale record of the first session returned: ",
                  rec.payload.substr(0, 8), " t=", rec.timestamp);
  }
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v);
  MESSAGE("verify: damage ", v->damage, " torn ", v->torn);
  CHECK(v->damage == 0);
  WriterOptions ro;
  ro.sync = SyncPolicy::kManual;
  auto rec = Recover(base, dir.path("out.slog"), ro, nullptr);
  REQUIRE(rec);
  const ReadResult out = ReadAll(dir.path("out.slog"));
  for (const auto& x : out.OfStream("A")) {
    CHECK_MESSAGE(x.payload.rfind("A2-", 0) == 0, "recover salvaged a stale record: ", x.payload.substr(0, 8));
  }
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("ARingThatCannotTakeARecordWholeRefusesItAndWritesNothing") {
  TempDir dir;
  const std::string base = dir.path("ring.slog");
  WriterOptions o = SmallOptions();
  o.ring_slabs = 2;
  o.background_prefault = false;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  Writer& wr = *w.value();
  auto x = wr.OpenStream({"X", Encoding::kBinary, 0}).value();
  auto z = wr.OpenStream({"Z", Encoding::kBinary, 0}).value();
  REQUIRE(wr.Append(x, Pay('X', 1, 0, 100), 0).ok());  // X's section holds slab 0 from now on
  uint64_t n = 0;
  while (wr.slab_count() < 2) REQUIRE(wr.Append(z, Pay('Z', 1, n++, 100), 1).ok());
  for (int k = 0; k < 4 * 67; ++k) REQUIRE(wr.Append(z, Pay('Z', 1, n++, 100), 1).ok());
  const Status big = wr.Append(z, Pay('Z', 1, n++, 20 << 10), 2);
  MESSAGE("the 20 KiB append: ", big.ok() ? "ok" : Describe(big.error()));
  CHECK(!big.ok());
  // X moves on (frees slab 0), Z goes on.
  REQUIRE(wr.Append(x, Pay('X', 1, 1, 100), 3).ok());
  REQUIRE(wr.Append(z, Pay('Z', 1, n++, 12 << 10), 4).ok());  // a record in fragments again
  for (int k = 0; k < 10; ++k) REQUIRE(wr.Append(z, Pay('Z', 1, n++, 100), 4).ok());
  REQUIRE(wr.Close().ok());
  const ReadResult r = ReadAll(base);
  MESSAGE("problems: ", r.reporter.Describe(), " records ", r.records.size(), " partial ", r.summary.ring_partial_records);
  CHECK_MESSAGE(r.reporter.events.empty(), "a healthy log (every append that failed wrote nothing) reads with problems");
  CollectingReporter problems;
  auto v = Verify(base, {}, &problems);
  REQUIRE(v);
  CHECK(v->ok());
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("RingSlabsWithMaxSlabsIsRefused") {
  TempDir dir;
  WriterOptions o = SmallOptions();
  o.ring_slabs = 3;
  o.max_slabs = 4;
  auto w = Writer::Open(dir.path("r.slog"), o);
  REQUIRE(!w);
  CHECK(w.error().message.find("max_slabs") != std::string::npos);
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("ARingNeverReusesTheSlabOfARecordsFirstFragmentWhileTheRecordIsWritten") {
  TempDir dir;
  const std::string base = dir.path("r.slog");
  WriterOptions o = SmallOptions();
  o.ring_slabs = 6;  // streams + 2 with the four streams below
  o.background_prefault = false;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  Writer& wr = *w.value();
  auto v = wr.OpenStream({"V", Encoding::kBinary, 0}).value();
  auto x = wr.OpenStream({"X", Encoding::kBinary, 0}).value();
  auto y = wr.OpenStream({"Y", Encoding::kBinary, 0}).value();
  auto z = wr.OpenStream({"Z", Encoding::kBinary, 0}).value();
  REQUIRE(wr.Append(x, Pay('X', 1, 0, 100), 0).ok());  // X holds slab 0 from now on
  uint64_t n = 0;
  while (wr.slab_count() < 2) REQUIRE(wr.Append(z, Pay('Z', 1, n++, 100), 1).ok());
  REQUIRE(wr.Append(y, Pay('Y', 1, 0, 100), 0).ok());  // Y holds slab 1
  while (wr.slab_count() < 3) REQUIRE(wr.Append(z, Pay('Z', 1, n++, 100), 1).ok());
  REQUIRE(wr.Append(v, Pay('V', 1, 0, 100), 0).ok());  // V holds slab 2
  const size_t limit = 5 * ((64 << 10) - 4 * 4096) / 2;
  int lost = 0, refused = 0, taken = 0;
  for (int k = 0; k < 40; ++k) {
    const size_t size = limit - static_cast<size_t>(k) * 1000;
    // Refused whole (kFull) when the slabs not held cannot take it; taken, it must be read back.
    const Status st = wr.Append(z, Pay('Z', 1, n, size), 2);
    if (!st.ok()) {
      CHECK(st.error().code == Errc::kFull);
      ++refused;
      continue;
    }
    ++taken;
    REQUIRE(wr.Sync().ok());
    const ReadResult r = ReadAll(base);
    const auto recs = r.OfStream("Z");
    if (recs.empty() || recs.back().payload != Pay('Z', 1, n, size)) {
      ++lost;
      if (lost <= 3) MESSAGE("Z record ", n, " (", size, " bytes) appended and synced, not in the log; newest read: ",
                             recs.empty() ? std::string("none") : recs.back().payload.substr(0, 8),
                             "; files ", ListSlabFiles(base).size(), ", partial ", r.summary.ring_partial_records,
                             ", problems: ", r.reporter.Describe());
    }
    ++n;
  }
  CHECK(lost == 0);
  CHECK(refused > 0);
  CHECK(taken > 0);
  REQUIRE(wr.Close().ok());
  const ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
}

}  // namespace slablog::test

namespace slablog::test {

// helper-24: a stream opened when the current slab has no room left for a catalog section made
// the writer start a slab, whose catalog snapshot took a catalog section, and then open another
// catalog section over it, leaving the snapshot's open for good: a healthy log (and a ring,
// whose slab then stayed pinned) read as damaged.
TEST_CASE("StreamsOpenedWhenTheSlabIsFullLeaveNoCatalogSectionOpen") {
  for (const uint32_t ring : {0u, 4u}) {
    TempDir dir;
    const std::string base = dir.path("log.slog");
    WriterOptions o = SmallOptions();  // 64 KiB slabs of 8 KiB sections
    o.ring_slabs = ring;
    auto w = Writer::Open(base, o);
    REQUIRE(w);
    auto a = w.value()->OpenStream({"a", Encoding::kBinary, 0});
    REQUIRE(a);
    const std::string payload(900, 'x');
    for (int i = 0; i < 3000; ++i) {
      REQUIRE(w.value()->Append(a.value(), payload, i).ok());
      if (i % 5 == 0 && i < 1500) REQUIRE(w.value()->OpenStream({"s" + std::to_string(i), Encoding::kBinary, 0}));
    }
    REQUIRE(w.value()->Close().ok());
    CollectingReporter problems;
    auto v = Verify(base, {}, &problems);
    REQUIRE(v);
    CHECK_MESSAGE(v->ok(), "ring ", ring, ": ", problems.Describe());
  }
}

}  // namespace slablog::test

namespace slablog::test {

// A record's first fragment goes into its stream's open section, which may lie in an older slab
// than the newest: the slab pinned while the record is written must be that one. Pinned from the
// newest slab on, the ring reused the older slab for the record's later fragments, and the
// record, appended without an error, was gone (KilledRingWriterMidWrap, stream 3, ~1 run in 100).
TEST_CASE("ARingNeverReusesTheOlderSlabOfARecordsFirstFragmentWhileTheRecordIsWritten") {
  TempDir dir;
  const std::string base = dir.path("r.slog");
  WriterOptions o = SmallOptions();  // 64 KiB slabs: 6 sections of 8 KiB and a 4 KiB tail
  o.ring_slabs = 3;
  o.background_prefault = false;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  Writer& wr = *w.value();
  REQUIRE(wr.page_size() == 4096);  // the layout below counts 4 KiB pages
  auto a = wr.OpenStream({"A", Encoding::kBinary, 0}).value();
  auto b = wr.OpenStream({"B", Encoding::kBinary, 0}).value();
  // Each of B's records fills a section of its own: six of them fill a slab but for its tail.
  const size_t whole_section = o.section_size - kSectionHeaderSize - kFrameHeaderSize;
  uint64_t n = 0;
  const auto fill_b = [&](uint32_t until_slab_count, int more) {
    while (wr.slab_count() < until_slab_count) REQUIRE(wr.Append(b, Pay('B', 1, n++, whole_section), 1).ok());
    for (int i = 0; i < more; ++i) REQUIRE(wr.Append(b, Pay('B', 1, n++, whole_section), 1).ok());
  };
  fill_b(2, 0);                                          // B's 7th record began slab 1
  REQUIRE(wr.Append(a, Pay('A', 1, 0, 100), 0).ok());    // A's section: in slab 1
  fill_b(4, 5);  // slab 0 reused for slab 3 (slab 1, not yet the oldest, was not looked at),
                 // whose sections B then fills: only its 4 KiB tail is left
  REQUIRE(wr.slab_count() == 4);
  // A's record starts in its section in slab 1 and needs a new slab before it is whole: the ring
  // must take slab 2, not slab 1.
  const std::string big = Pay('A', 1, 1, 20000);
  REQUIRE(wr.Append(a, big, 0).ok());
  REQUIRE(wr.slab_count() == 5);
  REQUIRE(wr.Close().ok());
  const ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  const auto recs = r.OfStream("A");
  REQUIRE_MESSAGE(!recs.empty(), "stream A: its record of 20000 bytes, appended without an error, is gone");
  CHECK(recs.back().payload == big);
}

}  // namespace slablog::test
