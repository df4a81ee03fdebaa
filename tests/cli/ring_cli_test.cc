// slablog write --ring from the command line: a flight recorder that keeps its newest records in
// a bounded number of files, a window of which ("the last second") is copied out as a new log
// while the writer goes on, as after an incident on a robot.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../testutil.h"
#include "slablog/writer.h"
#include "process.h"

namespace slablog::test {
namespace {

constexpr int64_t kStep = 1000000;  // record i has time i ms

std::string RingBatch(int from, int count) {
  std::string out;
  for (int i = from; i < from + count; ++i) {
    out += "{\"topic\":\"" + std::string(i % 4 ? "imu" : "gps") + "\",\"i\":" + std::to_string(i) +
           ",\"t\":" + std::to_string(int64_t{i} * kStep) + ",\"pad\":\"" + std::string(static_cast<size_t>(i % 90), 'p') + "\"}\n";
  }
  return out;
}

// The `i` of every exported record, per stream, checked to be increasing and complete from the
// first to the last one; returns the last i over all streams.
int CheckIncreasing(const std::string& ndjson, int* first_seen = nullptr) {
  std::map<std::string, int> last;
  int newest = -1, oldest = INT32_MAX;
  for (const std::string& line : Lines(ndjson)) {
    const auto j = nlohmann::json::parse(line);
    const std::string stream = j["stream"];
    const int i = j["data"]["i"];
    CHECK(j["t"] == int64_t{i} * kStep);
    if (last.count(stream)) CHECK_MESSAGE(i > last[stream], stream, ": ", i, " after ", last[stream]);
    last[stream] = i;
    newest = std::max(newest, i);
    oldest = std::min(oldest, i);
  }
  if (first_seen) *first_seen = oldest;
  return newest;
}

}  // namespace

TEST_CASE("RingCliKeepsTheNewestRecordsAndCopiesOutTheLastSecondWhileTheWriterRuns") {
  TempDir dir;
  PipedSlablog writer({"write", "--slab-size", "64K", "--section-size", "8K", "--ring", "256K",
                       "--stream-field", "topic", "--time-field", "t", "ring.slog"},
                      dir.dir());
  int sent = 0;
  for (; sent < 24000; sent += 1000) writer.Send(RingBatch(sent, 1000));
  // Until the writer has read all of it: the newest record exported is the last one sent.
  REQUIRE(WaitUntil([&] {
    const RunResult r = RunSlablog({"export", "--since", "-1ms", "ring.slog"}, "", dir.dir());
    return r.out.find("\"i\":" + std::to_string(sent - 1) + ",") != std::string::npos;
  }));
  // The incident: the last second, out of a ring still being written, as a new log.
  const RunResult split = RunSlablog({"split", "--since", "-1s", "--by", "size", "1M", "-o", "incident", "ring.slog"}, "",
                                     dir.dir());
  CHECK_MESSAGE(split.exit_code == 0, split.err);
  REQUIRE(Lines(split.out).size() == 1);
  const RunResult piece = RunSlablog({"export", Lines(split.out)[0]}, "", dir.dir());
  REQUIRE(piece.exit_code == 0);
  int first = 0;
  CHECK(CheckIncreasing(piece.out, &first) == sent - 1);
  CHECK(first == sent - 1 - 1000);  // the last second: 1001 records, 1 ms apart
  CHECK(Lines(piece.out).size() == 1001);
  writer.Send(RingBatch(sent, 500));
  sent += 500;
  const int status = writer.Stop(SIGTERM);  // the writer closes the log cleanly
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  // At most four slab files of 64 KiB, the newest records, and a log that verifies.
  CHECK(ListSlabFiles(dir.path("ring.slog")).size() <= 4);
  const RunResult all = RunSlablog({"export", "ring.slog"}, "", dir.dir());
  REQUIRE(all.exit_code == 0);
  int oldest = 0;
  CHECK(CheckIncreasing(all.out, &oldest) == sent - 1);
  CHECK(oldest > 0);
  const RunResult verify = RunSlablog({"verify", "ring.slog"}, "", dir.dir());
  CHECK_MESSAGE(verify.exit_code == 0, verify.err);
  CHECK(verify.out.find("ring:") != std::string::npos);
  const auto info = nlohmann::json::parse(RunSlablog({"info", "--json", "ring.slog"}, "", dir.dir()).out);
  CHECK(info["ring"] == true);
  CHECK(info["ring_slabs_reused"].get<uint64_t>() > 4);
  CHECK(info["last_t"] == int64_t{sent - 1} * kStep);
  // Relative times that cannot be: a bad duration, a log with no records.
  CHECK(RunSlablog({"export", "--since", "-5parsecs", "ring.slog"}, "", dir.dir()).exit_code == 2);
  {
    // Made by the library: `slablog write` leaves no log when it stores no record.
    auto empty = Writer::Open(dir.path("empty.slog"), WriterOptions{});
    REQUIRE(empty);
    REQUIRE(empty.value()->Close().ok());
  }
  const RunResult none = RunSlablog({"export", "--since", "-60s", "empty.slog"}, "", dir.dir());
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("no record to count back from") != std::string::npos);
  // A ring too small for two slabs is refused.
  CHECK(RunSlablog({"write", "--ring", "100K", "--slab-size", "64K", "r2.slog"}, "", dir.dir()).exit_code == 2);
}

}  // namespace slablog::test
