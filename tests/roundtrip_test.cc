// Writer to reader round trips: random sizes from zero bytes to several MiB, many streams, many
// slabs, several writer threads, and reopening a log to append.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <cstring>
#include <thread>

#include "testutil.h"

namespace slablog::test {

TEST_CASE("EmptyLogRoundTrip") {
  TempDir dir;
  WriteLog(dir.path("e.slog"), SmallOptions(), {});
  ReadResult r = ReadAll(dir.path("e.slog"));
  REQUIRE(r.opened);
  CHECK(r.records.empty());
  CHECK(r.summary.clean);
  CHECK(r.reporter.events.empty());
}

TEST_CASE("RandomSizesRoundTrip") {
  const uint64_t seed = TestSeed();
  INFO("seed ", seed);
  std::mt19937_64 rng(seed);
  TempDir dir;
  WriterOptions options = SmallOptions();
  SUBCASE("small slabs and sections") {}
  SUBCASE("default sizes") { options = WriterOptions{}; options.sync = SyncPolicy::kManual; }
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 600; ++i) {
    records.emplace_back("s" + std::to_string(rng() % 5), RandomSkewedString(rng, 17));
  }
  // Record sizes that matter: empty, several MiB (many fragments and slabs).
  records.emplace_back("s1", "");
  records.emplace_back("big", std::string(3 << 20, 'x'));
  records.emplace_back("s2", RandomSkewedString(rng, 22));
  WriteLog(dir.path("r.slog"), options, records);
  ReadResult r = ReadAll(dir.path("r.slog"));
  REQUIRE(r.opened);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  REQUIRE(r.records.size() == records.size());
  // Within a stream, order is preserved; timestamps are the write order.
  std::map<std::string, std::vector<std::string>> want, got;
  for (const auto& [s, p] : records) want[s].push_back(p);
  for (const auto& rec : r.records) got[rec.stream].push_back(rec.payload);
  CHECK(want == got);
}

TEST_CASE("RecordAtEveryBoundary") {
  // Records that end exactly at, one byte before, and one frame header before a section's end,
  // and records one byte larger than a section can hold (the smallest that must fragment).
  TempDir dir;
  WriterOptions options = SmallOptions();
  const size_t room = options.section_size - kSectionHeaderSize;  // bytes of frames per section
  for (size_t fill : {room - kFrameHeaderSize, room - kFrameHeaderSize - 1,
                      room - 2 * kFrameHeaderSize, room - kFrameHeaderSize + 1, room, 2 * room + 5}) {
    CAPTURE(fill);
    const std::string base = dir.path("b" + std::to_string(fill) + ".slog");
    std::vector<std::pair<std::string, std::string>> records = {
        {"a", std::string(fill, 'p')}, {"a", "next"}, {"a", std::string(fill, 'q')}, {"a", ""}};
    WriteLog(base, options, records);
    ReadResult r = ReadAll(base);
    CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
    REQUIRE(r.records.size() == records.size());
    for (size_t i = 0; i < records.size(); ++i) CHECK(r.records[i].payload == records[i].second);
  }
}

TEST_CASE("ConcurrentStreamsRoundTrip") {
  TempDir dir;
  const std::string base = dir.path("mt.slog");
  auto w = Writer::Open(base, SmallOptions());
  REQUIRE(w.has_value());
  constexpr int kThreads = 4;
  constexpr int kRecords = 3000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto h = w.value()->OpenStream({"thread" + std::to_string(t), Encoding::kText, 0});
      REQUIRE(h.has_value());
      std::mt19937_64 rng(TestSeed() + static_cast<uint64_t>(t));
      for (int i = 0; i < kRecords; ++i) {
        std::string payload = std::to_string(i) + ":" + RandomSkewedString(rng, 12);
        REQUIRE(w.value()->Append(h.value(), payload, i).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(w.value()->Close().ok());
  CHECK(w.value()->slab_count() > 10);
  ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  for (int t = 0; t < kThreads; ++t) {
    auto recs = r.OfStream("thread" + std::to_string(t));
    REQUIRE(recs.size() == kRecords);
    for (int i = 0; i < kRecords; ++i) {
      CHECK(recs[static_cast<size_t>(i)].timestamp == i);
      CHECK(recs[static_cast<size_t>(i)].payload.rfind(std::to_string(i) + ":", 0) == 0);
    }
  }
}

TEST_CASE("ReopenForAppend") {
  TempDir dir;
  const std::string base = dir.path("a.slog");
  WriteLog(base, SmallOptions(), {{"x", "one"}, {"y", std::string(20000, 'y')}});
  WriterOptions options = SmallOptions();
  options.append = true;
  WriteLog(base, options, {{"x", "two"}, {"z", "new stream"}});
  ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  REQUIRE(r.OfStream("x").size() == 2);
  CHECK(r.OfStream("x")[1].payload == "two");
  CHECK(r.OfStream("z").size() == 1);
  SUBCASE("creating over an existing log is refused") {
    auto w = Writer::Open(base, SmallOptions());
    CHECK_FALSE(w.has_value());
  }
  SUBCASE("default options fit sections to the log's small slabs") {
    WriterOptions defaults;  // 1 MiB sections; the log's slabs are far smaller
    defaults.append = true;
    WriteLog(base, defaults, {{"x", "three"}, {"y", std::string(50000, 'w')}});
    ReadResult again = ReadAll(base);
    CHECK_MESSAGE(again.reporter.events.empty(), again.reporter.Describe());
    REQUIRE(again.OfStream("x").size() == 3);
    CHECK(again.OfStream("x")[2].payload == "three");
    REQUIRE(again.OfStream("y").size() == 2);
    CHECK(again.OfStream("y")[1].payload == std::string(50000, 'w'));
  }
}

TEST_CASE("OpenBySlabPathOrConcatenation") {
  TempDir dir;
  const std::string base = dir.path("c.slog");
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 200; ++i) records.emplace_back("s", std::string(1000, static_cast<char>('a' + i % 26)));
  WriteLog(base, SmallOptions(), records);
  REQUIRE(std::filesystem::exists(SlabPath(base, 3)));
  // Any slab path opens the whole log.
  CHECK(ReadAll(SlabPath(base, 2)).records.size() == records.size());
  // Slabs joined with cat read as the same log.
  std::string joined;
  for (uint32_t i = 0; std::filesystem::exists(SlabPath(base, i)); ++i) joined += ReadFile(SlabPath(base, i));
  WriteFile(dir.path("joined.bin"), joined);
  ReadResult r = ReadAll(dir.path("joined.bin"));
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.records.size() == records.size());
  CHECK(r.summary.clean);
  // One slab on its own reads cleanly apart from records cut at its edges.
  ReaderOptions single;
  single.single_file = true;
  ReadResult one = ReadAll(SlabPath(base, 2), single);
  CHECK(one.opened);
  CHECK(one.records.size() > 10);
}

TEST_CASE("OneStreamOnly") {
  TempDir dir;
  const std::string base = dir.path("f.slog");
  WriteLog(base, SmallOptions(), {{"a", "1"}, {"b", std::string(9000, 'b')}, {"a", "2"}, {"c", "3"}});
  ReaderOptions only_a;
  only_a.only_streams = {"a"};
  ReadResult r = ReadAll(base, only_a);
  CHECK(r.reporter.events.empty());
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[1].payload == "2");
}

TEST_CASE("ReadingWithoutChecksumsReturnsEveryRecord") {
  // verify_checksums = false (dump --no-verify): the scanner's fault re-check, which is for
  // sections a helper checked, must not run without a fault word to look at.
  TempDir dir;
  const std::string base = dir.path("v.slog");
  WriteLog(base, SmallOptions(), {{"s", "one"}, {"s", "two"}, {"s", std::string(20000, 'x')}});
  for (const bool records : {false, true}) {
    for (const unsigned threads : {1u, 2u}) {
      CAPTURE(records);
      CAPTURE(threads);
      ReaderOptions o;
      o.verify_checksums = false;
      o.records = records;
      o.threads = threads;
      ReadResult r = ReadAll(base, o);
      REQUIRE(r.opened);
      CHECK(r.reporter.events.empty());
      CHECK(r.summary.records == 3);
      if (records) {
        const auto recs = r.OfStream("s");
        REQUIRE(recs.size() == 3);
        CHECK(recs[2].payload == std::string(20000, 'x'));
      }
    }
  }
}

TEST_CASE("SkippedSectionsKeepRecordNumbers") {
  // Records of every size, many of them fragmented across sections, so that skipped sections cut
  // records in every way: begun before, ended inside, begun inside and ended after.
  std::mt19937_64 rng(TestSeed());
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 400; ++i) records.emplace_back(i % 3 ? "a" : "b", RandomSkewedString(rng, 15));
  WriteLog(dir.path("k.slog"), SmallOptions(), records);

  auto read = [&](bool skip_some) {
    std::map<std::pair<std::string, uint64_t>, uint64_t> index_at;  // where -> number in stream
    auto reader = Reader::Open(dir.path("k.slog"), ReaderOptions{}, nullptr);
    REQUIRE(reader);
    Item item;
    uint64_t sections = 0;
    while (reader.value()->Next(&item)) {
      if (item.kind == ItemKind::kSection && item.section->open.stream_id != kCatalogStream &&
          skip_some && ++sections % 3 != 0) {
        reader.value()->SkipSection();
      }
      if (item.kind == ItemKind::kRecord) {
        index_at[{item.record.slab->file, item.record.offset}] = item.record.index;
      }
    }
    return index_at;
  };
  const auto all = read(false);
  const auto some = read(true);
  REQUIRE(all.size() == records.size());
  REQUIRE(some.size() > 20);
  REQUIRE(some.size() < all.size() / 2);
  for (const auto& [where, index] : some) {
    REQUIRE(all.count(where) == 1);
    CHECK_MESSAGE(all.at(where) == index, where.first, " offset ", where.second);
  }
}

TEST_CASE("MaxSlabsBoundsTheLog") {
  // Records of every size, a new stream now and then, until the one allowed slab is full: each
  // refused append writes nothing, and everything accepted reads back from a log within its slab.
  std::mt19937_64 rng(TestSeed());
  TempDir dir;
  WriterOptions options = SmallOptions();
  options.max_slabs = 1;
  const std::string base = dir.path("m.slog");
  auto writer = Writer::Open(base, options);
  REQUIRE(writer);
  std::vector<ReadRecord> accepted;
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string name = "s" + std::to_string(i / 40);
    auto stream = writer.value()->OpenStream({name, Encoding::kBinary, 0});
    if (!stream) {
      CHECK(stream.error().code == Errc::kFull);
      ++refused;
      continue;
    }
    const std::string payload = RandomSkewedString(rng, 15);
    if (Status st = writer.value()->Append(stream.value(), payload, i); !st) {
      CHECK(st.error().code == Errc::kFull);
      ++refused;
      continue;
    }
    accepted.push_back({name, i, payload});
  }
  REQUIRE(writer.value()->Close());
  CHECK(refused > 0);
  CHECK(accepted.size() > 10);
  CHECK(writer.value()->slab_count() == 1);
  CHECK_FALSE(std::filesystem::exists(SlabPath(base, 1)));
  CHECK(std::filesystem::file_size(SlabPath(base, 0)) <= options.slab_size);
  ReadResult r = ReadAll(base);
  CHECK_MESSAGE(r.reporter.events.empty(), r.reporter.Describe());
  CHECK(r.summary.clean);
  CHECK(r.records == accepted);
}

TEST_CASE("RecordSpanningManySlabs") {
  // A record far larger than a slab: fragments across many sections and slab files.
  TempDir dir;
  const std::string base = dir.path("huge.slog");
  WriterOptions o;
  o.slab_size = 16 << 20;
  o.section_size = 1 << 20;
  o.sync = SyncPolicy::kManual;
  std::string big(200u << 20, '\0');
  std::mt19937_64 rng(TestSeed());
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(rng());
  auto w = Writer::Open(base, o);
  REQUIRE(w.has_value());
  auto h = w.value()->OpenStream({"big", Encoding::kBinary, 0});
  REQUIRE(w.value()->Append(h.value(), "before", 1).ok());
  REQUIRE(w.value()->Append(h.value(), big, 2).ok());
  REQUIRE(w.value()->Append(h.value(), "after", 3).ok());
  REQUIRE(w.value()->Close().ok());
  CHECK(w.value()->slab_count() >= 13);
  auto reader = Reader::Open(base, {}, nullptr);
  REQUIRE(reader.has_value());
  Item item;
  std::vector<std::pair<int64_t, size_t>> seen;
  bool big_intact = false;
  while (reader.value()->Next(&item)) {
    if (item.kind != ItemKind::kRecord) continue;
    seen.emplace_back(item.record.timestamp, item.record.payload.size());
    if (item.record.timestamp == 2) {
      big_intact = item.record.payload.size() == big.size() &&
                   std::memcmp(item.record.payload.data(), big.data(), big.size()) == 0;
      CHECK(item.record.fragments > 190);
    }
  }
  CHECK(big_intact);
  CHECK(seen == std::vector<std::pair<int64_t, size_t>>{{1, 6}, {2, big.size()}, {3, 5}});
  CHECK(reader.value()->summary().corruptions == 0);
}

TEST_CASE("EverySyncPolicyAndSync") {
  TempDir dir;
  WriterOptions o = SmallOptions();
  SUBCASE("manual") { o.sync = SyncPolicy::kManual; }
  SUBCASE("on close") { o.sync = SyncPolicy::kOnClose; }
  SUBCASE("every slab") { o.sync = SyncPolicy::kEverySlab; }
  SUBCASE("no prefault thread") { o.background_prefault = false; }
  const std::string base = dir.path("p.slog");
  auto w = Writer::Open(base, o);
  REQUIRE(w.has_value());
  auto h = w.value()->OpenStream({"s", Encoding::kText, 0});
  REQUIRE(h.has_value());
  for (int i = 0; i < 500; ++i) {
    REQUIRE(w.value()->Append(h.value(), std::string(static_cast<size_t>(i % 700), 'p'), i).ok());
    if (i % 100 == 0) REQUIRE(w.value()->Sync().ok());
  }
  REQUIRE(w.value()->Close().ok());
  REQUIRE(w.value()->Close().ok());  // twice is harmless
  CHECK_FALSE(w.value()->Append(h.value(), "late", 1).ok());
  ReadResult r = ReadAll(base);
  CHECK(r.reporter.events.empty());
  CHECK(r.summary.clean);
  CHECK(r.records.size() == 500);
}

}  // namespace slablog::test
