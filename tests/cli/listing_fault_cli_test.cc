// Commands that decide from a listing of a log's directory (which log a slab's name stands for,
// whether an MCAP output would take a slab's name, which old slabs merge --force removes) never
// decide from one that failed: each step of each listing of that directory is made to fail in
// turn (EIO), by a shim preloaded into the program (listing_fault_shim.cc), and what the command
// did is checked against what it may do.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {
namespace {
namespace fs = std::filesystem;

std::string Records(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'p') + "\"}\n";
  return out;
}

// A log of 64 KiB slabs, at least `min_slabs` of them.
void WriteSlabs(const std::string& log, int records, size_t min_slabs) {
  REQUIRE(RunSlablog({"write", "--slab-size", "64K", log}, Records(records)).exit_code == 0);
  REQUIRE(ListSlabFiles(log).size() >= min_slabs);
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }  // (test paths have no quote)

// `command` (a shell line running slablog) with listing step `step` of directories whose path
// contains `dir` failing; whether that step came (the command listed that far).
RunResult RunFailingStep(const std::string& dir, long step, const std::string& command, bool* fired) {
  TempDir marker_dir;
  const std::string marker = marker_dir.path("fired");
  // The sanitizers' runtime must come first in a process; the shim is built without them.
  const std::string line = "LD_PRELOAD=" + Quote(SLABLOG_LISTING_SHIM) + " SLABLOG_SHIM_DIR=" + Quote(dir) +
                           " SLABLOG_SHIM_FAIL_STEP=" + std::to_string(step) + " SLABLOG_SHIM_FIRED=" +
                           Quote(marker) + " ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0\" " +
                           command;
  RunResult r = RunShell(line);
  *fired = fs::exists(marker);
  return r;
}

// Runs `command` with each listing step of `dir` failing in turn, from the first until the
// command no longer lists that far, and `check`s each run (`step` as doctest context).
// Returns how many steps failed.
template <typename Check>
int ForEachFailingStep(const std::string& dir, const std::string& command, Check check) {
  int fired = 0;
  for (long step = 0;; ++step) {
    CAPTURE(step);
    bool did = false;
    const RunResult r = RunFailingStep(dir, step, command, &did);
    if (!did) return fired;
    ++fired;
    CAPTURE(r.err);
    check(r);
  }
}

// Every file of `dir` with its bytes.
std::map<std::string, std::string> FilesOf(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename().string()] = ReadFile(e.path().string());
  return out;
}

}  // namespace

TEST_CASE("VerifyNeverReadsASlabNamingTwoLogsAsTheLargerLogWhenAListingFails") {
  TempDir logs;
  const std::string dir = logs.path("logs");
  fs::create_directory(dir);
  WriteSlabs(dir + "/robot.slog", 3000, 3);
  // The log robot_1.slog beside robot.slog's slab 1 (made elsewhere, then moved in).
  TempDir elsewhere;
  WriteSlabs(elsewhere.path("other.slog"), 5, 1);
  fs::rename(elsewhere.path("other_0.slog"), dir + "/robot_1_0.slog");
  const std::string command = "slablog verify " + Quote(dir + "/robot_1.slog");
  const RunResult whole = RunShell(command);
  REQUIRE(whole.exit_code == 2);
  REQUIRE(whole.err.find("names two logs") != std::string::npos);
  const int fired = ForEachFailingStep(dir, command, [](const RunResult& r) {
    CAPTURE(r.out);
    // Refused as naming two logs (what was listed showed it), or failed as I/O: never read.
    CHECK((r.exit_code == 2 || r.exit_code == 3));
    if (r.exit_code == 3) CHECK(r.err.find("the directory: Input/output error") != std::string::npos);
  });
  CHECK(fired >= 3);
}

TEST_CASE("AnMcapExportNeverReplacesADamagedSlabWhenAListingFails") {
  TempDir logs;
  const std::string dir = logs.path("logs");
  fs::create_directory(dir);
  WriteSlabs(dir + "/cam.slog", 4000, 4);
  // Slab 3 lost its magic (recover can still read its records): a file of cam.slog all the same.
  const std::string slab = dir + "/cam_3.slog";
  {
    std::fstream f(slab, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    f.write("\0\0\0\0\0\0\0\0", 8);
  }
  const std::string before = ReadFile(slab);
  TempDir input;
  WriteSlabs(input.path("run.slog"), 10, 1);
  const std::string command =
      "slablog export --format mcap --force -o " + Quote(slab) + " " + Quote(input.path("run.slog"));
  const RunResult whole = RunShell(command);
  REQUIRE(whole.exit_code == 2);
  REQUIRE(whole.err.find("is the name of slab 3 of the log") != std::string::npos);
  const int fired = ForEachFailingStep(dir, command, [&](const RunResult& r) {
    CHECK((r.exit_code == 2 || r.exit_code == 3));
    const bool unchanged = ReadFile(slab) == before;  // (not the bytes, in a failure's message)
    CHECK(unchanged);
  });
  CHECK(fired >= 2);
}

TEST_CASE("MergeForceOverALongerLogNeverLeavesItsOldSlabsWhenAListingFails") {
  TempDir logs;
  const std::string dir = logs.path("logs");
  fs::create_directory(dir);
  WriteSlabs(dir + "/old.slog", 3000, 3);
  const std::map<std::string, std::string> old_files = FilesOf(dir);
  TempDir input;
  WriteSlabs(input.path("small.slog"), 10, 1);
  const std::string command = "slablog merge --force " + Quote(dir + "/old.slog") + " " + Quote(input.path("small.slog"));
  auto restore = [&] {
    fs::remove_all(dir);
    fs::create_directory(dir);
    for (const auto& [name, bytes] : old_files) WriteFile(dir + "/" + name, bytes);
  };
  auto merged_whole = [&] {
    const RunResult v = RunSlablog({"verify", dir + "/old.slog"});
    CAPTURE(v.out);
    CAPTURE(v.err);
    CHECK(v.exit_code == 0);
    CHECK(v.out.find(": 10 records") != std::string::npos);
    CHECK(ListSlabFiles(dir + "/old.slog").size() == 1);
  };
  REQUIRE(RunShell(command).exit_code == 0);
  merged_whole();
  restore();
  int failed = 0;
  const int fired = ForEachFailingStep(dir, command, [&](const RunResult& r) {
    if (r.exit_code == 0) {
      merged_whole();  // (a listing it could do without, such as the one for abandoned pieces)
    } else {
      ++failed;
      CHECK(r.exit_code == 3);
      const bool unchanged = FilesOf(dir) == old_files;  // no new slab, no old one removed
      CHECK(unchanged);
    }
    restore();  // for the next run
  });
  CHECK(fired >= 3);
  CHECK(failed >= 2);
}

}  // namespace slablog::test
