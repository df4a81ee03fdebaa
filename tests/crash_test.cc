// Crash consistency: writers killed with SIGKILL at random instants, then truncate; and truncate
// itself stopped after every possible number of writes, then run again.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <new>
#include <set>
#include <string>
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

// Records of one stream whose slab counts Progress keeps (more than a trial appends).
constexpr uint64_t kTrackedRecords = uint64_t{1} << 15;

// Records each stream of the child has appended (Append returned), in memory shared with the
// parent: the parent kills the child once enough are in, and all of those must survive the kill.
struct Progress {
  std::atomic<uint64_t> appended[kStreams];
  std::atomic<uint64_t> started[kStreams];  // records given to Append (returned or not)
  // Writer::slab_count() just before record i of stream s was given to Append: in a ring, what
  // tells which slabs may hold the records (RecordsTheRingKeeps).
  uint32_t slabs_before[kStreams][kTrackedRecords];
  // And just after its Append returned: no slab newer than that one's newest holds any of it.
  uint32_t slabs_after[kStreams][kTrackedRecords];
  uint64_t Total() const {
    uint64_t n = 0;
    for (const auto& a : appended) n += a.load();
    return n;
  }
};

// The child: one thread per stream, appending until killed.
[[noreturn]] void WriteUntilKilled(const std::string& base, uint64_t seed,
                                   const std::string& recycle, uint64_t section_size,
                                   Progress* progress, uint32_t ring) {
  WriterOptions o = SmallOptions();
  o.recycle = recycle;
  o.ring_slabs = ring;
  o.section_size = section_size;
  auto w = Writer::Open(base, o);
  if (!w) _exit(3);
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      auto h = w.value()->OpenStream({StreamName(s), Encoding::kBinary, 0});
      if (!h) _exit(4);
      for (uint64_t i = 0;; ++i) {
        const std::string payload = Payload(seed, s, i);
        if (i < kTrackedRecords) progress->slabs_before[s][i] = w.value()->slab_count();
        progress->started[s].store(i + 1);
        if (!w.value()->Append(h.value(), payload, static_cast<int64_t>(i)).ok()) _exit(5);
        if (i < kTrackedRecords) progress->slabs_after[s][i] = w.value()->slab_count();
        progress->appended[s].store(i + 1);
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

// A number of records to kill a writer after: mostly few (a crash soon after the log was made),
// up to a few thousand (dozens of slabs).
uint64_t KillPoint(std::mt19937_64& rng) { return 1 + rng() % (uint64_t{1} << (rng() % 13)); }

// Where a stream of a killed writer stood.
struct StreamAtKill {
  uint64_t appended = 0;   // records whose Append had returned
  bool in_flight = false;  // the next one's Append had begun
  // Progress::slabs_before and slabs_after of the records appended (of the first
  // kTrackedRecords of them).
  std::vector<uint32_t> slabs_before, slabs_after;
};

// The log a writer killed once it has appended at least `kill_after` records (over all streams)
// leaves; with `recycle`, written into the slab files of that retired log. `appended` gets how
// many records of each stream the writer had appended when it died, `at_kill` more of that.
std::string KilledLog(const TempDir& dir, uint64_t seed, uint64_t kill_after,
                      const std::string& recycle = "",
                      uint64_t section_size = SmallOptions().section_size,
                      std::array<uint64_t, kStreams>* appended = nullptr, uint32_t ring = 0,
                      std::array<StreamAtKill, kStreams>* at_kill = nullptr) {
  const std::string base = dir.path("crash" + std::to_string(seed) + ".slog");
  void* shared =
      mmap(nullptr, sizeof(Progress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shared != MAP_FAILED);
  auto* progress = new (shared) Progress{};
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) WriteUntilKilled(base, seed, recycle, section_size, progress, ring);
  int status = 0;
  bool exited = false;
  // Polled often: a writer appends a record every few microseconds, and small kill points are
  // where the crashes soon after the log was made come from.
  const bool reached = WaitUntil(
      [&] {
        exited = waitpid(pid, &status, WNOHANG) == pid;
        return exited || progress->Total() >= kill_after;
      },
      kPatience, std::chrono::microseconds(100));
  kill(pid, SIGKILL);
  if (!exited) waitpid(pid, &status, 0);
  const uint64_t total = progress->Total();
  if (appended != nullptr) {
    for (size_t s = 0; s < kStreams; ++s) (*appended)[s] = progress->appended[s].load();
  }
  if (at_kill != nullptr) {
    for (size_t s = 0; s < kStreams; ++s) {
      StreamAtKill& k = (*at_kill)[s];
      k.appended = progress->appended[s].load();
      k.in_flight = progress->started[s].load() > k.appended;
      const uint32_t* tracked = progress->slabs_before[s];
      k.slabs_before.assign(tracked, tracked + std::min(k.appended, kTrackedRecords));
      const uint32_t* after = progress->slabs_after[s];
      k.slabs_after.assign(after, after + std::min(k.appended, kTrackedRecords));
    }
  }
  munmap(shared, sizeof(Progress));
  REQUIRE_MESSAGE(!exited, "the writer of ", base, " ended by itself (status ", status, ") after ",
                  total, " records");
  REQUIRE_MESSAGE(reached, "the writer of ", base, " appended only ", total, " of ", kill_after,
                  " records in ", kPatience.count(), " s");
  REQUIRE(WIFSIGNALED(status));  // it was still writing when killed
  return base;
}

// Every record whose Append had returned when the writer was killed is in the log.
void CheckNothingLost(const ReadResult& r, const std::array<uint64_t, kStreams>& appended) {
  for (size_t s = 0; s < kStreams; ++s) {
    const size_t in_log = r.OfStream(StreamName(static_cast<int>(s))).size();
    CHECK_MESSAGE(in_log >= appended[s], "stream ", s, ": ", appended[s],
                  " records appended before the kill, ", in_log, " in the log");
  }
}

}  // namespace

TEST_CASE("KilledWriterThenTruncate") {
  TempDir dir;
  const uint64_t base_seed = TestSeed();
  std::mt19937_64 rng(base_seed);
  uint64_t total_records = 0;
  for (uint64_t trial = 0; trial < 24 * TestScale(); ++trial) {
    // Every fourth writer gets far enough to fill dozens of slabs.
    const bool far = trial % 4 == 0;
    const uint64_t seed = base_seed + trial;
    CAPTURE(seed);
    std::array<uint64_t, kStreams> appended{};
    const std::string base = KilledLog(dir, seed, far ? 1000 + rng() % 2000 : KillPoint(rng), "",
                                       SmallOptions().section_size, &appended);
    CheckNothingLost(ReadAll(base), appended);
    auto truncated = Truncate(base, {}, nullptr);
    REQUIRE_MESSAGE(truncated.has_value(), (truncated ? "" : Describe(truncated.error())));
    CollectingReporter problems;
    auto v = Verify(base, {}, &problems);
    REQUIRE(v.has_value());
    CHECK_MESSAGE(v->ok(), problems.Describe());
    ReadResult r = ReadAll(base);
    CheckPrefixes(r, seed);
    CheckNothingLost(r, appended);
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
  for (uint64_t trial = 0; trial < 8 * TestScale(); ++trial) {
    const uint64_t seed = base_seed + trial;
    CAPTURE(seed);
    const std::string retired = KilledLog(dir, seed, 1500 + rng() % 1000);
    const size_t retired_slabs = ListSlabFiles(retired).size();
    // Every other trial with sections large enough for frames that StreamingCopy writes.
    const uint64_t section_size = trial % 2 == 0 ? SmallOptions().section_size : 32 << 10;
    std::array<uint64_t, kStreams> appended{};
    const std::string base =
        KilledLog(dir, seed + 10000, KillPoint(rng), retired, section_size, &appended);
    taken += retired_slabs - ListSlabFiles(retired).size();
    ReadResult r = ReadAll(base);
    REQUIRE_MESSAGE(r.opened, r.open_error);
    CheckPrefixes(r, seed + 10000);
    CheckNothingLost(r, appended);
    // What a kill leaves at a stream's end, as in new files: a torn frame, a record whose next
    // fragment never came. Truncate below refuses anything else.
    for (const Corruption& c : r.reporter.events) CHECK_MESSAGE(c.kind == CorruptionKind::kTornTail, r.reporter.Describe());
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
  // repairs, losing nothing the full repair keeps. Every number of writes in long mode, a sample
  // of them (the first and the last among them) otherwise.
  TempDir dir, work;
  const uint64_t seed = TestSeed() + 1000;
  CAPTURE(seed);
  const std::string crashed = KilledLog(dir, seed, 1500);
  const std::string reference = SnapshotLog(crashed, work.path(""));
  auto full = Truncate(reference, {}, nullptr);
  REQUIRE(full.has_value());
  REQUIRE(full->changed);
  const ReadResult want = ReadAll(reference);
  // The writes the full repair makes: the fewest it may make and still finish.
  const auto finishes = [&](uint64_t stop) {
    TempDir attempt;
    TruncateOptions partial;
    partial.stop_after_writes = stop;
    return Truncate(SnapshotLog(crashed, attempt.dir()), partial, nullptr).has_value();
  };
  uint64_t fails = 0, writes = 1;
  while (!finishes(writes)) {
    fails = writes;
    writes *= 2;
    REQUIRE(writes < 100000);
  }
  while (writes - fails > 1) {
    const uint64_t mid = fails + (writes - fails) / 2;
    (finishes(mid) ? writes : fails) = mid;
  }
  const std::vector<size_t> stops = SweepPositions(writes, 40, seed);
  MESSAGE("the repair makes ", writes, " writes; stopped after ", stops.size(),
          " different numbers of them");
  for (const size_t index : stops) {
    const uint64_t stop = index + 1;
    CAPTURE(stop);
    TempDir attempt;
    const std::string copy = SnapshotLog(crashed, attempt.dir());
    TruncateOptions partial;
    partial.stop_after_writes = stop;
    auto first = Truncate(copy, partial, nullptr);
    CHECK(first.has_value() == (stop == writes));
    auto second = Truncate(copy, {}, nullptr);
    REQUIRE_MESSAGE(second.has_value(), (second ? "" : Describe(second.error())));
    CollectingReporter problems;
    auto v = Verify(copy, {}, &problems);
    REQUIRE(v.has_value());
    CHECK_MESSAGE(v->ok(), problems.Describe());
    const ReadResult got = ReadAll(copy);
    CHECK(got.records == want.records);
  }
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("VerifyWhileAWriterWritesAndCloses") {
  // Frames completed while verify runs are no false alarm, and the writer trimming its last slab
  // at close never brings a reader down.
  TempDir dir;
  const std::string base = dir.path("live.slog");
  for (uint64_t round = 0; round < 6 * TestScale(); ++round) {
    const std::string log = dir.path("live" + std::to_string(round) + ".slog");
    // The checks made so far, shared with the writer: it writes until a few have run while it
    // wrote (on a loaded machine the first may take long), then for a time that varies.
    void* shared = mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(shared != MAP_FAILED);
    auto* checks_seen = new (shared) std::atomic<int>(0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto w = Writer::Open(log, SmallOptions());
      if (!w) _exit(3);
      auto h = w.value()->OpenStream({"s", Encoding::kBinary, 0});
      const auto start = std::chrono::steady_clock::now();
      const auto enough = [&] {
        const auto elapsed = std::chrono::steady_clock::now() - start;
        return elapsed > kPatience ||
               (checks_seen->load() >= 3 && elapsed > std::chrono::milliseconds(150 + 40 * round));
      };
      for (uint64_t i = 0; !enough(); ++i) {
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
      checks_seen->store(++checks);
      for (const auto& e : problems.events) {
        // Only torn tails can be there if the verify raced the writer's last moments (after its
        // lock was gone); damage never.
        CHECK_MESSAGE(e.kind == CorruptionKind::kTornTail, problems.Describe());
      }
    }
    munmap(shared, sizeof(std::atomic<int>));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(checks >= 3);
    auto v = Verify(log, {}, nullptr);
    REQUIRE(v.has_value());
    CHECK(v->ok());
  }
}

}  // namespace slablog::test

namespace slablog::test {
namespace {

// The indexes of the slabs still in the log (a slab the ring was making from an older one's
// file, named NAME.new meanwhile, took that one away; a kept slab may stand before a gap).
std::set<uint32_t> SlabsThere(const std::string& base) {
  std::set<uint32_t> there;
  for (const auto& [index, path] : ListSlabFiles(base)) there.insert(index);
  REQUIRE(!there.empty());
  return there;
}

std::string Listed(const std::set<uint32_t>& indexes) {
  std::string out;
  for (const uint32_t i : indexes) out += (out.empty() ? "" : " ") + std::to_string(i);
  return out;
}

// Which of a stream's appended records a killed ring writer's log must hold, by the ring's rules
// (man slablog.5, Rings): the ring reuses a slab only as it begins another, never one an open
// section holds; it hands out every section in its newest slab; and a record written in
// fragments begins in a new section there, none of whose slabs is reused before the record is
// whole. So a record lies in the slabs from the newest one of when the Append that opened its
// (first) section began, to the newest one of when its own Append returned: if all of those are
// in the log (a slab kept before a gap, too), the record must be read. A section
// holds whole frames of the records before it back to the one whose Append may have opened it,
// as many as fit; `section_size` bounds it. And the newest record, whole in one frame, is in
// its stream's open section unless the next Append, begun, closed it.
std::vector<bool> RecordsTheRingKeeps(uint64_t seed, int stream, const StreamAtKill& k,
                                      const std::set<uint32_t>& there, uint64_t section_size) {
  std::vector<bool> keeps(k.appended, false);
  if (k.appended == 0) return keeps;
  const uint64_t room = section_size - kSectionHeaderSize;
  // Each record's frame, or 0 for one written in fragments.
  std::vector<uint64_t> frame(k.appended);
  for (uint64_t i = 0; i < k.appended; ++i) {
    const uint64_t bytes = kFrameHeaderSize + Payload(seed, stream, i).size();
    frame[i] = bytes <= room ? bytes : 0;
  }
  keeps.back() = !k.in_flight && frame.back() != 0;
  for (uint64_t i = 0; i < k.appended; ++i) {
    // The earliest record whose Append may have opened the section record i begins in.
    uint64_t opener = i;
    for (uint64_t bytes = frame[i]; frame[opener] != 0 && opener > 0 && bytes <= room;) {
      --opener;
      bytes += frame[opener];
    }
    if (i >= k.slabs_after.size()) continue;  // not tracked (nor, then, is `opener`)
    bool all_there = true;
    for (uint32_t slab = k.slabs_before[opener] - 1; all_there && slab < k.slabs_after[i]; ++slab) {
      all_there = there.count(slab) != 0;
    }
    keeps[i] = keeps[i] || all_there;
  }
  return keeps;
}

}  // namespace

TEST_CASE("KilledRingWriterMidWrap") {
  // Four threads append into a ring of six 64 KiB slabs (streams + 2: a slab is always free to
  // reuse), wrapping every few hundred records,
  // and the process is killed at a random instant: often while a slab is being reused. The log
  // must hold, for every stream, records in order and intact, among them every one the ring's
  // rules kept (RecordsTheRingKeeps), and nothing reported but a frame torn at a stream's end.
  constexpr uint32_t kRingSlabs = kStreams + 2;
  const uint64_t section_size = SmallOptions().section_size;
  TempDir dir;
  const uint64_t base_seed = TestSeed() + 900;
  std::mt19937_64 rng(base_seed);
  uint64_t wraps = 0, records = 0, newest_checked = 0, kept_checked = 0;
  for (uint64_t trial = 0; trial < 12 * TestScale(); ++trial) {
    const uint64_t seed = base_seed + trial;
    CAPTURE(seed);
    std::array<StreamAtKill, kStreams> at_kill{};
    const std::string base =
        KilledLog(dir, seed, 500 + rng() % 6000, "", section_size, nullptr, kRingSlabs, &at_kill);
    CHECK(ListSlabFiles(base).size() <= kRingSlabs);
    // Judged on the files as the kill left them (truncate below changes no slab's name).
    const std::set<uint32_t> there = SlabsThere(base);
    std::array<std::vector<bool>, kStreams> keeps;
    for (int s = 0; s < kStreams; ++s) {
      const size_t si = static_cast<size_t>(s);
      keeps[si] = RecordsTheRingKeeps(seed, s, at_kill[si], there, section_size);
      if (!keeps[si].empty() && keeps[si].back()) ++newest_checked;
      kept_checked += static_cast<uint64_t>(std::count(keeps[si].begin(), keeps[si].end(), true));
    }
    ReadResult r = ReadAll(base);
    REQUIRE_MESSAGE(r.opened, r.open_error);
    for (const Corruption& c : r.reporter.events) CHECK_MESSAGE(c.kind == CorruptionKind::kTornTail, r.reporter.Describe());
    wraps += r.summary.ring_slabs_gone;
    records += r.records.size();
    auto check = [&](const ReadResult& got) {
      for (int s = 0; s < kStreams; ++s) {
        const std::vector<bool>& keep = keeps[static_cast<size_t>(s)];
        std::vector<bool> read(keep.size(), false);
        uint64_t prev = 0;
        const auto recs = got.OfStream(StreamName(s));
        for (size_t i = 0; i < recs.size(); ++i) {
          const std::string& p = recs[i].payload;
          const size_t colon = p.find(':');
          const uint64_t k = std::stoull(p.substr(colon + 1, p.find(':', colon + 1) - colon - 1));
          if (i > 0 && k <= prev) FAIL("stream ", s, " record ", k, " after ", prev);
          if (p != Payload(seed, s, k)) FAIL("stream ", s, " record ", k, " differs");
          if (k < read.size()) read[k] = true;
          prev = k;
        }
        for (size_t k = 0; k < keep.size(); ++k) {
          if (keep[k] && !read[k]) {
            FAIL_CHECK("stream ", s, ": record ", k, " of ", keep.size(), " appended, which the ring kept, is not read (",
                       recs.size(), " read; slabs there: ", Listed(there), ")");
            break;
          }
        }
      }
    };
    check(r);
    REQUIRE(Truncate(base, {}, nullptr).has_value());
    CollectingReporter problems;
    auto v = Verify(base, {}, &problems);
    REQUIRE(v.has_value());
    CHECK_MESSAGE(v->ok(), problems.Describe());
    check(ReadAll(base));
  }
  MESSAGE("slabs reused over all trials: ", wraps, "; records read: ", records,
          "; records the ring had to keep: ", kept_checked, ", the newest of ", newest_checked, " streams among them");
  CHECK(wraps > 12 * TestScale());
  CHECK(newest_checked > 12 * TestScale() * 2);
}

}  // namespace slablog::test
