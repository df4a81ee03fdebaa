// slablog split and merge: every piece is a log that verifies, split then merge gives back every
// stream record for record, merge orders by timestamp, and neither ever replaces or touches a file
// it was not asked to.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kStreams = {"imu", "cam/left", "log"};

// NDJSON for three interleaved streams, 1 ms apart: small records, and now and then one larger
// than a section (8 KiB) so that records fragment across sections and slabs.
std::string RecordingInput(int records, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string input;
  for (int i = 0; i < records; ++i) {
    const size_t pad = rng() % 16 == 0 ? 9000 + rng() % 20000 : rng() % 400;
    input += "{\"s\":\"" + kStreams[rng() % kStreams.size()] + "\",\"t\":" +
             std::to_string(1764000000000000000 + int64_t{i} * 1'000'000) + ",\"pad\":\"" +
             std::string(pad, static_cast<char>('a' + i % 26)) + "\"}\n";
  }
  return input;
}

void WriteRecording(const TempDir& dir, const std::string& log, int records, uint64_t seed) {
  RunResult w = RunSlablog({"write", "--stream-field", "s", "--time-field", "t", "--slab-size", "64K",
                            "--section-size", "8K", log},
                           RecordingInput(records, seed), dir.dir());
  REQUIRE_MESSAGE(w.exit_code == 0, w.err);
}

std::string ExportStream(const TempDir& dir, const std::string& log, const std::string& stream) {
  RunResult r = RunSlablog({"export", "--stream", stream, log}, "", dir.dir());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out;
}

// Every file in the directory with its bytes, to show that nothing changed.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[e.path().string()] = ReadFile(e.path().string());
  }
  return files;
}

}  // namespace

TEST_CASE("SplitThenMergeGivesBackEveryStream") {
  TempDir dir;
  WriteRecording(dir, "run.slog", 1500, TestSeed());
  size_t input_slabs = 0;
  while (fs::exists(SlabPath(dir.path("run.slog"), static_cast<uint32_t>(input_slabs)))) ++input_slabs;
  REQUIRE(input_slabs > 5);
  struct Mode {
    std::vector<std::string> by;
    size_t min_pieces;
  };
  std::vector<Mode> modes = {{{"stream"}, kStreams.size()},
                             {{"slab"}, input_slabs},
                             {{"size", "128K"}, 4},
                             {{"time", "200ms"}, 7}};
  for (const Mode& mode : modes) {
    CAPTURE(mode.by[0]);
    const std::string out = "pieces-" + mode.by[0];
    std::vector<std::string> args = {"split", "run.slog", "-o", out, "--by"};
    args.insert(args.end(), mode.by.begin(), mode.by.end());
    RunResult split = RunSlablog(args, "", dir.dir());
    REQUIRE_MESSAGE(split.exit_code == 0, split.err);
    const std::vector<std::string> pieces = Lines(split.out);
    CHECK(pieces.size() >= mode.min_pieces);
    if (mode.by[0] == "slab") CHECK(pieces.size() == input_slabs);
    for (const std::string& piece : pieces) {
      CAPTURE(piece);
      CHECK(piece.rfind(out + "/run.", 0) == 0);
      RunResult v = RunSlablog({"verify", piece}, "", dir.dir());
      CHECK_MESSAGE(v.exit_code == 0, v.out, v.err);
      if (mode.by[0] == "size") {
        // One file each, never larger than the size asked for.
        CHECK(fs::file_size(dir.path(SlabPath(piece, 0))) <= 128 * 1024);
        CHECK_FALSE(fs::exists(dir.path(SlabPath(piece, 1))));
      }
      if (mode.by[0] == "time") {
        std::set<int64_t> times;
        for (const auto& line : Lines(RunSlablog({"export", piece}, "", dir.dir()).out)) {
          const size_t at = line.find("\"t\":") + 4;
          times.insert(std::stoll(line.substr(at)));
        }
        REQUIRE_FALSE(times.empty());
        CHECK(*times.rbegin() - *times.begin() < 200'000'000);
        CHECK(*times.begin() / 200'000'000 == *times.rbegin() / 200'000'000);  // aligned windows
      }
    }
    std::vector<std::string> merge = {"merge", "merged-" + mode.by[0] + ".slog"};
    merge.insert(merge.end(), pieces.begin(), pieces.end());
    RunResult m = RunSlablog(merge, "", dir.dir());
    REQUIRE_MESSAGE(m.exit_code == 0, m.err);
    CHECK(m.out.find("1500 records of 3 streams") != std::string::npos);
    for (const std::string& stream : kStreams) {
      CAPTURE(stream);
      const std::string want = ExportStream(dir, "run.slog", stream);
      CHECK(Lines(want).size() > 300);
      CHECK(ExportStream(dir, "merged-" + mode.by[0] + ".slog", stream) == want);
    }
  }
  // Nothing half-written is left behind.
  for (const auto& [path, bytes] : Snapshot(dir.dir())) CHECK(path.find(".partial-") == std::string::npos);
}

TEST_CASE("SplitAndMergeNeverReplaceOrTouchWhatTheyWereNotAskedTo") {
  TempDir dir;
  WriteRecording(dir, "run.slog", 300, TestSeed());
  REQUIRE(RunSlablog({"split", "run.slog", "-o", "p"}, "", dir.dir()).exit_code == 0);
  const auto before = Snapshot(dir.dir());

  RunResult again = RunSlablog({"split", "run.slog", "-o", "p"}, "", dir.dir());
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("already exists (use --force") != std::string::npos);
  CHECK(again.out.empty());
  RunResult merge_over = RunSlablog({"merge", "p/run.imu.slog", "run.slog"}, "", dir.dir());
  CHECK(merge_over.exit_code == 2);
  RunResult merge_into_input = RunSlablog({"merge", "--force", "run.slog", "p/run.imu.slog", "run.slog"}, "", dir.dir());
  CHECK(merge_into_input.exit_code == 2);
  CHECK(merge_into_input.err.find("one of the logs being read") != std::string::npos);
  RunResult twice = RunSlablog({"merge", "m.slog", "run.slog", "run_1.slog"}, "", dir.dir());
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("same log") != std::string::npos);
  CHECK(Snapshot(dir.dir()) == before);

  // With --force the pieces are written again (new log ids), and an older piece's extra slabs go.
  // So do the hidden files of a split that was killed (its process is gone), but not those of one
  // still running (this test's own process stands in for it).
  WriteFile(dir.path(SlabPath("p/run.imu.slog", 7)), "stale");
  const std::string dead_pid = Lines(RunShell("echo $$").out).at(0);
  const std::string dead = dir.path("p/.run.imu.partial-" + dead_pid + "_0.slog");
  const std::string running = dir.path("p/.run.imu.partial-" + std::to_string(getpid()) + "_0.slog");
  WriteFile(dead, "left by a killed split");
  WriteFile(dead + ".new", "left by a killed split");
  WriteFile(running, "being written");
  RunResult forced = RunSlablog({"split", "--force", "run.slog", "-o", "p"}, "", dir.dir());
  CHECK(forced.exit_code == 0);
  CHECK_FALSE(fs::exists(dir.path(SlabPath("p/run.imu.slog", 7))));
  CHECK_FALSE(fs::exists(dead));
  CHECK_FALSE(fs::exists(dead + ".new"));
  CHECK(fs::exists(running));
  CHECK(RunSlablog({"verify", "p/run.imu.slog"}, "", dir.dir()).exit_code == 0);
  CHECK(ReadFile(dir.path("run_0.slog")) == before.at(dir.path("run_0.slog")));
  {
    // Not even --force replaces a log a writer is appending to: its records would go with it.
    WriterOptions o;
    o.append = true;
    o.slab_size = 64 << 10;
    o.section_size = 8 << 10;
    auto w = Writer::Open(dir.path("p/run.imu.slog"), o);
    REQUIRE(w);
    auto h = w.value()->OpenStream({"appended", Encoding::kText, 0});
    REQUIRE(h);
    REQUIRE(w.value()->Append(h.value(), std::string("kept"), 1).ok());
    RunResult over_writer = RunSlablog({"split", "--force", "run.slog", "-o", "p"}, "", dir.dir());
    CHECK(over_writer.exit_code == 2);
    CHECK(over_writer.err.find("a writer (or a truncate) has this log open") != std::string::npos);
    RunResult merge_over_writer =
        RunSlablog({"merge", "--force", "p/run.imu.slog", "run.slog"}, "", dir.dir());
    CHECK(merge_over_writer.exit_code == 2);
    REQUIRE(w.value()->Append(h.value(), std::string("kept too"), 2).ok());
    REQUIRE(w.value()->Close().ok());
    ReadResult after = ReadAll(dir.path("p/run.imu.slog"));
    CHECK(after.summary.clean);
    CHECK(after.OfStream("appended").size() == 2);
  }
  // The log may come right after --by and its value.
  RunResult slab_first = RunSlablog({"split", "--by", "slab", "run.slog", "-o", "q1"}, "", dir.dir());
  CHECK(slab_first.exit_code == 0);
  CHECK(slab_first.out.rfind("q1/run.slab0000.slog\n", 0) == 0);
  RunResult size_first = RunSlablog({"split", "--by", "size", "100K", "run.slog", "-o", "q2"}, "", dir.dir());
  CHECK(size_first.exit_code == 0);
  CHECK(size_first.out.rfind("q2/run.part0000.slog\n", 0) == 0);
  CHECK(RunSlablog({"split", "-o", "q3"}, "", dir.dir()).exit_code == 2);
  CHECK(RunSlablog({"split", "run.slog", "-o", "q", "--by", "size"}, "", dir.dir()).exit_code == 2);
  CHECK(RunSlablog({"split", "run.slog", "-o", "q", "--by", "time", "soon"}, "", dir.dir()).exit_code == 2);
  CHECK(RunSlablog({"split", "run.slog", "-o", "q", "--by", "colour"}, "", dir.dir()).exit_code == 2);
}

TEST_CASE("SplitBySizeRefusesARecordLargerThanAPiece") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "big.slog"}, "1\n\"" + std::string(100000, 'x') + "\"\n2\n", dir.dir()).exit_code == 0);
  RunResult r = RunSlablog({"split", "big.slog", "-o", "p", "--by", "size", "64K"}, "", dir.dir());
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("record 1 of stream 'default' has 100002 bytes") != std::string::npos);
  CHECK(r.out.empty());
  CHECK(fs::is_empty(dir.path("p")));  // the piece written before it is gone too
}

TEST_CASE("MergeJoinsStreamsInTimestampOrder") {
  TempDir dir;
  // Two recordings of the same stream, taking turns in time, and a stream only one of them has.
  std::string even, odd;
  for (int i = 0; i < 400; ++i) {
    (i % 2 ? odd : even) += "{\"s\":\"a\",\"t\":" + std::to_string(1000 + i) + ",\"i\":" + std::to_string(i) + "}\n";
  }
  odd += "{\"s\":\"b\",\"t\":5,\"i\":-1}\n";
  for (const auto& [name, input] : {std::pair{"even.slog", even}, std::pair{"odd.slog", odd}}) {
    REQUIRE(RunSlablog({"write", "--stream-field", "s", "--time-field", "t", "--section-size", "4K", name}, input,
                       dir.dir()).exit_code == 0);
  }
  RunResult m = RunSlablog({"merge", "m.slog", "even.slog", "odd.slog"}, "", dir.dir());
  REQUIRE_MESSAGE(m.exit_code == 0, m.err);
  const std::vector<std::string> a = Lines(ExportStream(dir, "m.slog", "a"));
  REQUIRE(a.size() == 400);
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i] == "{\"stream\":\"a\",\"t\":" + std::to_string(1000 + i) + ",\"seq\":" + std::to_string(i) +
                      ",\"data\":{\"s\":\"a\",\"t\":" + std::to_string(1000 + i) + ",\"i\":" + std::to_string(i) + "}}");
  }
  CHECK(Lines(ExportStream(dir, "m.slog", "b")).size() == 1);

  // A stream that is json in one log and text in another cannot be joined: nothing is written.
  REQUIRE(RunSlablog({"write", "--format", "lines", "--stream", "a", "text.slog"}, "hello\n", dir.dir()).exit_code == 0);
  RunResult conflict = RunSlablog({"merge", "c.slog", "even.slog", "text.slog"}, "", dir.dir());
  CHECK(conflict.exit_code == 1);
  CHECK(conflict.err.find("stream 'a' is json (type 0) in an earlier log but text (type 0) in text.slog") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path("c_0.slog")));
}

}  // namespace slablog::test
