// Crash consistency: writers killed with SIGKILL at random instants, then truncate; and truncate
// itself stopped after every possible number of writes, then run again.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "slablog/recovery.h"
#include "testutil.h"

namespace slablog::test {
namespace {

constexpr int kStreams = 4;

// Record `index` of stream `stream` in trial `seed`: sizes skewed from 0 bytes to 40 KB (several
// sections of 8 KB), contents that tell records apart.
std::string Payload(uint64_t seed, int stream, uint64_t index) {
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(stream) * 7919 + index);
  const int max_log2 = stream == kStreams - 1 ? 16 : 10;
  std::string p = RandomSkewedString(rng, max_log2);
  if (stream == kStreams - 1 && p.size() > 40000) p.resize(40000);
  const std::string tag = std::to_string(stream) + ":" + std::to_string(index) + ":";
  return tag + p;
}

std::string StreamName(int s) { return "s" + std::to_string(s); }

// The child: one thread per stream, appending until killed.
[[noreturn]] void WriteUntilKilled(const std::string& base, uint64_t seed, const std::string& recycle,
                                   uint64_t section_size) {
  WriterOptions o = SmallOptions();
  o.recycle = recycle;
  o.section_size = section_size;
  auto w = Writer::Open(base, o);
  if (!w) _exit(3);
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      auto h = w.value()->OpenStream({StreamName(s), Encoding::kBinary, 0});
      if (!h) _exit(4);
      for (uint64_t i = 0;; ++i) {
        if (!w.value()->Append(h.value(), Payload(seed, s, i), static_cast<int64_t>(i)).ok()) _exit(5);
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

// Every stream's records are exactly its first N, byte for byte.
void CheckPrefixes(const ReadResult& r, uint64_t seed) {
  for (int s = 0; s < kStreams; ++s) {
    const auto recs = r.OfStream(StreamName(s));
    for (size_t i = 0; i < recs.size(); ++i) {
      if (recs[i].payload != Payload(seed, s, i)) {
        FAIL("stream ", s, " record ", i, " differs from what was written (seed ", seed, ")");
      }
    }
  }
}

// The log a writer killed after `kill_after_ms` leaves; with `recycle`, written into the slab
// files of that retired log.
std::string KilledLog(const TempDir& dir, uint64_t seed, int kill_after_ms, const std::string& recycle = "",
                      uint64_t section_size = SmallOptions().section_size) {
  const std::string base = dir.path("crash" + std::to_string(seed) + ".slog");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) WriteUntilKilled(base, seed, recycle, section_size);
  std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));  // it was still writing when killed
  return base;
}

}  // namespace

TEST_CASE("KilledWriterThenTruncate") {
  TempDir dir;
  const uint64_t base_seed = TestSeed();
  std::mt19937_64 rng(base_seed);
  uint64_t total_records = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const uint64_t seed = base_seed + static_cast<uint64_t>(trial);
    CAPTURE(seed);
    const std::string base = KilledLog(dir, seed, 5 + static_cast<int>(rng() % 60));
    auto truncated = Truncate(base, {}, nullptr);
    REQUIRE_MESSAGE(truncated.has_value(), (truncated ? "" : Describe(truncated.error())));
    CollectingReporter problems;
    auto v = Verify(base, {}, &problems);
    REQUIRE(v.has_value());
    CHECK_MESSAGE(v->ok(), problems.Describe());
    ReadResult r = ReadAll(base);
    CheckPrefixes(r, seed);
    total_records += r.records.size();
    // A second truncate finds nothing to do and changes nothing.
    auto again = Truncate(base, {}, nullptr);
    REQUIRE(again.has_value());
    CHECK_FALSE(again->changed);
  }
  MESSAGE("records recovered over all trials: ", total_records);
  CHECK(total_records > 1000);  // the writers were killed mid-stream, not before they began
}

TEST_CASE("KilledWriterOnRecycledSlabs") {
  // The files taken over hold another crashed log's frames and headers, every byte busy. Killed,
  // the new writer must leave a log that reads as one written into new files would: its records
  // whole, nothing reported but a frame torn at a stream's end, repaired by truncate.
  TempDir dir;
  const uint64_t base_seed = TestSeed() + 500;
  std::mt19937_64 rng(base_seed);
  uint64_t taken = 0;
  for (int trial = 0; trial < 8; ++trial) {
    const uint64_t seed = base_seed + static_cast<uint64_t>(trial);
    CAPTURE(seed);
    const std::string retired = KilledLog(dir, seed, 40);
    const size_t retired_slabs = ListSlabFiles(retired).size();
    // Every other trial with sections large enough for frames that StreamingCopy writes.
    const uint64_t section_size = trial % 2 == 0 ? SmallOptions().section_size : 32 << 10;
    const std::string base =
        KilledLog(dir, seed + 10000, 5 + static_cast<int>(rng() % 30), retired, section_size);
    taken += retired_slabs - ListSlabFiles(retired).size();
    ReadResult r = ReadAll(base);
    REQUIRE(r.opened);
    CheckPrefixes(r, seed + 10000);
    // What a kill leaves at a stream's end, as in new files: a torn frame, a record whose next
    // fragment never came. Truncate below refuses anything else.
    for (const Corruption& c : r.reporter.events) {
      CHECK_MESSAGE((c.kind == CorruptionKind::kTornTail || c.kind == CorruptionKind::kUnfinishedFragment),
                    r.reporter.Describe());
    }
    REQUIRE(Truncate(base, {}, nullptr).has_value());
    CollectingReporter problems;
    auto v = Verify(base, {}, &problems);
    REQUIRE(v.has_value());
    CHECK_MESSAGE(v->ok(), problems.Describe());
    CHECK(ReadAll(base).records.size() == r.records.size());
  }
  MESSAGE("slab files taken over: ", taken);
  CHECK(taken >= 8);
}

TEST_CASE("TruncateStoppedAfterEveryWrite") {
  // A truncate killed after any number of its writes leaves a log that a second truncate
  // repairs, losing nothing the full repair keeps.
  TempDir dir, work;
  const uint64_t seed = TestSeed() + 1000;
  const std::string crashed = KilledLog(dir, seed, 40);
  const std::string reference = SnapshotLog(crashed, work.path(""));
  auto full = Truncate(reference, {}, nullptr);
  REQUIRE(full.has_value());
  REQUIRE(full->changed);
  const ReadResult want = ReadAll(reference);
  for (uint64_t stop = 1;; ++stop) {
    CAPTURE(stop);
    TempDir attempt;
    const std::string copy = SnapshotLog(crashed, attempt.dir());
    TruncateOptions partial;
    partial.stop_after_writes = stop;
    auto first = Truncate(copy, partial, nullptr);
    const bool finished = first.has_value();
    auto second = Truncate(copy, {}, nullptr);
    REQUIRE_MESSAGE(second.has_value(), (second ? "" : Describe(second.error())));
    CollectingReporter problems;
    auto v = Verify(copy, {}, &problems);
    REQUIRE(v.has_value());
    CHECK_MESSAGE(v->ok(), problems.Describe());
    const ReadResult got = ReadAll(copy);
    CHECK(got.records == want.records);
    if (finished) break;
    REQUIRE(stop < 10000);
  }
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("VerifyWhileAWriterWritesAndCloses") {
  // Frames completed while verify runs are no false alarm, and the writer trimming its last slab
  // at close never brings a reader down.
  TempDir dir;
  const std::string base = dir.path("live.slog");
  for (int round = 0; round < 6; ++round) {
    const std::string log = dir.path("live" + std::to_string(round) + ".slog");
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto w = Writer::Open(log, SmallOptions());
      if (!w) _exit(3);
      auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
      const auto start = std::chrono::steady_clock::now();
      for (uint64_t i = 0; std::chrono::steady_clock::now() - start < std::chrono::milliseconds(150 + 40 * round); ++i) {
        if (!w.value()->Append(h.value(), std::string(50 + i % 3000, 'v'), static_cast<int64_t>(i)).ok()) _exit(4);
      }
      _exit(w.value()->Close().ok() ? 0 : 5);
    }
    int status = 0;
    int checks = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      CollectingReporter problems;
      auto v = Verify(log, {}, &problems);
      if (!v.has_value()) continue;  // the first slab not there yet
      ++checks;
      for (const auto& e : problems.events) {
        // Only torn tails can be there if the verify raced the writer's last moments (after its
        // lock was gone); damage never.
        CHECK_MESSAGE(e.kind == CorruptionKind::kTornTail, problems.Describe());
      }
    }
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(checks > 0);
    auto v = Verify(log, {}, nullptr);
    REQUIRE(v.has_value());
    CHECK(v->ok());
  }
}

}  // namespace slablog::test
