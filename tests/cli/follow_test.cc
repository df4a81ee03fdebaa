// slablog follow against a writer in another process: every record appears once, in order, as
// the writer appends it (across sections, fragments and slabs), and follow ends when the writer
// closes the log, or says so when the writer dies without closing it.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

// A batch of NDJSON records for two streams; every 25th is larger than a section (4 KiB).
std::string Batch(int from, int count) {
  std::string out;
  for (int i = from; i < from + count; ++i) {
    const size_t pad = i % 25 == 0 ? 6000 : static_cast<size_t>(i % 200);
    out += "{\"s\":\"" + std::string(i % 3 ? "a" : "b") + "\",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
           std::string(pad, 'p') + "\"}\n";
  }
  return out;
}

const std::vector<std::string> kWriter = {"write", "--stream-field", "s", "--slab-size", "64K",
                                          "--section-size", "4K", "live.slog"};

void Pause(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

size_t RecordsIn(const std::string& base) {
  ReadResult r = ReadAll(base);
  return r.opened ? r.records.size() : 0;
}

// Waits until the writer has put `n` records in its log (it reads its input as it can).
void WaitForRecords(const std::string& base, size_t n) {
  size_t in = 0;
  const bool done = WaitUntil([&] { return (in = RecordsIn(base)) >= n; });
  REQUIRE_MESSAGE(done, "only ", in, " of ", n, " records reached ", base, " in ",
                  kPatience.count(), " s");
}

// What a command running with its output in `path` has printed so far.
std::vector<std::string> PrintedSoFar(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Lines(std::string(std::istreambuf_iterator<char>(in), {}));
}

}  // namespace

TEST_CASE("FollowFromStartPrintsWhatExportPrintsOnceTheWriterCloses") {
  TempDir dir;
  PipedSlablog writer(kWriter, dir.dir());
  writer.Send(Batch(0, 50));
  WaitForRecords(dir.path("live.slog"), 50);
  auto follow = std::async(std::launch::async, [&] {
    return RunSlablog({"follow", "--from-start", "--interval", "20", "live.slog"}, "", dir.dir());
  });
  // Records arrive in small bursts while follow polls: some land in the section follow is
  // reading, some in new sections and slabs.
  for (int burst = 0; burst < 20; ++burst) {
    writer.Send(Batch(50 + burst * 30, 30));
    Pause(30);
  }
  WaitForRecords(dir.path("live.slog"), 650);  // all read from the pipe before it is told to stop
  const int status = writer.Stop(SIGTERM);  // the writer closes the log cleanly
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(follow.wait_for(kPatience) == std::future_status::ready);
  RunResult f = follow.get();
  CHECK_MESSAGE(f.exit_code == 0, f.err);
  CHECK(f.err.empty());
  // Each stream's records once, in order, with the numbers export gives them. (Across streams
  // follow prints in the order records arrived, export in the order of sections in the log.)
  const std::vector<std::string> printed = Lines(f.out);
  CHECK(printed.size() == 650);
  for (const std::string stream : {"a", "b"}) {
    CAPTURE(stream);
    RunResult want = RunSlablog({"export", "--stream", stream, "live.slog"}, "", dir.dir());
    REQUIRE(want.exit_code == 0);
    std::string got;
    for (const std::string& line : printed) {
      if (line.rfind("{\"stream\":\"" + stream + "\"", 0) == 0) got += line + "\n";
    }
    CHECK(got == want.out);
  }
  // The writer went through several slabs while follow was reading.
  CHECK(std::filesystem::exists(dir.path("live_3.slog")));
}

TEST_CASE("FollowStartsAtTheEndAndReportsAWriterThatDied") {
  TempDir dir;
  PipedSlablog writer(kWriter, dir.dir());
  writer.Send(Batch(0, 100));
  WaitForRecords(dir.path("live.slog"), 100);  // all in before follow starts: none may be printed
  auto follow = std::async(std::launch::async, [&] {
    return RunShell("slablog follow --stream a live.slog > follow.out", dir.dir());
  });
  // One record every 50 ms until follow prints one: its first look at the log is then over,
  // and the records it skipped are those sent before it (how many depends on the machine).
  int next = 100, polls = 0;
  REQUIRE(WaitUntil([&] {
    if (!PrintedSoFar(dir.path("follow.out")).empty()) return true;
    if (++polls % 25 == 0 && next < 399) writer.Send(Batch(next++, 1));
    return false;
  }));
  writer.Send(Batch(next, 400 - next));
  REQUIRE(WaitUntil([&] {
    const auto printed = PrintedSoFar(dir.path("follow.out"));
    return !printed.empty() && printed.back().find("\"i\":398,") != std::string::npos;  // a's last
  }));
  writer.Stop(SIGKILL);
  REQUIRE(follow.wait_for(kPatience) == std::future_status::ready);
  RunResult f = follow.get();
  CHECK(f.exit_code == 1);
  CHECK(f.err.find("not closed cleanly") != std::string::npos);
  CHECK(f.err.find("slablog truncate") != std::string::npos);
  // What it printed is the end of stream a, every record from the first it printed on, and
  // none of the 66 that were in the log before it started.
  RunResult a = RunSlablog({"export", "--stream", "a", "live.slog"}, "", dir.dir());
  const std::vector<std::string> all = Lines(a.out), printed = PrintedSoFar(dir.path("follow.out"));
  MESSAGE("follow printed ", printed.size(), " records; ", next - 100,
          " were sent before its first look ended");
  REQUIRE(all.size() == 266);
  REQUIRE(!printed.empty());
  REQUIRE(printed.size() <= 200);  // i from 100 to 399 with i % 3 != 0
  CHECK(std::equal(printed.begin(), printed.end(), all.end() - static_cast<long>(printed.size())));
}

TEST_CASE("FollowPrintsWhatExportPrintsWithBigRecordsAcrossSlabsAndStreamsMadeMidway") {
  // A poll that comes while a record of 3 MB is written across some 50 slabs of 64 KiB finds its
  // FIRST in a section closed since, slabs before the open one: the next poll must start there,
  // or it never sees the FIRST, drops the rest as orphans and numbers what follows one short
  // (with one stream, no other stream's open section in an older slab holds the polls back).
  // Also big records on alternating streams, and streams named while follow reads (a poll may
  // meet a section of a stream whose catalog entry came after it read the catalog: printed
  // then, it was "#3" and base64).
  struct Variant {
    bool one_stream;
    bool big_on_both;
    bool new_streams;
    std::vector<std::string> globs;
  };
  for (const Variant& v : {Variant{true, false, false, {}}, Variant{false, true, false, {}},
                           Variant{false, false, true, {}}, Variant{false, false, true, {"d", "a"}}}) {
    CAPTURE(v.one_stream);
    CAPTURE(v.big_on_both);
    CAPTURE(v.new_streams);
    TempDir dir;
    std::future<RunResult> follow;  // before the writer: a failed check ends the writer first
    PipedSlablog writer(kWriter, dir.dir());
    auto record = [](const char* stream, int i, size_t pad) {
      return std::string("{\"s\":\"") + stream + "\",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
             std::string(pad, 'p') + "\"}\n";
    };
    int sent = 0;
    for (int i = 0; i < 20; ++i) writer.Send(record(i % 2 || v.one_stream ? "a" : "b", sent++, 100));
    WaitForRecords(dir.path("live.slog"), 20);
    std::vector<std::string> args = {"follow", "--from-start", "--interval", "20"};
    std::vector<std::string> export_args = {"export"};
    for (const std::string& g : v.globs) {
      for (auto* a : {&args, &export_args}) a->insert(a->end(), {"-s", g});
    }
    args.push_back("live.slog");
    export_args.push_back("live.slog");
    follow = std::async(std::launch::async, [&] { return RunSlablog(args, "", dir.dir()); });
    for (int big = 0; big < 6; ++big) {
      writer.Send(record(v.big_on_both && big % 2 ? "b" : "a", sent++, 3'000'000));
      Pause(50);
      for (int i = 0; i < 10; ++i) {
        writer.Send(record(i % 2 || v.one_stream ? "a" : (v.new_streams ? "c" : "b"), sent++, 50));
        if (v.new_streams && big == 2 && i == 0) writer.Send(record("d", sent++, 200000));
        Pause(10);
      }
    }
    WaitForRecords(dir.path("live.slog"), static_cast<size_t>(sent));
    const int status = writer.Stop(SIGTERM);
    REQUIRE(WIFEXITED(status));
    REQUIRE(follow.wait_for(kPatience) == std::future_status::ready);
    RunResult f = follow.get();
    CHECK_MESSAGE(f.exit_code == 0, f.err);
    RunResult want = RunSlablog(export_args, "", dir.dir());
    REQUIRE(want.exit_code == 0);
    const std::vector<std::string> got = Lines(f.out), all = Lines(want.out);
    CHECK(got.size() == all.size());
    for (const std::string stream : {"a", "b", "c", "d"}) {
      CAPTURE(stream);
      auto of = [&](const std::vector<std::string>& lines) {
        std::vector<std::string> out;
        for (const auto& l : lines) {
          if (l.rfind("{\"stream\":\"" + stream + "\"", 0) == 0) out.push_back(l);
        }
        return out;
      };
      CHECK(of(got) == of(all));
    }
  }
}

TEST_CASE("FollowReadsOnlyWhereTheWriterStillWritesNotTheWholeLogEachPoll") {
  // Each poll starts at the oldest slab with a section still open: the log's older slabs are not
  // read again, so a follow of a long recording costs what is being written, not the log's length.
  // Shown by moving the older slabs away while follow runs: a poll that read the log from its
  // start would find slabs missing and report damage.
  TempDir dir;
  std::future<RunResult> follow;  // before the writer: a failed check ends the writer first
  PipedSlablog writer(kWriter, dir.dir());
  writer.Send(Batch(0, 2000));
  WaitForRecords(dir.path("live.slog"), 2000);
  follow = std::async(std::launch::async, [&] {
    return RunShell("slablog follow --interval 20 live.slog > follow.out", dir.dir());
  });
  int next = 2000, polls = 0;
  REQUIRE(WaitUntil([&] {
    if (!PrintedSoFar(dir.path("follow.out")).empty()) return true;
    if (++polls % 25 == 0) writer.Send(Batch(next++, 1));
    return false;
  }));
  // Every slab but the last two goes, while the writer writes on.
  std::vector<std::string> slabs;
  for (uint32_t i = 0; std::filesystem::exists(dir.path(SlabPath("live.slog", i))); ++i) {
    slabs.push_back(SlabPath("live.slog", i));
  }
  REQUIRE(slabs.size() >= 8);
  std::filesystem::create_directory(dir.path("old"));
  for (size_t i = 0; i + 2 < slabs.size(); ++i) {
    std::filesystem::rename(dir.path(slabs[i]), dir.path("old/" + slabs[i]));
  }
  for (int burst = 0; burst < 10; ++burst) {
    writer.Send(Batch(next, 30));
    next += 30;
    Pause(20);
  }
  const int last_a = (next - 1) % 3 != 0 ? next - 1 : next - 2;
  REQUIRE(WaitUntil([&] {
    const auto printed = PrintedSoFar(dir.path("follow.out"));
    return !printed.empty() && printed.back().find("\"i\":" + std::to_string(last_a) + ",") != std::string::npos;
  }));
  for (size_t i = 0; i + 2 < slabs.size(); ++i) {
    std::filesystem::rename(dir.path("old/" + slabs[i]), dir.path(slabs[i]));
  }
  const int status = writer.Stop(SIGTERM);
  REQUIRE(WIFEXITED(status));
  REQUIRE(follow.wait_for(kPatience) == std::future_status::ready);
  RunResult f = follow.get();
  CHECK_MESSAGE(f.exit_code == 0, f.err);
  CHECK(f.err.empty());
  // What it printed is the end of each stream as export gives it: the same records with the
  // same numbers in their streams.
  const std::vector<std::string> printed = PrintedSoFar(dir.path("follow.out"));
  REQUIRE(printed.size() > 300);
  for (const std::string stream : {"a", "b"}) {
    CAPTURE(stream);
    const std::vector<std::string> all = Lines(RunSlablog({"export", "--stream", stream, "live.slog"}, "", dir.dir()).out);
    std::vector<std::string> got;
    for (const std::string& line : printed) {
      if (line.rfind("{\"stream\":\"" + stream + "\"", 0) == 0) got.push_back(line);
    }
    REQUIRE(!got.empty());
    REQUIRE(got.size() <= all.size());
    CHECK(std::equal(got.begin(), got.end(), all.end() - static_cast<long>(got.size())));
  }
}

}  // namespace slablog::test
