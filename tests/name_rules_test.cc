// Names and lock files: one name never leads to two logs, however the log is made (write, merge,
// compress, split, two writers at once), and a log lock never hangs or outlives its log.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli/process.h"
#include "slablog/format.h"
#include "slablog/log_lock.h"
#include "slablog/writer.h"
#include "testutil.h"

namespace slablog::test {
namespace {
namespace fs = std::filesystem;

std::string Records(int n, int pad) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "{\"v\":" + std::to_string(i) + ",\"p\":\"" + std::string(static_cast<size_t>(pad), 'x') + "\"}\n";
  return out;
}

}  // namespace

// A dangling symlink at BASE.lock: O_CREAT|O_EXCL fails EEXIST (never follows a symlink),
// the plain open fails ENOENT (follows it), and OpenLockFile loops for ever at full CPU,
// deaf to SIGTERM. Before 3807aaa the open with O_CREAT created the link's target.
// Should: lock (or refuse with a message), in bounded time.
TEST_CASE("ADanglingSymlinkAtTheLockFileNameDoesNotHangTheWriter") {
  TempDir dir;
  REQUIRE(::symlink((dir.path("nowhere") + "/x").c_str(), dir.path("d.slog.lock").c_str()) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto lock = LogLock::Acquire(dir.path("d.slog"), "a writer");
    _exit(lock ? 0 : 2);
  }
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 50 && !ended; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ended = ::waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  CHECK_MESSAGE(ended, "LogLock::Acquire still spinning after 5 s with a dangling symlink at d.slog.lock");
}

// A lock file left empty: by slablog before 3807aaa (every crashed writer's), or by one
// killed (or a power cut) between the O_EXCL create and the mark's pwrite. It holds no mark, so
// no later writer ever removes it: "no lock file stays next to a closed log" no longer holds.
TEST_CASE("AnEmptyLockFileACrashedSlablogLeftIsRemovedByTheNextWriter") {
  TempDir dir;
  const std::string base = dir.path("e.slog");
  REQUIRE(RunSlablog({"write", base}, "{\"a\":1}\n").exit_code == 0);
  WriteFile(LogLock::PathOf(base), "");  // what a writer killed before the mark leaves
  REQUIRE(RunSlablog({"write", "--append", base}, "{\"a\":2}\n").exit_code == 0);
  CHECK_MESSAGE(!fs::exists(LogLock::PathOf(base)), "an empty e.slog.lock stays for good");
}

// merge (and split) write under a temporary name and rename the slabs into place:
// CheckNewLogName, "the one rule for a new log's name", is never applied to the final name.
// merge run_1.slog beside the 3-slab log run.slog makes run_1_0.slog: then run_1.slog names two
// logs and every command refuses it, and run.slog can no longer be appended to.
TEST_CASE("MergeNeverGivesOneNameToTwoLogs") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "--slab-size", "64K", "run.slog"}, Records(3000, 70), dir.dir()).exit_code == 0);
  REQUIRE(fs::exists(dir.path("run_1.slog")));
  REQUIRE(RunSlablog({"write", "other.slog"}, "{\"w\":1}\n", dir.dir()).exit_code == 0);
  const RunResult merged = RunSlablog({"merge", "run_1.slog", "other.slog"}, "", dir.dir());
  const RunResult info = RunSlablog({"info", "run_1.slog"}, "", dir.dir());
  // Either merge refuses the name (as write does), or what it made reads.
  const std::string why = "merge made run_1_0.slog; info run_1.slog: " + info.err;
  CHECK_MESSAGE((merged.exit_code != 0 || info.exit_code == 0), why);
}

// compress writes its output the same way: compress other.slog run_1.slog is accepted.
TEST_CASE("CompressNeverGivesOneNameToTwoLogs") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "--slab-size", "64K", "run.slog"}, Records(3000, 70), dir.dir()).exit_code == 0);
  REQUIRE(RunSlablog({"write", "other.slog"}, "{\"w\":1}\n", dir.dir()).exit_code == 0);
  const RunResult made = RunSlablog({"compress", "other.slog", "run_1.slog"}, "", dir.dir());
  const RunResult info = RunSlablog({"info", "run_1.slog"}, "", dir.dir());
  const std::string why = "compress made run_1_0.slog; info run_1.slog: " + info.err;
  CHECK_MESSAGE((made.exit_code != 0 || info.exit_code == 0), why);
}

// split by stream: streams "cam" and "cam_1" would give pieces two.cam.slog and two.cam_1.slog,
// the first growing a slab named like the second: refused, naming both, before anything is
// written (the pieces could not be told apart by their readers).
TEST_CASE("SplitByStreamNeverGivesOneNameToTwoLogs") {
  TempDir dir;
  std::string in;
  for (int i = 0; i < 2000; ++i) {
    in += "{\"s\":\"cam\",\"i\":" + std::to_string(i) + ",\"p\":\"" + std::string(100, 'x') + "\"}\n";
    in += "{\"s\":\"cam_1\",\"i\":" + std::to_string(i) + "}\n";
  }
  REQUIRE(RunSlablog({"write", "--stream-field", "s", "--slab-size", "64K", "two.slog"}, in, dir.dir()).exit_code == 0);
  const RunResult split = RunSlablog({"split", "-o", "out", "--slab-size", "64K", "two.slog"}, "", dir.dir());
  INFO(split.err);
  CHECK(split.exit_code == 2);
  CHECK(split.err.find("two.cam_1.slog") != std::string::npos);
  CHECK(split.err.find("two.cam.slog") != std::string::npos);
  CHECK(ListSlabFiles(dir.path("out/two.cam.slog")).empty());
  CHECK(ListSlabFiles(dir.path("out/two.cam_1.slog")).empty());
}

// X.slog and X_1.slog created at once: each writer holds only its own name's LogLock, so
// neither check under the lock sees the other's slab 0 yet, and both logs are made. Once X.slog
// grows to slab 1, X_1.slog names two logs.
TEST_CASE("TwoWritersCreatingXAndX_1AtOnceDoNotBothSucceed") {
  int both = 0, tries = 0;
  for (; tries < 300 && both == 0; ++tries) {
    TempDir dir;
    std::atomic<int> ready{0};
    bool ok[2] = {false, false};
    std::unique_ptr<Writer> writers[2];
    auto make = [&](int i, const std::string& base) {
      ++ready;
      while (ready.load() < 2) {
      }
      auto w = Writer::Open(base, WriterOptions{});
      ok[i] = static_cast<bool>(w);
      if (w) writers[i] = std::move(w.value());
    };
    std::thread a(make, 0, dir.path("X.slog"));
    std::thread b(make, 1, dir.path("X_1.slog"));
    a.join();
    b.join();
    if (ok[0] && ok[1]) ++both;
    for (auto& w : writers) {
      if (w) (void)w->Close();
    }
  }
  CHECK_MESSAGE(both == 0, "X.slog and X_1.slog both created after ", tries, " tries");
}

// ParseIndex takes leading zeros: the log run_01.slog (run_01_0.slog) makes a new log
// run.slog refused, though run.slog's slab 1 is run_1.slog, never run_01.slog.
TEST_CASE("ALogNamedWithLeadingZerosDoesNotBlockTheShorterName") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "run_01.slog"}, "{\"a\":1}\n", dir.dir()).exit_code == 0);
  const RunResult w = RunSlablog({"write", "run.slog"}, "{\"a\":1}\n", dir.dir());
  CHECK_MESSAGE(w.exit_code == 0, w.err);
}

// --force lifted the rule that a file of the new log's very name refuses it: merge --force made
// out_0.slog beside the plain file out.slog, which every reader of out.slog opens instead.
// --force replaces a log's slab files, never that file.
TEST_CASE("ForceNeverPutsALogBehindAFileOfItsName") {
  TempDir dir;
  REQUIRE(RunSlablog({"write", "a.slog"}, "{\"a\":1}\n", dir.dir()).exit_code == 0);
  WriteFile(dir.path("out.slog"), "not a log\n");
  const RunResult merged = RunSlablog({"merge", "--force", "out.slog", "a.slog"}, "", dir.dir());
  CHECK(merged.exit_code == 2);
  CHECK_MESSAGE(!fs::exists(dir.path("out_0.slog")), merged.err);
  fs::create_directory(dir.path("p"));
  WriteFile(dir.path("p/a.default.slog"), "not a log\n");
  const RunResult split = RunSlablog({"split", "--force", "-o", "p", "a.slog"}, "", dir.dir());
  CHECK(split.exit_code == 2);
  CHECK_MESSAGE(!fs::exists(dir.path("p/a.default_0.slog")), split.err);
}

// A lock file reached through a user's symbolic link, to an empty file: taken for an empty lock
// file a crashed slablog left, and the link removed as the lock was let go.
TEST_CASE("ASymlinkAtTheLockFileNameIsNeverRemoved") {
  TempDir dir;
  const std::string base = dir.path("s.slog");
  REQUIRE(RunSlablog({"write", base}, "{\"a\":1}\n").exit_code == 0);
  WriteFile(dir.path("mine"), "");
  REQUIRE(::symlink("mine", LogLock::PathOf(base).c_str()) == 0);
  REQUIRE(RunSlablog({"write", "--append", base}, "{\"a\":2}\n").exit_code == 0);
  CHECK_MESSAGE(fs::is_symlink(fs::symlink_status(LogLock::PathOf(base))), "the user's s.slog.lock link was removed");
  CHECK(fs::exists(dir.path("mine")));
}

// A power cut after the lock file was made but before its mark reached the disk leaves the
// mark's length of zeros: no mark, so no writer ever removed it.
TEST_CASE("AZeroFilledLockFileAPowerCutLeftIsRemovedByTheNextWriter") {
  TempDir dir;
  const std::string base = dir.path("z.slog");
  REQUIRE(RunSlablog({"write", base}, "{\"a\":1}\n").exit_code == 0);
  WriteFile(LogLock::PathOf(base), std::string(std::string(LogLock::kLockFileMark).size(), '\0'));
  REQUIRE(RunSlablog({"write", "--append", base}, "{\"a\":2}\n").exit_code == 0);
  CHECK_MESSAGE(!fs::exists(LogLock::PathOf(base)), "a zero-filled z.slog.lock stays for good");
}

// export -o run.slog.lock --force replaced a live writer's lock file with the MCAP file: the next
// writer of run.slog locked that file instead, and two writers had run.slog at once.
TEST_CASE("AnExportIsNeverWrittenAsALogsLockFile") {
  TempDir dir;
  const std::string base = dir.path("run.slog");
  REQUIRE(RunSlablog({"write", base}, "{\"a\":1}\n").exit_code == 0);
  auto held = LogLock::Acquire(base, "a writer");
  REQUIRE(held);
  struct stat before {}, after {};
  REQUIRE(::stat(LogLock::PathOf(base).c_str(), &before) == 0);
  const RunResult e = RunSlablog({"export", base, "--format", "mcap", "--force", "-o", LogLock::PathOf(base)});
  CHECK(e.exit_code == 2);
  REQUIRE(::stat(LogLock::PathOf(base).c_str(), &after) == 0);
  CHECK_MESSAGE(before.st_ino == after.st_ino, "run.slog.lock was replaced: ", e.err);
}

}  // namespace slablog::test
