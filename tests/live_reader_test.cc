// Readers of a live log: each stream is read as a prefix of what was appended, in order, each
// record once, whatever the writer did between the reader's steps. The writer and the reader run
// in one thread here, so that the interleaving is exactly the one each test names.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

namespace slablog::test {
namespace {

std::string Payload(const std::string& stream, int i) { return stream + ":" + std::to_string(i) + std::string(static_cast<size_t>(40 + i % 90), 'p'); }

// Reads items until `stop` says so or the log ends; collects the records of every stream.
struct LiveRead {
  std::unique_ptr<Reader> reader;
  std::vector<std::pair<std::string, std::string>> records;  // stream, payload
  CollectingReporter problems;

  explicit LiveRead(const std::string& base) {
    auto r = Reader::Open(base, {}, &problems);
    REQUIRE(r);
    reader = std::move(r.value());
  }
  // Returns false at the end of the log.
  bool Step() {
    Item item;
    if (!reader->Next(&item)) return false;
    if (item.kind == ItemKind::kRecord) {
      records.emplace_back(std::string(item.record.stream_name),
                           std::string(reinterpret_cast<const char*>(item.record.payload.data()),
                                       item.record.payload.size()));
    }
    return true;
  }
  std::vector<std::string> Of(const std::string& stream) const {
    std::vector<std::string> out;
    for (const auto& [s, p] : records) {
      if (s == stream) out.push_back(p);
    }
    return out;
  }
};

// A live log with stream a's section open with 5 records, then stream b's with one: a reader
// that has read b's record has gone past a's section while a writer can still add to it.
struct APassedByTheReader {
  TempDir dir;
  std::string base = dir.path("live.slog");
  std::unique_ptr<Writer> w;
  StreamHandle a, b;
  std::vector<std::string> written_a;

  APassedByTheReader() {
    auto opened = Writer::Open(base, SmallOptions());
    REQUIRE(opened);
    w = std::move(opened.value());
    auto ha = w->OpenStream({"a", Encoding::kBinary, 0});
    auto hb = w->OpenStream({"b", Encoding::kBinary, 0});
    REQUIRE(ha);
    REQUIRE(hb);
    a = ha.value();
    b = hb.value();
    AppendToA(5);
    REQUIRE(w->Append(b, Payload("b", 0), 0).ok());
  }
  // Some 80 records fill an 8 KiB section.
  void AppendToA(int n) {
    for (int i = 0; i < n; ++i) {
      const int index = static_cast<int>(written_a.size());
      written_a.push_back(Payload("a", index));
      REQUIRE(w->Append(a, written_a.back(), index).ok());
    }
  }
};

}  // namespace

TEST_CASE("ALiveReaderReadsTheRestOfASectionTheWriterFilledBehindIt") {
  // The reader reads stream a's open section to its last frame and goes on to stream b's. The
  // writer then fills a's section and starts a's next one, after b's: the frames it added to the
  // section the reader left are read before those of the next one, none skipped.
  APassedByTheReader log;
  LiveRead live(log.base);
  while (live.Of("b").empty()) REQUIRE(live.Step());
  REQUIRE(live.Of("a") == log.written_a);
  log.AppendToA(295);  // a's section filled, and three more started
  while (live.Step()) {
  }
  CHECK_MESSAGE(live.problems.events.empty(), live.problems.Describe());
  const auto read_a = live.Of("a");
  CHECK(read_a.size() == log.written_a.size());
  for (size_t i = 0; i < read_a.size() && i < log.written_a.size(); ++i) REQUIRE(read_a[i] == log.written_a[i]);
  REQUIRE(log.w->Close().ok());
}

TEST_CASE("RecordsReadLateFollowTheirOwnSectionItem") {
  // The rest of a's section, read after b's section item, comes after a's section announced
  // again: export --sections and dump put records under the last section item.
  APassedByTheReader log;
  auto r = Reader::Open(log.base, {}, nullptr);
  REQUIRE(r);
  Item item;
  std::string section_stream;  // of the last section item
  uint64_t records = 0, misplaced = 0;
  bool b_read = false;
  const auto step = [&] {
    if (!r.value()->Next(&item)) return false;
    if (item.kind == ItemKind::kSection) section_stream = std::string(item.section->stream_name);
    if (item.kind == ItemKind::kRecord) {
      ++records;
      if (item.record.stream_name != section_stream) ++misplaced;
      b_read = b_read || item.record.stream_name == "b";
    }
    return true;
  };
  while (!b_read) REQUIRE(step());
  log.AppendToA(295);
  while (step()) {
  }
  CHECK(records == 301);
  CHECK(misplaced == 0);
  REQUIRE(log.w->Close().ok());
}

TEST_CASE("AStreamNamedWhileAReaderOfNamedStreamsIsPastTheCatalogIsNotCutShort") {
  // The writer defines stream a in the catalog section the reader has left, starts a's first
  // section after it, and rolls the catalog. A reader of stream a only must not learn a's name
  // in the middle of its pass (its first section would have gone by as unwanted, the rest read):
  // it reads a prefix of a, here none, and the next pass reads all of it.
  TempDir dir;
  const std::string base = dir.path("live.slog");
  auto w = Writer::Open(base, SmallOptions());
  REQUIRE(w);
  auto x = w.value()->OpenStream({"x", Encoding::kBinary, 0});
  REQUIRE(x);
  REQUIRE(w.value()->Append(x.value(), Payload("x", 0), 0).ok());
  ReaderOptions only_a;
  only_a.only_streams = {"a"};
  auto r = Reader::Open(base, only_a, nullptr);
  REQUIRE(r);
  Item item;
  do {
    REQUIRE(r.value()->Next(&item));
  } while (!(item.kind == ItemKind::kSection && item.section->stream_name == "x"));
  auto a = w.value()->OpenStream({"a", Encoding::kBinary, 0});
  REQUIRE(a);
  std::vector<std::string> written;
  for (int i = 0; i < 5; ++i) {
    written.push_back(Payload("a", i));
    REQUIRE(w.value()->Append(a.value(), written.back(), i).ok());
  }
  for (int i = 0; i < 200; ++i) {
    REQUIRE(w.value()->OpenStream({"filler_stream_with_a_long_name_" + std::to_string(i), Encoding::kBinary, 0}));
  }
  for (int i = 5; i < 300; ++i) {
    written.push_back(Payload("a", i));
    REQUIRE(w.value()->Append(a.value(), written.back(), i).ok());
  }
  std::vector<std::string> read;
  while (r.value()->Next(&item)) {
    if (item.kind == ItemKind::kRecord) read.emplace_back(reinterpret_cast<const char*>(item.record.payload.data()), item.record.payload.size());
  }
  REQUIRE(read.size() <= written.size());
  for (size_t i = 0; i < read.size(); ++i) REQUIRE(read[i] == written[i]);
  ReadResult next_pass = ReadAll(base, only_a);
  std::vector<std::string> all;
  for (const auto& rec : next_pass.OfStream("a")) all.push_back(rec.payload);
  CHECK(all == written);
  REQUIRE(w.value()->Close().ok());
}

TEST_CASE("LiveReadersPausedAtRandomStepsReadEachStreamAsAPrefixOfWhatWasAppended") {
  // A reader takes a few steps, the writer appends a few records (to several streams, from empty
  // to several sections long, so that records span sections and slabs), and so on at random: the
  // reader is paused at every kind of place in its walk while the log changes under it. Each of
  // its passes reads every stream as a prefix of what was appended, each record once, in order,
  // with no problem reported; a new pass starts when one ends, as `follow` does.
  const uint64_t trials = 100 * TestScale();
  uint64_t passes = 0, records_read = 0;
  for (uint64_t trial = 0; trial < trials; ++trial) {
    std::mt19937_64 rng(TestSeed() + trial);
    CAPTURE(trial);
    TempDir dir;
    const std::string base = dir.path("live.slog");
    auto w = Writer::Open(base, SmallOptions());
    REQUIRE(w);
    const std::vector<std::string> names = {"a", "b", "c"};
    std::vector<StreamHandle> handles;
    std::map<std::string, std::vector<std::string>> written;
    for (const auto& n : names) {
      auto h = w.value()->OpenStream({n, Encoding::kBinary, 0});
      REQUIRE(h);
      handles.push_back(h.value());
    }
    std::unique_ptr<LiveRead> live;
    for (int round = 0; round < 60; ++round) {
      if (rng() % 2 == 0) {
        for (uint64_t n = rng() % 6; n > 0; --n) {
          const size_t s = rng() % names.size();
          std::string payload = names[s] + ":" + std::to_string(written[names[s]].size()) + ":";
          payload += rng() % 16 == 0 ? std::string(rng() % 30000, 'L') : RandomSkewedString(rng, 9);
          REQUIRE(w.value()->Append(handles[s], payload, static_cast<int64_t>(round)).ok());
          written[names[s]].push_back(std::move(payload));
        }
      } else {
        if (!live) live = std::make_unique<LiveRead>(base);
        bool more = true;
        for (uint64_t n = 1 + rng() % 12; n > 0 && more; --n) more = live->Step();
        if (!more) {
          CHECK_MESSAGE(live->problems.events.empty(), live->problems.Describe());
          for (const auto& n : names) {
            const auto read = live->Of(n);
            const auto& all = written[n];
            REQUIRE(read.size() <= all.size());
            for (size_t i = 0; i < read.size(); ++i) REQUIRE_MESSAGE(read[i] == all[i], "stream ", n, " record ", i);
            records_read += read.size();
          }
          ++passes;
          live.reset();
        }
      }
    }
    live.reset();
    REQUIRE(w.value()->Close().ok());
  }
  MESSAGE("paused-reader trials: ", trials, ", passes checked: ", passes, ", records read: ", records_read);
  CHECK(passes > trials);
}

TEST_CASE("LiveReadersPausedAtRandomInstantsWhileWritersOnSeveralThreadsAppend") {
  // The same with real concurrency: writers on three threads, each its own stream, append records
  // from empty to several sections long; a reader makes pass after pass over the live log and
  // sleeps at random between its steps. Record i of a stream is a function of (stream, i), so
  // every pass can check what it read without sharing the writers' state.
  const auto expected = [](size_t stream, uint64_t i) {
    std::mt19937_64 rng(stream * 1000003 + i);
    std::string p = std::to_string(stream) + ":" + std::to_string(i) + ":";
    p += rng() % 32 == 0 ? std::string(rng() % 20000, static_cast<char>('A' + stream)) : RandomSkewedString(rng, 8);
    return p;
  };
  const uint64_t trials = 3 * TestScale();
  uint64_t passes = 0, records_read = 0;
  for (uint64_t trial = 0; trial < trials; ++trial) {
    CAPTURE(trial);
    TempDir dir;
    const std::string base = dir.path("live.slog");
    auto w = Writer::Open(base, SmallOptions());
    REQUIRE(w);
    std::vector<StreamHandle> handles;
    for (size_t s = 0; s < 3; ++s) {
      auto h = w.value()->OpenStream({"s" + std::to_string(s), Encoding::kBinary, 0});
      REQUIRE(h);
      handles.push_back(h.value());
    }
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    // Joined however the test leaves this scope (a failed REQUIRE throws).
    struct Writers {
      std::atomic<bool>* stop;
      std::vector<std::thread> threads;
      ~Writers() {
        stop->store(true);
        for (auto& t : threads) t.join();
      }
    } writer_threads{&stop, {}};
    std::vector<std::thread>& writers = writer_threads.threads;
    for (size_t s = 0; s < 3; ++s) {
      writers.emplace_back([&, s] {
        for (uint64_t i = 0; !stop.load(); ++i) {
          if (!w.value()->Append(handles[s], expected(s, i), static_cast<int64_t>(i)).ok()) ++failures;
          // At a pace a reader's pass can keep up with, so that the passes race the writers.
          if (i % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      });
    }
    std::mt19937_64 rng(TestSeed() + trial);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
    while (std::chrono::steady_clock::now() < until) {
      LiveRead live(base);
      std::vector<uint64_t> next(3, 0);
      while (live.Step()) {
        if (rng() % 512 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1000));
      }
      CHECK_MESSAGE(live.problems.events.empty(), live.problems.Describe());
      for (const auto& [name, payload] : live.records) {
        const size_t s = static_cast<size_t>(name[1] - '0');
        REQUIRE_MESSAGE(payload == expected(s, next[s]), "stream ", name, " record ", next[s]);
        ++next[s];
        ++records_read;
      }
      ++passes;
    }
    stop = true;
    for (auto& t : writers) t.join();
    writers.clear();
    CHECK(failures.load() == 0);
    REQUIRE(w.value()->Close().ok());
  }
  MESSAGE("concurrent paused-reader trials: ", trials, ", passes checked: ", passes, ", records read: ", records_read);
  CHECK(passes >= trials);
}

}  // namespace slablog::test
