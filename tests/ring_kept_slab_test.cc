// Rings that keep a slab an idle stream's open section holds while they reuse the slabs after
// it: sections a power cut took from the slabs before such a gap are reported, not read as the
// ring's reuse (man slablog.5, Rings, "Positions of kept slabs"); nothing else reads as damage;
// and the repeated positions cost no slab room a record had before.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

WriterOptions Ring(uint32_t slabs) {
  WriterOptions o = SmallOptions();  // 64 KiB slabs of 8 KiB sections
  o.ring_slabs = slabs;
  o.background_prefault = false;
  return o;
}

// The files as a power cut finds them with the writer at work (Close would close the idle
// streams' sections): copied into `image`, whose log is returned.
std::string CopyOfLiveRing(const std::string& base, const TempDir& image) {
  for (const auto& [index, path] : ListSlabFiles(base)) {
    std::filesystem::copy_file(path, image.path(std::filesystem::path(path).filename().string()));
  }
  return image.path(std::filesystem::path(base).filename().string());
}

std::vector<uint32_t> SlabIndexes(const std::string& base) {
  std::vector<uint32_t> out;
  for (const auto& [index, path] : ListSlabFiles(base)) out.push_back(index);
  return out;
}

// Offsets in `file` of the `stream`'s sections, in order.
std::vector<uint64_t> SectionsOf(const std::string& log, const std::string& file, const std::string& stream) {
  std::vector<uint64_t> out;
  for (const FrameLoc& f : Frames(log)) {
    if (f.file == file && f.stream == stream && (out.empty() || out.back() != f.section_offset)) {
      out.push_back(f.section_offset);
    }
  }
  return out;
}

// Zeros from `from` to the slab's last page, as a power cut that kept none of those sectors.
void LoseFrom(const std::string& file, uint64_t from) { ZeroBytes(file, from, std::filesystem::file_size(file) - 4096); }

void CheckLossReported(const std::string& log) {
  CollectingReporter problems;
  auto v = Verify(log, {}, &problems);
  REQUIRE(v);
  CHECK_MESSAGE(v->damage >= 1, problems.Describe());
  CHECK(problems.Has(CorruptionKind::kMissingData));
  CHECK_MESSAGE(problems.Describe().find("lost to a power cut") != std::string::npos, problems.Describe());
}

void CheckHealthy(const std::string& log, const std::string& what) {
  CollectingReporter problems;
  auto v = Verify(log, {}, &problems);
  REQUIRE(v);
  CHECK_MESSAGE(v->damage == 0, what, ": ", problems.Describe());
}

// A ring of 4 whose slab 0 an idle stream keeps while the ring reuses slabs 1 to 8: the busy
// stream fills slabs 0 to 2, then (busy_goes_on) goes on to slab 11, or "other" does. The files
// as a power cut finds them with the writer at work (Close would close the idle stream's
// section), copied into `image`: that copy's base is returned, healthy.
std::string RingKeepingSlab0(const TempDir& dir, const TempDir& image, bool busy_goes_on) {
  const std::string base = dir.path("ring.slog");
  auto w = Writer::Open(base, Ring(4));
  REQUIRE(w);
  auto idle = w.value()->OpenStream({"idle", Encoding::kBinary, 0});
  auto busy = w.value()->OpenStream({"busy", Encoding::kBinary, 0});
  auto other = w.value()->OpenStream({"other", Encoding::kBinary, 0});
  REQUIRE(idle);
  REQUIRE(busy);
  REQUIRE(other);
  REQUIRE(w.value()->Append(idle.value(), std::string(100, 'i'), 0).ok());
  const std::string payload(700, 'p');
  int i = 1;
  for (; w.value()->slab_count() < 3; ++i) REQUIRE(w.value()->Append(busy.value(), payload, i).ok());
  for (; w.value()->slab_count() < 12; ++i) {
    REQUIRE(w.value()->Append(busy_goes_on ? busy.value() : other.value(), payload, i).ok());
  }
  REQUIRE(w.value()->Sync().ok());
  const std::string copy = CopyOfLiveRing(base, image);
  REQUIRE(w.value()->Close().ok());
  const auto slabs = SlabIndexes(copy);
  REQUIRE(slabs.size() == 4);
  REQUIRE(slabs[0] == 0);  // kept
  REQUIRE(slabs[1] > 1);   // the slabs after it reused
  CheckHealthy(copy, "before the cut");
  return copy;
}

// A ring of 5 whose slabs 0 and 7 two idle streams keep (files 0, 7, 13, 14, 15), the busy
// stream in every slab; as RingKeepingSlab0.
std::string RingKeepingSlabs0And7(const TempDir& dir, const TempDir& image) {
  const std::string base = dir.path("ring.slog");
  auto w = Writer::Open(base, Ring(5));
  REQUIRE(w);
  auto idle1 = w.value()->OpenStream({"idle1", Encoding::kBinary, 0});
  auto idle2 = w.value()->OpenStream({"idle2", Encoding::kBinary, 0});
  auto busy = w.value()->OpenStream({"busy", Encoding::kBinary, 0});
  REQUIRE(w.value()->Append(idle1.value(), std::string(100, 'i'), 0).ok());
  const std::string payload(700, 'p');
  int i = 1;
  for (; w.value()->slab_count() < 8; ++i) REQUIRE(w.value()->Append(busy.value(), payload, i).ok());
  REQUIRE(w.value()->Append(idle2.value(), std::string(100, 'j'), i).ok());
  for (; w.value()->slab_count() < 16; ++i) REQUIRE(w.value()->Append(busy.value(), payload, i).ok());
  REQUIRE(w.value()->Sync().ok());
  const std::string copy = CopyOfLiveRing(base, image);
  REQUIRE(w.value()->Close().ok());
  const auto slabs = SlabIndexes(copy);
  REQUIRE(slabs.size() == 5);
  REQUIRE(slabs[0] == 0);
  REQUIRE(slabs[1] == 7);
  CheckHealthy(copy, "before the cut");
  return copy;
}

}  // namespace

TEST_CASE("SectionsLostAtTheEndOfASlabTheRingKeptAreAHoleNotTheRingsReuse") {
  // The position that tells where the busy stream stood when slab 1 began was in slab 1; later
  // slabs repeat it while slab 0 is kept. The busy stream goes on after the gap or never
  // appends again; it loses all its sections in the kept slab, or all but its first.
  for (const bool reappears : {true, false}) {
    for (const bool all : {true, false}) {
      CAPTURE(reappears);
      CAPTURE(all);
      TempDir dir, image;
      const std::string copy = RingKeepingSlab0(dir, image, reappears);
      const std::string kept = SlabPath(copy, 0);
      const auto sections = SectionsOf(copy, kept, "busy");
      REQUIRE(sections.size() >= 2);
      LoseFrom(kept, all ? sections[0] : sections[1]);
      CheckLossReported(copy);
    }
  }
}

TEST_CASE("ALossBeforeAGapIsReportedWhenTheLogEndsInTheSnapshotOfTheSlabAfterIt") {
  // The slab after the gap holds only its catalog section (its data sections lost, and the
  // slabs after it never named): the check waits for that snapshot, and the log ends there.
  TempDir dir, image;
  const std::string copy = RingKeepingSlab0(dir, image, /*busy_goes_on=*/true);
  const auto slabs = SlabIndexes(copy);
  for (size_t k = 2; k < slabs.size(); ++k) std::filesystem::remove(SlabPath(copy, slabs[k]));
  const std::string after = SlabPath(copy, slabs[1]);
  const auto data = SectionsOf(copy, after, "busy");
  REQUIRE(!data.empty());
  LoseFrom(after, data[0]);
  const std::string kept = SlabPath(copy, 0);
  const auto sections = SectionsOf(copy, kept, "busy");
  REQUIRE(sections.size() >= 2);
  LoseFrom(kept, sections[1]);
  CheckLossReported(copy);
}

TEST_CASE("SectionsLostFromTwoKeptSlabsAreHoles") {
  // The busy stream, seen in slab 0, loses its sections in slab 7 (and perhaps those after its
  // first in slab 0) and goes on after the second gap; or slab 13, the first after that gap,
  // loses its catalog section too, and the repeats in slabs 14 and 15 still tell.
  TempDir dir, image;
  const std::string copy = RingKeepingSlabs0And7(dir, image);
  const std::string k1 = SlabPath(copy, 0), k2 = SlabPath(copy, 7);
  const auto in_k1 = SectionsOf(copy, k1, "busy");
  const auto in_k2 = SectionsOf(copy, k2, "busy");
  REQUIRE(in_k1.size() >= 2);
  REQUIRE(!in_k2.empty());
  LoseFrom(k2, in_k2[0]);
  SUBCASE("the second kept slab's") { CheckLossReported(copy); }
  SUBCASE("both kept slabs'") {
    LoseFrom(k1, in_k1[1]);
    CheckLossReported(copy);
  }
  SUBCASE("the second kept slab's, and the snapshot of the slab after the gap") {
    ZeroBytes(SlabPath(copy, SlabIndexes(copy)[2]), 4096, 8192);  // the page of its catalog section
    CollectingReporter problems;
    auto v = Verify(copy, {}, &problems);
    REQUIRE(v);
    CHECK_MESSAGE(problems.Describe().find("while it kept slab 7") != std::string::npos, problems.Describe());
  }
}

TEST_CASE("AStreamOpenedInTheKeptSlabThatLostItsNameAndSectionsIsAHole") {
  // Everything written to the kept slab after a sync is lost: the entry naming a stream opened
  // there, and its sections. The repeats still give its position, and a walk from the log's
  // first slab knows it started at 0.
  for (const bool reappears : {true, false}) {
    CAPTURE(reappears);
    TempDir dir, image, synced;
    const std::string base = dir.path("ring.slog");
    auto w = Writer::Open(base, Ring(4));
    REQUIRE(w);
    auto idle = w.value()->OpenStream({"idle", Encoding::kBinary, 0});
    auto other = w.value()->OpenStream({"other", Encoding::kBinary, 0});
    REQUIRE(w.value()->Append(idle.value(), std::string(100, 'i'), 0).ok());
    int i = 1;
    for (; i < 20; ++i) REQUIRE(w.value()->Append(other.value(), std::string(700, 'o'), i).ok());
    REQUIRE(w.value()->slab_count() == 1);
    REQUIRE(w.value()->Sync().ok());
    std::filesystem::copy_file(SlabPath(base, 0), synced.path("slab0"));
    auto late = w.value()->OpenStream({"late", Encoding::kBinary, 0});
    REQUIRE(late);
    for (; w.value()->slab_count() < 2; ++i) REQUIRE(w.value()->Append(late.value(), std::string(700, 'l'), i).ok());
    for (; w.value()->slab_count() < 12; ++i) {
      REQUIRE(w.value()->Append(reappears && i % 2 ? late.value() : other.value(), std::string(700, 'p'), i).ok());
    }
    const std::string copy = CopyOfLiveRing(base, image);
    REQUIRE(w.value()->Close().ok());
    CheckHealthy(copy, "before the cut");
    std::filesystem::copy_file(synced.path("slab0"), SlabPath(copy, 0), std::filesystem::copy_options::overwrite_existing);
    // (Without the reappearance the ring did not reuse slab 1: the loss shows without a gap.)
    CollectingReporter problems;
    auto v = Verify(copy, {}, &problems);
    REQUIRE(v);
    CHECK_MESSAGE(v->damage >= 1, problems.Describe());
    if (reappears) CHECK_MESSAGE(problems.Describe().find("while it kept slab 0") != std::string::npos, problems.Describe());
  }
}

TEST_CASE("StreamsOpenedWhenTheNewestSlabIsFullNeverWritePastTheirCatalogSection") {
  // OpenStream's entry, when the slab has no room for it, makes a new slab and goes on in its
  // snapshot section, which may be too full for it: it goes into a section of its own then.
  // (Written past the snapshot's end, healthy rings read as damaged.)
  for (uint64_t sd = 1; sd <= 20; ++sd) {
    CAPTURE(sd);
    std::mt19937_64 rng(TestSeed() + sd);
    TempDir dir, image;
    const std::string base = dir.path("ring.slog");
    auto w = Writer::Open(base, Ring(8));
    REQUIRE(w);
    std::vector<StreamHandle> streams;
    const int n = 25 + static_cast<int>(rng() % 30);
    for (int s = 0; s < n; ++s) streams.push_back(w.value()->OpenStream({"s" + std::to_string(s), Encoding::kBinary, 0}).value());
    REQUIRE(w.value()->Append(streams[1], "idle", 0).ok());  // keeps slab 0
    int64_t t = 0;
    int opened = 0;
    while (w.value()->slab_count() < 14) {
      for (size_t s = 2; s < streams.size(); ++s) {
        const Status st = w.value()->Append(streams[s], std::string(rng() % 3000, 'x'), ++t);
        if (!st.ok()) REQUIRE_MESSAGE(st.error().code == Errc::kFull, Describe(st.error()));
        if (rng() % 3 == 0) (void)w.value()->OpenStream({"n" + std::to_string(opened++), Encoding::kBinary, 0});
      }
    }
    CheckHealthy(CopyOfLiveRing(base, image), "process death");
    REQUIRE(w.value()->Close().ok());
    CheckHealthy(base, "closed");
  }
}

TEST_CASE("RepeatedPositionsTakeNoRoomARecordHadBefore") {
  // Slabs sized as tightly as Writer::Open allows (a section and three pages): with an idle
  // stream keeping a slab and forty streams, records that fill a section still fit, and the
  // catalog section takes no more pages than without the idle stream.
  for (const bool with_idle : {false, true}) {
    CAPTURE(with_idle);
    TempDir dir;
    const std::string base = dir.path("ring.slog");
    WriterOptions o = Ring(4);
    o.section_size = 52 << 10;
    auto w = Writer::Open(base, o);
    REQUIRE(w);
    std::vector<StreamHandle> streams;
    for (int s = 0; s < 40; ++s) {
      auto h = w.value()->OpenStream({"s" + std::to_string(s), Encoding::kBinary, 0});
      REQUIRE(h);
      streams.push_back(h.value());
    }
    if (with_idle) REQUIRE(w.value()->Append(streams[1], std::string(100, 'i'), 0).ok());
    const std::string payload(50000, 'p');
    for (int i = 1; i < 20; ++i) {
      const Status st = w.value()->Append(streams[0], payload, i);
      REQUIRE_MESSAGE(st.ok(), "record ", i, ": ", (st.ok() ? std::string() : Describe(st.error())));
    }
    REQUIRE(w.value()->Close().ok());
    CheckHealthy(base, "closed");
  }
}

TEST_CASE("RingsThatKeepSlabsReadWithoutDamageAtAnyInstant") {
  // Process death (a copy of the files while the writer works), a clean close and a resumed
  // ring never read as damage, with ring sizes 2 to 6, one appender or many, up to 60 streams,
  // streams opened on the way, idle ones keeping slabs, and records in fragments.
  const uint64_t seeds = 12 * TestScale();
  uint64_t images = 0;
  for (uint64_t sd = 1; sd <= seeds; ++sd) {
    std::mt19937_64 rng(TestSeed() * 7919 + sd);
    TempDir dir;
    const std::string base = dir.path("ring.slog");
    WriterOptions o = Ring(static_cast<uint32_t>(2 + rng() % 5));
    o.one_appender = rng() % 3 == 0;
    o.section_size = (rng() % 2 ? 4u : 8u) << 10;
    const size_t nstreams = 1 + rng() % (rng() % 4 == 0 ? 60 : 6);
    auto w = Writer::Open(base, o);
    REQUIRE(w);
    std::vector<StreamHandle> hs;
    std::vector<double> rate;
    auto open_one = [&] {
      auto h = w.value()->OpenStream({"s" + std::to_string(hs.size()), Encoding::kBinary, 0});
      if (!h) {
        REQUIRE_MESSAGE(h.error().code == Errc::kFull, Describe(h.error()));
        return;
      }
      hs.push_back(h.value());
      rate.push_back(std::uniform_real_distribution<double>(0, 1)(rng));
    };
    for (size_t s = 0; s < nstreams; ++s) open_one();
    const uint64_t limit = (uint64_t{o.ring_slabs} - 1) * ((64 << 10) - 4 * 4096) / 2;
    const uint32_t target = o.ring_slabs + 3 + static_cast<uint32_t>(rng() % 20);
    int64_t t = 0;
    const std::string where = "seed " + std::to_string(sd) + " ring " + std::to_string(o.ring_slabs) +
                              (o.one_appender ? " one appender" : "");
    while (w.value()->slab_count() < target) {
      size_t s = rng() % hs.size();
      if (std::uniform_real_distribution<double>(0, 1)(rng) > rate[s] * rate[s]) s = 0;
      const uint64_t pick = rng() % 100;
      const size_t size = pick < 60 ? rng() % 300
                          : pick < 95 ? rng() % o.section_size
                                      : rng() % std::min<uint64_t>(limit, 3 * o.section_size);
      const Status st = w.value()->Append(hs[s], std::string(size, static_cast<char>('a' + s % 26)), ++t);
      // A ring whose slabs idle streams' sections all hold refuses, writing nothing.
      if (!st.ok()) REQUIRE_MESSAGE(st.error().code == Errc::kFull, Describe(st.error()));
      if (rng() % 500 == 0 && hs.size() < 100) open_one();
      if (rng() % 300 == 0) {
        TempDir image;
        ++images;
        CheckHealthy(CopyOfLiveRing(base, image), where + " (process death)");
      }
    }
    {
      TempDir image;
      ++images;
      CheckHealthy(CopyOfLiveRing(base, image), where + " (process death at the end)");
    }
    REQUIRE(w.value()->Close().ok());
    ++images;
    CheckHealthy(base, where + " (closed)");
    if (rng() % 2 == 0) {
      WriterOptions ro = o;
      ro.append = true;
      auto w2 = Writer::Open(base, ro);
      REQUIRE_MESSAGE(w2, (w2 ? std::string() : Describe(w2.error())));
      auto a = w2.value()->OpenStream({"s0", Encoding::kBinary, 0});
      auto late = w2.value()->OpenStream({"late", Encoding::kBinary, 0});
      REQUIRE(a);
      REQUIRE(late);
      REQUIRE(w2.value()->Append(late.value(), "x", ++t).ok());
      const uint32_t start = w2.value()->slab_count();
      while (w2.value()->slab_count() < start + o.ring_slabs + 3) {
        const Status st = w2.value()->Append(a.value(), std::string(rng() % 2000, 'r'), ++t);
        if (!st.ok()) {
          REQUIRE_MESSAGE(st.error().code == Errc::kFull, Describe(st.error()));
          break;
        }
        if (rng() % 200 == 0) {
          TempDir image;
          ++images;
          CheckHealthy(CopyOfLiveRing(base, image), where + " (resumed, process death)");
        }
      }
      REQUIRE(w2.value()->Close().ok());
      ++images;
      CheckHealthy(base, where + " (resumed, closed)");
    }
  }
  MESSAGE(images, " ring images read, none with damage expected");
  CHECK(images > seeds);
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("CatalogsThatOutgrowTheirSlabsRefuseNeverOverrun") {
  // 64 KiB slabs, stream names up to 2 KB, streams opened while slabs are full: a catalog entry
  // that a new slab's snapshot leaves no room for is refused; none is written past its section
  // (which took the process down with SIGSEGV, or read as damage), rings or not.
  for (uint64_t sd = 1; sd <= 30; ++sd) {
    CAPTURE(sd);
    std::mt19937_64 rng(TestSeed() + sd * 17);
    TempDir dir;
    const std::string base = dir.path("log.slog");
    WriterOptions o = Ring(static_cast<uint32_t>(3 + rng() % 4));
    if (rng() % 3 == 0) o.ring_slabs = 0;
    auto w = Writer::Open(base, o);
    REQUIRE(w);
    std::vector<StreamHandle> streams;
    const size_t name_bytes = 50 + rng() % 1500;
    for (int s = 0, n = 5 + static_cast<int>(rng() % 60); s < n; ++s) {
      auto h = w.value()->OpenStream({"s" + std::to_string(s) + std::string(name_bytes, 'N'), Encoding::kBinary, 0});
      if (!h) break;
      streams.push_back(h.value());
    }
    if (streams.size() < 3) continue;
    (void)w.value()->Append(streams[1], "idle", 0);
    for (int64_t t = 1; w.value()->slab_count() < 20 && t < 5000; ++t) {
      (void)w.value()->Append(streams[2 + rng() % (streams.size() - 2)], std::string(rng() % 4000, 'x'), t);
      if (rng() % 5 == 0) {
        auto h = w.value()->OpenStream({"n" + std::to_string(t) + std::string(rng() % 2000, 'q'), Encoding::kBinary, 0});
        if (h) streams.push_back(h.value());
      }
      if (rng() % 100 == 0) {
        TempDir image;
        CheckHealthy(CopyOfLiveRing(base, image), "process death");
      }
    }
    REQUIRE(w.value()->Close().ok());
    CheckHealthy(base, "closed");
  }
}

}  // namespace slablog::test
