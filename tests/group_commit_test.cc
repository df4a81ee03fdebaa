// Group commit: Sync() from many threads at once is served by one flush of each file for every
// call waiting when it starts, and the flush runs without the writer's lock, so appends, section
// and slab changes and OpenStream go on while the disk works. A test hook holds an fdatasync
// (the disk being slow) to make the waiting happen.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "io_faults.h"
#include "testutil.h"

namespace slablog::test {
namespace {

using io_faults::Op;

std::atomic<int> g_fdatasyncs{0};
std::atomic<bool> g_hold{false};      // the next fdatasync waits for g_release
std::atomic<bool> g_holding{false};   // an fdatasync is being held
std::atomic<bool> g_release{false};
std::atomic<bool> g_fail_held{false};  // the held fdatasync then fails with EIO

int SlowDisk(Op op, const char*) {
  if (op != Op::kFdatasync) return 0;
  ++g_fdatasyncs;
  if (g_hold.exchange(false)) {
    g_holding = true;
    while (!g_release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    g_holding = false;
    if (g_fail_held.load()) return EIO;
  }
  return 0;
}

class SlowDiskHook {
 public:
  SlowDiskHook() {
    g_fdatasyncs = 0;
    g_hold = g_holding = g_release = g_fail_held = false;
    io_faults::SetHook(&SlowDisk);
  }
  ~SlowDiskHook() {
    g_release = true;
    io_faults::SetHook(nullptr);
  }
  // Holds the next fdatasync until Release(); returns once one is held.
  static void HoldNext() { g_hold = true; }
  static void WaitHeld() {
    while (!g_holding.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  static void Release() { g_release = true; }
};

}  // namespace

TEST_CASE("ConcurrentSyncsAreServedByOneFlush") {
  TempDir dir;
  const std::string base = dir.path("group.slog");
  WriterOptions o;  // one slab: a flush is one fdatasync
  o.sync = SyncPolicy::kManual;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  Writer& writer = *w.value();
  SlowDiskHook hook;
  REQUIRE(writer.Sync().ok());  // the directory's sync, out of the way
  constexpr int kThreads = 8;
  std::vector<StreamHandle> handles;
  for (int t = 0; t < kThreads; ++t) {
    auto h = writer.OpenStream({"t" + std::to_string(t), Encoding::kText, 0});
    REQUIRE(h);
    handles.push_back(h.value());
  }
  g_fdatasyncs = 0;
  SlowDiskHook::HoldNext();
  std::thread first([&] { CHECK(writer.Sync().ok()); });
  SlowDiskHook::WaitHeld();
  // While the first flush waits for the disk, eight threads append and sync: all of them wait
  // for the next flush, and one serves them all.
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++started;
      CHECK(writer.Append(handles[static_cast<size_t>(t)], "record of " + std::to_string(t), t).ok());
      CHECK(writer.Sync().ok());
    });
  }
  while (started.load() < kThreads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // into Sync() and waiting
  SlowDiskHook::Release();
  first.join();
  for (auto& t : threads) t.join();
  // The held flush and one more (a thread very late into Sync() could make a third); each call
  // paying its own flush would make nine.
  CHECK(g_fdatasyncs.load() >= 2);
  CHECK(g_fdatasyncs.load() <= 3);
  REQUIRE(writer.Close().ok());
  ReadResult r = ReadAll(base);
  CHECK(r.summary.clean);
  for (int t = 0; t < kThreads; ++t) CHECK(r.OfStream("t" + std::to_string(t)).size() == 1);
}

TEST_CASE("AppendsSectionAndSlabChangesAndOpenStreamGoOnWhileASyncWaitsForTheDisk") {
  TempDir dir;
  const std::string base = dir.path("busy.slog");
  WriterOptions o = SmallOptions();  // 64 KiB slabs of 8 KiB sections: many of each below
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  Writer& writer = *w.value();
  auto h = writer.OpenStream({"before", Encoding::kBinary, 0});
  REQUIRE(h);
  REQUIRE(writer.Append(h.value(), std::string("synced"), 1).ok());
  SlowDiskHook hook;
  SlowDiskHook::HoldNext();
  std::thread syncing([&] { CHECK(writer.Sync().ok()); });
  SlowDiskHook::WaitHeld();
  const uint32_t slabs_before = writer.slab_count();
  auto work = std::async(std::launch::async, [&] {
    auto opened = writer.OpenStream({"during", Encoding::kBinary, 0});
    if (!opened) return false;
    const std::string payload(1000, 'd');
    for (int i = 0; i < 500; ++i) {
      if (!writer.Append(opened.value(), payload, i).ok()) return false;
    }
    return true;
  });
  const bool finished = work.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  CHECK_MESSAGE(finished, "OpenStream and appends waited for the held sync");
  const uint32_t slabs_during = writer.slab_count();
  SlowDiskHook::Release();  // (else the work above could never finish)
  syncing.join();
  CHECK(work.get());
  CHECK(slabs_during >= slabs_before + 5);
  REQUIRE(writer.Sync().ok());
  REQUIRE(writer.Close().ok());
  ReadResult r = ReadAll(base);
  CHECK(r.summary.clean);
  CHECK(r.OfStream("before").size() == 1);
  CHECK(r.OfStream("during").size() == 500);
}

}  // namespace slablog::test

namespace slablog::test {

TEST_CASE("ASyncDuringCloseReturnsWhatCloseGot") {
  // Close() syncs under kOnClose; a Sync() called while it does must wait for that sync's
  // outcome. It returned OK at once, before the disk had anything, and then Close() failed.
  TempDir dir;
  const std::string base = dir.path("closing.slog");
  WriterOptions o;
  o.sync = SyncPolicy::kOnClose;
  auto w = Writer::Open(base, o);
  REQUIRE(w);
  Writer& writer = *w.value();
  auto h = writer.OpenStream({"s", Encoding::kBinary, 0});
  REQUIRE(h);
  REQUIRE(writer.Append(h.value(), std::string("record"), 1).ok());
  SlowDiskHook hook;
  g_fail_held = true;
  SlowDiskHook::HoldNext();
  Status closed;
  std::thread closing([&] { closed = writer.Close(); });
  SlowDiskHook::WaitHeld();  // Close() is in its sync
  auto synced = std::async(std::launch::async, [&] { return writer.Sync(); });
  CHECK(synced.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  SlowDiskHook::Release();  // the sync fails
  closing.join();
  REQUIRE_FALSE(closed.ok());
  const Status s = synced.get();
  CHECK_FALSE(s.ok());
  if (!s.ok() && !closed.ok()) CHECK(Describe(s.error()) == Describe(closed.error()));
}

}  // namespace slablog::test
