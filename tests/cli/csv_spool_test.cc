// export --format csv without --fields reads the log once and holds its rows (csv_spool.h) until
// the columns are known: in memory, in a temporary file, or, when no file can be had, not at all
// (the log is then read twice). Every way must give the same bytes as the others and as
// --fields naming the columns found, whose rows are written as they are made.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../testutil.h"
#include "process.h"
#include "slablog/writer.h"

namespace slablog::test {
namespace {

// A log whose columns keep coming: streams "a" and "b" (json) and "notes" (text), where every
// 3,000 records a field appears that no record before had (so batches of 8,192 records, made
// at once on several threads, each meet columns the batches before them found first or did
// not find), cells with commas, quotes and line ends in rows made before later columns, and
// every 997th record of "a" not valid JSON.
void WriteGrowingLog(const std::string& path, int records) {
  WriterOptions options;
  auto w = Writer::Open(path, options);
  REQUIRE(w);
  auto a = w.value()->OpenStream({"a", Encoding::kJson, 0});
  auto b = w.value()->OpenStream({"b", Encoding::kJson, 0});
  REQUIRE(a);
  REQUIRE(b);
  std::optional<StreamHandle> notes;
  for (int i = 0; i < records; ++i) {
    const int era = i / 3000;
    std::string record = "{\"i\":" + std::to_string(i) + ",\"s\":\"x,\\\"y\\\"\\nz" + std::to_string(i % 7) +
                         "\",\"f" + std::to_string(era) + "\":" + std::to_string(era);
    if (i % 5 == 0) record += ",\"deep\":{\"e" + std::to_string(era % 4) + "\":[1,\"a,b\"]}";
    record += "}";
    if (i % 997 == 5) record = "{\"i\":" + std::to_string(i) + ",\"bad\":01}";
    REQUIRE(w.value()->Append(i % 3 == 0 ? b.value() : a.value(), record, i).ok());
    if (i == records / 2) {  // the data column only halfway through
      auto opened = w.value()->OpenStream({"notes", Encoding::kText, 0});
      REQUIRE(opened);
      notes = opened.value();
    }
    if (notes && i % 11 == 0) REQUIRE(w.value()->Append(*notes, "note, \"" + std::to_string(i) + "\"", i).ok());
  }
  REQUIRE(w.value()->Close().ok());
}

RunResult CsvWith(const TempDir& dir, const std::string& env, const std::string& args) {
  return RunShell(env + " slablog export --format csv " + args + " g.slog", dir.dir());
}

std::vector<std::string> ComplaintLines(const std::string& err) {
  std::vector<std::string> lines;
  for (const std::string& line : Lines(err)) {
    if (line.find("not valid JSON") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

}  // namespace

TEST_CASE("CsvRowsHeldInMemoryInAFileOrNotAtAllAreTheSame") {
  TempDir dir;
  WriteGrowingLog(dir.path("g.slog"), 40000);
  const RunResult memory = CsvWith(dir, "", "");
  REQUIRE(memory.exit_code == 1);  // the invalid records
  const std::vector<std::string> lines = Lines(memory.out);
  REQUIRE(lines.size() > 1);
  const std::string header = lines[0];
  // The columns found: every era's field, in order of first appearance, and data halfway.
  CHECK(header.rfind("stream,t,seq,data.i,data.s,data.f0,data.deep.e0,", 0) == 0);
  CHECK(header.find("data.f13") != std::string::npos);
  CHECK(header.size() > 5);
  CHECK(header.substr(header.size() - 5) == ",data");
  const size_t width = static_cast<size_t>(std::count(header.begin(), header.end(), ',')) + 1;
  const auto complaints = ComplaintLines(memory.err);
  CHECK(complaints.size() == 41);  // i % 997 == 5 below 40000

  // The rows in a file (none in memory); some batches' rows in memory and the rest in the file
  // (a batch's rows are put away by the worker that made them, whichever finishes first); no
  // file to be had, so the log is read twice; and the columns named, so each row is written as
  // it is made.
  const RunResult file = CsvWith(dir, "SLABLOG_CSV_MEMORY=0", "");
  const RunResult mixed = CsvWith(dir, "SLABLOG_CSV_MEMORY=900K", "");
  const RunResult twice = CsvWith(dir, "SLABLOG_CSV_MEMORY=0 TMPDIR=" + dir.path("none"), "");
  const RunResult named = CsvWith(dir, "", "--fields '" + header + "'");
  CHECK(memory.out.size() > 2 * 900 * 1024);  // so `mixed` held some rows and filed the rest
  for (const RunResult* other : {&file, &mixed, &twice, &named}) {
    CHECK(other->exit_code == 1);
    CHECK(other->out == memory.out);
    CHECK(ComplaintLines(other->err) == complaints);
  }
  // Rows made before the last columns were found are padded to the header's width: pandas
  // and DuckDB refuse rows of another width. (Cells hold quoted commas, so count with quotes.)
  size_t narrow = 0;
  bool quoted = false;
  size_t cells = 1;
  for (char c : memory.out) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == ',') ++cells;
    if (!quoted && c == '\n') {
      narrow += cells != width ? 1 : 0;
      cells = 1;
    }
  }
  CHECK(narrow == 0);
}

// A spool that fills its disk (here: a file size limit, as ulimit -f sets) gives way to two
// passes: the same rows, each invalid record reported once, and no signal.
TEST_CASE("CsvSpoolThatCannotGrowGivesWayToTwoPasses") {
  TempDir dir;
  WriteGrowingLog(dir.path("g.slog"), 20000);
  const RunResult whole = CsvWith(dir, "", "");
  REQUIRE(whole.exit_code == 1);
  // 256 KiB of rows fit in the file, of about 2 MB: the spool fails part-way.
  // The limit is slablog's alone: the test's own files (its standard output) are larger.
  const RunResult cut =
      RunShell("(ulimit -f 256; SLABLOG_CSV_MEMORY=0 exec slablog export --format csv g.slog) | cat; exit ${PIPESTATUS[0]}", dir.dir());
  CHECK(cut.exit_code == 1);
  CHECK(cut.out == whole.out);
  CHECK(ComplaintLines(cut.err) == ComplaintLines(whole.err));
  CHECK(ComplaintLines(cut.err).size() == 21);
}

// With --limit and stream filters the spooled rows are the rows two passes make.
TEST_CASE("CsvSpooledRowsFollowTheFilters") {
  TempDir dir;
  WriteGrowingLog(dir.path("g.slog"), 20000);
  for (const std::string args : {"-n 7000", "-s notes", "-s b -n 12000", "--since 9000 --until 15000"}) {
    INFO(args);
    const RunResult once = CsvWith(dir, "SLABLOG_CSV_MEMORY=0", args);
    const RunResult twice = CsvWith(dir, "SLABLOG_CSV_MEMORY=0 TMPDIR=" + dir.path("none"), args);
    CHECK(once.exit_code == twice.exit_code);
    CHECK(once.out == twice.out);
    CHECK(Lines(once.out).size() > 1);
  }
}

// The spool's file never takes the number of a closed standard descriptor: with standard
// output closed the rows went into the file and the export exited 0, and with standard error
// closed the complaints went into it, between the rows. Either way is as two passes make it.
TEST_CASE("CsvSpoolFileIsNoStandardDescriptor") {
  TempDir dir;
  WriteGrowingLog(dir.path("g.slog"), 20000);
  const std::string twice_env = "SLABLOG_CSV_MEMORY=0 TMPDIR=" + dir.path("none");
  const RunResult whole = CsvWith(dir, "SLABLOG_CSV_MEMORY=0", "");
  REQUIRE(whole.exit_code == 1);
  REQUIRE(ComplaintLines(whole.err).size() == 21);

  const RunResult no_out = RunShell("SLABLOG_CSV_MEMORY=0 slablog export --format csv g.slog >&-", dir.dir());
  const RunResult no_out_twice = RunShell(twice_env + " slablog export --format csv g.slog >&-", dir.dir());
  CHECK(no_out_twice.exit_code == 3);
  CHECK(no_out.exit_code == no_out_twice.exit_code);
  CHECK(no_out.err.find("cannot write to standard output") != std::string::npos);

  const RunResult no_err = RunShell("SLABLOG_CSV_MEMORY=0 slablog export --format csv g.slog 2>&-", dir.dir());
  CHECK(no_err.exit_code == 1);
  CHECK(no_err.out == whole.out);
}

// Standard output into a file on the spool's file system needs as much room as the rows held:
// a spool that left only its reserve free made the export fail there (exit 3, its output cut
// short) where two passes fit. Here both lie on a file system of 100 MiB with 56 MB of rows;
// it is mounted in a namespace of the test's own, so the test is skipped where none can be had.
TEST_CASE("CsvSpoolLeavesRoomForTheOutputOnItsFileSystem") {
  TempDir dir;
  {
    auto w = Writer::Open(dir.path("g.slog"), WriterOptions{});
    REQUIRE(w);
    auto a = w.value()->OpenStream({"a", Encoding::kJson, 0});
    REQUIRE(a);
    const std::string text(200, 'x');
    for (int i = 0; i < 250000; ++i) {
      REQUIRE(w.value()->Append(a.value(), "{\"i\":" + std::to_string(i) + ",\"s\":\"" + text + "\"}", i).ok());
    }
    REQUIRE(w.value()->Close().ok());
  }
  const RunResult whole = CsvWith(dir, "", "> whole.csv");
  REQUIRE(whole.exit_code == 0);
  const RunResult mounted = RunShell(
      "mkdir small && unshare -rm sh -c 'mount -t tmpfs -o size=100m tmpfs small || exit 99; "
      "SLABLOG_CSV_MEMORY=0 TMPDIR=small slablog export --format csv g.slog > small/out.csv; echo $?; "
      "cmp -s small/out.csv whole.csv && echo same; exit 0'",
      dir.dir());
  if (mounted.exit_code != 0) {
    MESSAGE("no file system of the test's own to be had: skipped (" << mounted.err << ")");
    return;
  }
  CHECK(mounted.out == "0\nsame\n");
  CHECK(mounted.err == "");
}

// A file size limit is ignored only while the spool holds the rows: standard output past it
// ends the export by SIGXFSZ, as it ends any other (and export with --fields), not with exit 3.
TEST_CASE("CsvOutputPastAFileSizeLimitEndsAsWithFields") {
  TempDir dir;
  WriteGrowingLog(dir.path("g.slog"), 20000);
  const RunResult whole = CsvWith(dir, "", "");
  const std::string header = Lines(whole.out).at(0);
  auto limited = [&](const std::string& env, const std::string& args) {
    return RunShell("(ulimit -f 256; " + env + " slablog export --format csv " + args + " g.slog > o.csv); echo $?",
                    dir.dir());
  };
  const RunResult named = limited("", "--fields '" + header + "'");
  CHECK(named.out == "153\n");  // 128 + SIGXFSZ
  for (const std::string& env : std::vector<std::string>{"", "SLABLOG_CSV_MEMORY=0", "SLABLOG_CSV_MEMORY=0 TMPDIR=" + dir.path("none")}) {
    INFO(env);
    CHECK(limited(env, "").out == named.out);
  }
}

}  // namespace slablog::test
