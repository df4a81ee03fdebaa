// slablog write at its edges: a log named like a slab file, input that stores no record, and
// small slabs without --section-size.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {

namespace fs = std::filesystem;

const std::string kTwoRecords = "{\"a\":1}\n{\"a\":2}\n";

// The files in `dir`, sorted, lock files and all: what a command left behind.
std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Padded(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "{\"v\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'x') + "\"}\n";
  return out;
}

std::string ReadAllOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int64_t RecordsOf(const std::string& log, const std::string& dir) {
  const RunResult r = RunSlablog({"info", "--json", log}, "", dir);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out)["records"].get<int64_t>();
}

}  // namespace

TEST_CASE("WriteRefusesALogNamedLikeASlabFileAndNamesTheBaseName") {
  TempDir dir;
  SUBCASE("a new log beside the log it would be a slab of") {
    REQUIRE(RunSlablog({"write", "run.slog"}, kTwoRecords, dir.dir()).exit_code == 0);
    const RunResult w = RunSlablog({"write", "run_1.slog"}, kTwoRecords, dir.dir());
    CHECK(w.exit_code == 2);
    CHECK(w.err.find("write to run.slog") != std::string::npos);
    CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"run_0.slog"});
  }
  SUBCASE("a name ending in _N where no such log is, is a log of its own") {
    const RunResult w = RunSlablog({"write", "robot_1.slog"}, kTwoRecords, dir.dir());
    CHECK(w.exit_code == 0);
    CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"robot_1_0.slog"});
    CHECK(RecordsOf("robot_1.slog", dir.dir()) == 2);
    CHECK(RunSlablog({"write", "--append", "robot_1.slog"}, kTwoRecords, dir.dir()).exit_code == 0);
    CHECK(RecordsOf("robot_1.slog", dir.dir()) == 4);
  }
  SUBCASE("--append to a slab of an existing log") {
    REQUIRE(RunSlablog({"write", "run.slog"}, kTwoRecords, dir.dir()).exit_code == 0);
    const RunResult w = RunSlablog({"write", "--append", "run_0.slog"}, kTwoRecords, dir.dir());
    CHECK(w.exit_code == 2);
    CHECK(w.err.find("slab 0 of the log run.slog") != std::string::npos);
    CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"run_0.slog"});
    CHECK(RecordsOf("run.slog", dir.dir()) == 2);
  }
  SUBCASE("a name without an extension, in a directory") {
    fs::create_directory(dir.path("d"));
    REQUIRE(RunSlablog({"write", "d/cam"}, kTwoRecords, dir.dir()).exit_code == 0);
    const RunResult w = RunSlablog({"write", "d/cam_12"}, kTwoRecords, dir.dir());
    CHECK(w.exit_code == 2);
    CHECK(w.err.find("write to d/cam") != std::string::npos);
    CHECK(FilesIn(dir.path("d")) == std::vector<std::string>{"cam_0"});
  }
}

// A write that stores no record makes no file, so it never has one to remove: files of a log
// of that name, or named like its slabs, are never touched (a review found an empty write
// removing a ring whose slab 0 it had reused, and stray run_00.slog files).
TEST_CASE("WriteWithoutARecordNeverRemovesFilesItDidNotMake") {
  TempDir dir;
  SUBCASE("a ring whose slab 0 was reused, written again without --append") {
    std::string input;
    for (int i = 0; i < 3000; ++i) input += "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(200, 'x') + "\"}\n";
    REQUIRE(RunSlablog({"write", "--slab-size", "64K", "--ring", "256K", "ring.slog"}, input, dir.dir()).exit_code == 0);
    REQUIRE(!fs::exists(dir.path("ring_0.slog")));
    const auto before = FilesIn(dir.dir());
    for (const std::string& in : {std::string(), std::string("{oops\n"), kTwoRecords}) {
      const RunResult w = RunSlablog({"write", "ring.slog"}, in, dir.dir());
      CHECK(w.exit_code == 2);
      CHECK(w.err.find("already exists") != std::string::npos);
      CHECK(FilesIn(dir.dir()) == before);
    }
    CHECK(RunSlablog({"verify", "ring.slog"}, "", dir.dir()).exit_code == 0);
  }
  SUBCASE("files named like slabs of the base name that belong to no log of it") {
    REQUIRE(RunSlablog({"write", "other.slog"}, kTwoRecords, dir.dir()).exit_code == 0);
    fs::copy_file(dir.path("other_0.slog"), dir.path("run_00.slog"));
    WriteFile(dir.path("run_5.slog"), "x");
    const RunResult w = RunSlablog({"write", "run.slog"}, "", dir.dir());
    CHECK(w.exit_code == 2);
    CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"other_0.slog", "run_00.slog", "run_5.slog"});
  }
}

// Rings of small slabs: sections small enough that many streams share a slab, and slabs too
// small for any record refused at once rather than refusing every record.
TEST_CASE("WriteRingsOfSmallSlabsKeepManyStreamsAndRefuseTinySlabs") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 200; ++i) input += "{\"s\":\"s" + std::to_string(i % 20) + "\",\"i\":" + std::to_string(i) + "}\n";
  REQUIRE(RunSlablog({"write", "--stream-field", "s", "--slab-size", "64K", "--ring", "128K", "r.slog"}, input,
                     dir.dir()).exit_code == 0);
  CHECK(RecordsOf("r.slog", dir.dir()) == 200);
  const RunResult tiny = RunSlablog({"write", "--slab-size", "16K", "--ring", "64K", "t.slog"}, kTwoRecords, dir.dir());
  CHECK(tiny.exit_code == 2);
  CHECK(tiny.err.find("at least 8 pages") != std::string::npos);
  CHECK(!fs::exists(dir.path("t_0.slog")));
}

TEST_CASE("WriteThatStoresNoRecordLeavesNoLogAndTheRerunWorks") {
  TempDir dir;
  SUBCASE("the first line is invalid JSON") {
    const RunResult w = RunSlablog({"write", "run.slog"}, "{not json\n{\"a\":1}\n", dir.dir());
    CHECK(w.exit_code == 1);
    CHECK(w.err.find("line 1") != std::string::npos);
    CHECK(w.err.find("no log was created") != std::string::npos);
  }
  SUBCASE("empty input") {
    const RunResult w = RunSlablog({"write", "run.slog"}, "", dir.dir());
    CHECK(w.exit_code == 1);
    CHECK(w.err.find("the input held no record: no log was created") != std::string::npos);
  }
  SUBCASE("a ring") {
    const RunResult w = RunSlablog({"write", "--slab-size", "64K", "--ring", "256K", "run.slog"}, "", dir.dir());
    CHECK(w.exit_code == 1);
  }
  CHECK(FilesIn(dir.dir()).empty());
  const RunResult again = RunSlablog({"write", "run.slog"}, kTwoRecords, dir.dir());
  CHECK(again.exit_code == 0);
  CHECK(again.err.empty());
  CHECK(RecordsOf("run.slog", dir.dir()) == 2);
}

TEST_CASE("WriteAppendingNoRecordKeepsTheLog") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "run.slog"}, kTwoRecords, dir.dir()).exit_code == 0);
  SUBCASE("empty input") { CHECK(RunSlablog({"write", "--append", "run.slog"}, "", dir.dir()).exit_code == 0); }
  SUBCASE("invalid first line") {
    CHECK(RunSlablog({"write", "--append", "run.slog"}, "{oops\n", dir.dir()).exit_code == 1);
  }
  CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"run_0.slog"});
  CHECK(RecordsOf("run.slog", dir.dir()) == 2);
  CHECK(RunSlablog({"verify", "run.slog"}, "", dir.dir()).exit_code == 0);
}

TEST_CASE("WriteSmallSlabsWithoutSectionSizeGetSectionsThatFit") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 3000; ++i) input += "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(40, 'x') + "\"}\n";
  for (const std::string slab : {"16K", "64K", "100K", "1M", "4M"}) {
    INFO("--slab-size ", slab);
    const std::string log = "s" + slab + ".slog";
    const RunResult w = RunSlablog({"write", "--slab-size", slab, log}, input, dir.dir());
    CHECK(w.exit_code == 0);
    CHECK(w.err.empty());
    CHECK(RunSlablog({"verify", log}, "", dir.dir()).exit_code == 0);
    CHECK(RecordsOf(log, dir.dir()) == 3000);
  }
  const RunResult ring = RunSlablog({"write", "--slab-size", "64K", "--ring", "256K", "ring.slog"}, input, dir.dir());
  CHECK(ring.exit_code == 0);
  CHECK(ring.err.empty());
  CHECK(RunSlablog({"verify", "ring.slog"}, "", dir.dir()).exit_code == 0);
  // Given, it is taken as it is, and refused when it does not fit.
  const RunResult given = RunSlablog({"write", "--slab-size", "64K", "--section-size", "1M", "big.slog"}, input, dir.dir());
  CHECK(given.exit_code != 0);
  CHECK(given.err.find("too small for section size 1048576") != std::string::npos);
}

// An append without --section-size gets the sections a new log of the log's slabs gets (a
// 32nd of the slab), not a size derived from the default --slab-size and cut down to fit: a
// review found 64K slabs written with 4K sections and appended with 16K ones.
TEST_CASE("WriteAppendGetsTheSectionsANewLogOfItsSlabsGets") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 3000; ++i) input += "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(40, 'x') + "\"}\n";
  REQUIRE(RunSlablog({"write", "--slab-size", "64K", "run.slog"}, input, dir.dir()).exit_code == 0);
  REQUIRE(RunSlablog({"write", "--append", "run.slog"}, input, dir.dir()).exit_code == 0);
  const RunResult dump = RunSlablog({"dump", "run.slog"}, "", dir.dir());
  REQUIRE(dump.exit_code == 0);
  int sections = 0;
  for (const std::string& line : Lines(dump.out)) {
    if (line.find("'default'") == std::string::npos || line.find("section @") == std::string::npos) continue;
    ++sections;
    CHECK_MESSAGE(line.find(" size 4096 ") != std::string::npos, line);
  }
  CHECK(sections > 100);  // both writes' sections
  CHECK(RecordsOf("run.slog", dir.dir()) == 6000);
}

// The name is checked when write starts and the log made at the first record, maybe hours later:
// a ring made meanwhile (its slab 0 reused, so no slab 0 to collide with) must not get a second
// log's slab 0, which made every reader take the ring's slabs for another log's (review r17, F1).
TEST_CASE("WriteWaitingForItsFirstRecordIsRefusedWhenARingTookTheNameMeanwhile") {
  TempDir dir;
  int waiting_status = 0;
  {
    PipedSlablog waiting({"write", "ring.slog"}, dir.dir());
    const RunResult ring =
        RunSlablog({"write", "--ring", "256K", "--slab-size", "64K", "ring.slog"}, Padded(20000), dir.dir());
    REQUIRE(ring.exit_code == 0);
    REQUIRE(!fs::exists(dir.path("ring_0.slog")));  // the ring reused its slab 0
    waiting.Send("{\"late\":1}\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // read, and refused
    waiting_status = waiting.Stop(SIGINT);
  }
  CHECK(WIFEXITED(waiting_status));
  CHECK(WEXITSTATUS(waiting_status) == 2);
  const RunResult v = RunSlablog({"verify", "ring.slog"}, "", dir.dir());
  CHECK_MESSAGE(v.exit_code == 0, v.err);
  CHECK(!fs::exists(dir.path("ring_0.slog")));
}

// No name ever leads readers to two logs (review r17, F2): robot.slog, which would grow a slab
// named robot_1.slog, is refused beside the log robot_1.slog, as robot_1.slog is beside robot.slog.
TEST_CASE("WriteNeverGivesOneNameToTwoLogs") {
  TempDir dir;
  SUBCASE("a new log beside a log named like one of its slabs") {
    REQUIRE(RunSlablog({"write", "robot_1.slog"}, "{\"mine\":1}\n", dir.dir()).exit_code == 0);
    const RunResult w = RunSlablog({"write", "--slab-size", "64K", "robot.slog"}, Padded(3000), dir.dir());
    CHECK(w.exit_code == 2);
    CHECK(w.err.find("the log robot_1.slog (robot_1_0.slog)") != std::string::npos);
    CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"robot_1_0.slog"});
    CHECK(RecordsOf("robot_1.slog", dir.dir()) == 1);
  }
  // Logs made so before the rule: the log robot_1.slog keeps taking appends under its own name;
  // robot.slog may not grow into its name.
  SUBCASE("logs that already share a name, each appended to") {
    fs::create_directory(dir.path("d"));
    REQUIRE(RunSlablog({"write", "robot_1.slog"}, "{\"mine\":1}\n", dir.path("d")).exit_code == 0);
    REQUIRE(RunSlablog({"write", "--slab-size", "64K", "robot.slog"}, kTwoRecords, dir.dir()).exit_code == 0);
    fs::rename(dir.path("d/robot_1_0.slog"), dir.path("robot_1_0.slog"));
    const RunResult mine = RunSlablog({"write", "--append", "robot_1.slog"}, "{\"mine\":2}\n", dir.dir());
    CHECK_MESSAGE(mine.exit_code == 0, mine.err);
    CHECK(RecordsOf("robot_1.slog", dir.dir()) == 2);
    const RunResult grow = RunSlablog({"write", "--append", "robot.slog"}, Padded(3000), dir.dir());
    CHECK(grow.exit_code == 2);
    CHECK(grow.err.find("robot_1_0.slog") != std::string::npos);
    CHECK(!fs::exists(dir.path("robot_1.slog")));
    CHECK(RecordsOf("robot.slog", dir.dir()) == 2);
  }
}

// A file and a log of one name: readers refuse, naming both, rather than read one silently; a
// many-log verify checks the other log once and reports the ambiguous name.
TEST_CASE("ReadersRefuseANameThatIsAFileAndALogNamingBoth") {
  TempDir dir;
  fs::create_directory(dir.path("d"));
  REQUIRE(RunSlablog({"write", "robot_1.slog"}, "{\"mine\":1}\n", dir.path("d")).exit_code == 0);
  REQUIRE(RunSlablog({"write", "--slab-size", "64K", "robot.slog"}, Padded(3000), dir.dir()).exit_code == 0);
  REQUIRE(fs::exists(dir.path("robot_1.slog")));  // robot.slog's slab 1
  fs::rename(dir.path("d/robot_1_0.slog"), dir.path("robot_1_0.slog"));
  for (const char* cmd : {"info", "verify", "export"}) {
    INFO(cmd);
    const RunResult r = RunSlablog({cmd, "robot_1.slog"}, "", dir.dir());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("slab 1 of the log robot.slog") != std::string::npos);
    CHECK(r.err.find("robot_1_0.slog") != std::string::npos);
  }
  const RunResult all = RunShell("slablog verify --json *.slog", dir.dir());
  CHECK(all.exit_code == 2);
  const auto lines = Lines(all.out);
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["log"] == "robot.slog");
  CHECK(nlohmann::json::parse(lines[0])["records"] == 3000);
  CHECK(nlohmann::json::parse(lines[1])["log"] == "robot_1.slog");
  CHECK(nlohmann::json::parse(lines[1])["ok"] == false);
}

// A file at the log's name would hide the new log from every reader, which open the file
// (review r17, F12): refused, the file untouched, no slab made.
TEST_CASE("WriteRefusesANewLogWhereAFileOfItsNameIs") {
  TempDir dir;
  WriteFile(dir.path("a.slog"), "precious\n");
  const RunResult w = RunSlablog({"write", "a.slog"}, kTwoRecords, dir.dir());
  CHECK(w.exit_code == 2);
  CHECK(w.err.find("a.slog: a file of this name exists") != std::string::npos);
  CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"a.slog"});
  CHECK(ReadAllOf(dir.path("a.slog")) == "precious\n");
}

// A log whose directory is a file: an I/O failure (exit 3) saying why, not a name refused
// (exit 2). The check for logs named like its slabs finds none there, as in no directory.
TEST_CASE("WriteIntoAPathThroughAFileFailsAsIoNotAsARefusedName") {
  TempDir dir;
  WriteFile(dir.path("afile"), "precious\n");
  for (const std::string sub : {"afile/x.slog", "none/x.slog"}) {
    CAPTURE(sub);
    const RunResult w = RunSlablog({"write", sub}, kTwoRecords, dir.dir());
    CHECK(w.exit_code == 3);
    CHECK(w.err.find(sub.substr(0, sub.find('/') + 1)) != std::string::npos);
    CHECK(w.err.find(sub.starts_with("afile") ? "Not a directory" : "No such file or directory") != std::string::npos);
  }
  CHECK(FilesIn(dir.dir()) == std::vector<std::string>{"afile"});
  CHECK(ReadAllOf(dir.path("afile")) == "precious\n");
}

// Slabs that held the first streams' catalog may be too small for that of many streams: the
// write stops there as for an invalid record (exit 1, not 2: the sizes ran out for this input),
// says how many records the log keeps, and the log is whole (review r17, F11).
TEST_CASE("WriteWhoseSlabsTurnOutTooSmallForItsStreamsStopsSayingWhatItKept") {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "{\"s\":\"stream" + std::to_string(i % 200) + "\",\"i\":" + std::to_string(i) + "}\n";
  const RunResult w = RunSlablog({"write", "--stream-field", "s", "--slab-size", "16K", "many.slog"}, input, dir.dir());
  CHECK(w.exit_code == 1);
  CHECK(w.err.find("too small for this many streams") != std::string::npos);
  const size_t at = w.err.find("stopped after ");
  REQUIRE(at != std::string::npos);
  const int64_t kept = std::stoll(w.err.substr(at + 14));
  CHECK(kept > 0);
  CHECK(kept < 1000);
  CHECK(RecordsOf("many.slog", dir.dir()) == kept);
  CHECK(RunSlablog({"verify", "many.slog"}, "", dir.dir()).exit_code == 0);
}

}  // namespace slablog::test
